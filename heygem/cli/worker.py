"""``python -m heygem worker``: a Celery worker that runs the app's videos on this machine."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from heygem.cli.options import add_cache_options, add_engine_options, engine_settings

log = logging.getLogger("heygem")


def add(commands) -> None:
    worker = commands.add_parser("worker", help="run videos sent by the app over Celery + Redis")
    worker.add_argument(
        "--broker",
        default=os.environ.get("HEYGEM_BROKER"),
        help="redis://HOST:6379/0 (default: $HEYGEM_BROKER)",
    )
    worker.add_argument(
        "--workspace", type=Path, required=True, help="the app's workspace, as mounted on this machine"
    )
    add_engine_options(worker)  # the defaults; a batch's own engine and detector override them
    add_cache_options(worker)
    worker.add_argument("--name", help="worker name (default: heygem@HOST-PID)")


def run(args: argparse.Namespace) -> int:
    if not args.broker:
        log.error("worker: give --broker redis://HOST:6379/0 (or set HEYGEM_BROKER)")
        return 2
    from heygem.cluster import run_worker
    from heygem.jobs import ItemRunner

    run_worker(args.broker, args.workspace, ItemRunner(engine_settings(args)), args.name)
    return 0
