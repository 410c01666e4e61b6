"""``python -m heygem worker``: a Celery worker that runs the app's videos on this machine."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from heygem.lipsync import EngineSettings
from heygem.settings import DEFAULT_CHECKPOINT_DIR, DETECTORS, ENGINES

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
    worker.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (one worker per GPU)")
    worker.add_argument("--engine", default="auto", choices=ENGINES)
    worker.add_argument("--detector", default="auto", choices=DETECTORS)
    worker.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    worker.add_argument("--name", help="worker name (default: heygem@HOST-PID)")


def run(args: argparse.Namespace) -> int:
    if not args.broker:
        log.error("worker: give --broker redis://HOST:6379/0 (or set HEYGEM_BROKER)")
        return 2
    from heygem.cluster import run_worker
    from heygem.jobs import ItemRunner

    settings = EngineSettings(
        engine=args.engine, detector=args.detector, device=args.device, checkpoint_dir=args.checkpoint_dir
    )
    run_worker(args.broker, args.workspace, ItemRunner(settings), args.name)
    return 0
