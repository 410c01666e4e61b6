"""HeyGem web app: one process, one model, a durable batch queue, the UI on port 7860.

    python app.py [--host 0.0.0.0] [--port 7860] [--device auto|cpu|cuda] [--workspace DIR]

Listening beyond this machine (the default), every route asks for a login: HEYGEM_AUTH=user:pass,
else a password made on the first start and kept in the workspace's login.txt (printed at each
start); --no-auth leaves the app open to the network. On 127.0.0.1 it stays open.

Environment: HEYGEM_AUTH=user:pass sets the login; HEYGEM_NOTIFY_URL gets a JSON POST when a
batch ends; HEYGEM_MAX_UPLOAD_MB caps uploaded files, HEYGEM_MAX_REQUEST_MB a REST submission; HEYGEM_MAX_PAIRS caps a batch's (narration, video)
pairs (default 1000); HEYGEM_RETENTION_DAYS deletes old outputs; HEYGEM_MODELS_MANIFEST replaces
the table of weights the app offers to download.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path

from heygem.cli.options import add_cache_options, add_engine_options, engine_settings
from heygem.jobs.workspace import DEFAULT_LOG_NAME, Workspace
from heygem.settings import DEFAULT_MAX_PAIRS

ROOT = Path(__file__).resolve().parent


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--host",
        default="0.0.0.0",
        help="interface to listen on (default: all, with a login; 127.0.0.1: this machine only, open)",
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="no login even when listening beyond this machine (a trusted network only)",
    )
    p.add_argument("--port", type=int, default=7860)
    p.add_argument(
        "--workspace",
        type=Path,
        default=ROOT,
        help="holds outputs/, uploads/, the job store and the log",
    )
    add_engine_options(p)  # the defaults; a batch's own engine and detector override them
    add_cache_options(p)
    p.add_argument("--log-name", default=env("HEYGEM_LOG_NAME", DEFAULT_LOG_NAME))
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=float(env("HEYGEM_MAX_UPLOAD_MB", "4096")),
        help="refuse an uploaded file bigger than this",
    )
    p.add_argument(
        "--max-request-mb",
        type=float,
        default=float(env("HEYGEM_MAX_REQUEST_MB", "0")) or None,
        help="refuse a REST submission bigger than this in all (default: 8 files at --max-upload-mb)",
    )
    p.add_argument(
        "--max-pairs",
        type=int,
        default=int(env("HEYGEM_MAX_PAIRS", str(DEFAULT_MAX_PAIRS))),
        help="refuse a batch of more (narration, video) pairs than this",
    )
    p.add_argument(
        "--retention-days",
        type=float,
        default=float(env("HEYGEM_RETENTION_DAYS", "0")) or None,
        help="delete finished batches older than this many days (default: keep)",
    )
    p.add_argument(
        "--broker",
        default=env("HEYGEM_BROKER"),
        help="redis://HOST:6379/0: send videos to Celery workers instead of running them here",
    )
    p.add_argument(
        "--notify-url",
        default=env("HEYGEM_NOTIFY_URL"),
        help="POST a JSON summary here when a batch ends",
    )
    args = p.parse_args(argv)
    from heygem.jobs.notify import RETRY_ENV, retry_seconds

    try:
        retry_seconds()  # read again by the notifier: a bad value is a clear error here, at start
    except ValueError as exc:
        p.error(f"{RETRY_ENV}: {exc}")
    if args.notify_url:
        from heygem.jobs.notify import url_problem

        if problem := url_problem(args.notify_url):
            p.error(f"--notify-url / HEYGEM_NOTIFY_URL {args.notify_url!r}: {problem}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    workspace = Workspace(args.workspace.resolve(), args.log_name).create()
    # Gradio's upload cache lives in the workspace too (set before gradio is imported).
    os.environ.setdefault("GRADIO_TEMP_DIR", str(workspace.cache / "gradio"))

    from heygem.web.logfile import setup_logging

    setup_logging(workspace.log)
    log = logging.getLogger("heygem")
    from heygem.jobs import JobStore
    from heygem.web import (
        API_PREFIX,
        CSS,
        Service,
        WeightsInstaller,
        build_api,
        build_app,
        build_ui,
        gradio_i18n,
        serve,
        zip_routes,
    )
    from heygem.web.login import banner, choose_login, is_loopback

    try:
        login = choose_login(args.host, os.environ.get("HEYGEM_AUTH"), workspace.login, args.no_auth)
    except ValueError as exc:
        sys.exit(f"HEYGEM_AUTH or the login file: {exc}")
    auth = (login.user, login.password) if login else None
    if login is None and not is_loopback(args.host):
        log.warning(
            "listening on %s without login (--no-auth): anyone on the network can use this app",
            args.host,
        )
    print(banner(args.host, args.port, login), flush=True)  # noqa: T201 - the console only, never the log
    log.info("HeyGem starting: workspace %s, device %s, port %d", workspace.root, args.device, args.port)
    log.info("realtime log: tail -f %s", shlex.quote(str(workspace.log)))
    store = JobStore(workspace.db)
    if args.broker:
        from heygem.cluster import Dispatcher

        log.info("scale-out mode: videos go to the Celery workers of %s", args.broker)
        weights = None  # the workers load their own weights: `python -m heygem models download` there
        worker = Dispatcher(store, workspace, args.broker, args.notify_url, args.retention_days).start()
    else:
        from heygem.jobs import Worker  # the models' code, only where the models run

        settings = engine_settings(args)
        worker = Worker(store, workspace, settings, args.notify_url, args.retention_days).start()
        weights = WeightsInstaller(args.checkpoint_dir, worker.weights_installed)
    service = Service(workspace, store, worker, weights, max_pairs=args.max_pairs)  # the UI's and the API's
    from heygem.lipsync import TrialRender  # loads no model code until the first trial render

    trials = TrialRender(  # with the worker's settings, so a trial shows what the batch will make
        Path(os.environ["GRADIO_TEMP_DIR"]) / "heygem-previews",  # Gradio may serve what is there
        engine_settings(args),
    )
    demo = build_ui(service, str(args.checkpoint_dir), args.retention_days, trials)
    max_upload_bytes = int(args.max_upload_mb * 2**20)
    max_request_bytes = int(args.max_request_mb * 2**20) if args.max_request_mb else None
    demo.queue(default_concurrency_limit=4)
    app = build_app(
        demo,
        auth=auth,
        allowed=[str(p) for p in workspace.servable()],
        blocked=[
            str(workspace.db),
            str(workspace.log),
            str(workspace.login),
            str(ROOT / "heygem"),
            str(args.checkpoint_dir),
        ],
        max_file_size=max_upload_bytes,  # bytes: Gradio reads "0.5mb" as no number at all
        i18n=gradio_i18n(),
        css=CSS,
        mounts={API_PREFIX: build_api(service, max_upload_bytes, max_request_bytes)},
        routes=[zip_routes(service)],
    )
    serve(app, args.host, args.port)
    worker.stop()


if __name__ == "__main__":
    sys.exit(main())
