"""Command line: ``python -m heygem batch AUDIO VIDEO [VIDEO ...] -o OUTDIR``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from heygem.batch import DEFAULT_CHECKPOINT_DIR, EngineSettings, load_syncer, run_batch
from heygem.encode import EncodeOptions
from heygem.errors import HeygemError
from heygem.pipeline import Progress, SyncOptions

log = logging.getLogger("heygem")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m heygem", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    batch = commands.add_parser("batch", help="lip-sync one audio onto many videos")
    batch.add_argument("audio", type=Path, help="narration: any file ffmpeg reads")
    batch.add_argument("videos", type=Path, nargs="+", help="presenter videos or images")
    batch.add_argument("-o", "--outdir", type=Path, required=True, help="output folder")
    batch.add_argument("--engine", default="auto", choices=["auto", "wav2lip", "preview"])
    batch.add_argument("--checkpoint", type=Path, help="Wav2Lip .pth (default: checkpoints/)")
    batch.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    batch.add_argument("--detector", default="auto", choices=["auto", "blazeface", "sfd"])
    batch.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    batch.add_argument("--chunk-seconds", type=float, default=30.0)
    batch.add_argument("--pads", type=int, nargs=4, default=[0, 10, 0, 0],
                       metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"))  # fmt: skip
    batch.add_argument("--frame-order", default="pingpong", choices=["pingpong", "loop"],
                       help="how a shorter video continues under a longer narration")  # fmt: skip
    batch.add_argument("--sync-offset", type=int, default=0, help="mel window shift in frames")
    batch.add_argument("--batch-size", type=int, help="frames per model call")
    batch.add_argument("--height", type=int, help="output height in pixels (default: source)")
    batch.add_argument("--crf", type=int, default=20, help="x264 quality, lower is better")
    batch.add_argument("-v", "--verbose", action="store_true")

    worker = commands.add_parser("worker", help="run videos sent by the app over Celery + Redis")
    worker.add_argument("--broker", default=os.environ.get("HEYGEM_BROKER"),
                        help="redis://HOST:6379/0 (default: $HEYGEM_BROKER)")  # fmt: skip
    worker.add_argument("--workspace", type=Path, required=True,
                        help="the app's workspace, as mounted on this machine")  # fmt: skip
    worker.add_argument(
        "--device", default="auto", help="auto, cpu, cuda or cuda:N (one worker per GPU)"
    )
    worker.add_argument("--engine", default="auto", choices=["auto", "wav2lip", "preview"])
    worker.add_argument("--detector", default="auto", choices=["auto", "blazeface", "sfd"])
    worker.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    worker.add_argument("--name", help="worker name (default: heygem@HOST-PID)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    if args.command == "batch":
        return batch_command(args)
    if args.command == "worker":
        return worker_command(args)
    return 2


def worker_command(args: argparse.Namespace) -> int:
    if not args.broker:
        log.error("worker: give --broker redis://HOST:6379/0 (or set HEYGEM_BROKER)")
        return 2
    from heygem.cluster import run_worker
    from heygem.runner import ItemRunner

    settings = EngineSettings(engine=args.engine, detector=args.detector, device=args.device,
                              checkpoint_dir=args.checkpoint_dir)  # fmt: skip
    run_worker(args.broker, args.workspace, ItemRunner(settings), args.name)
    return 0


def batch_command(args: argparse.Namespace) -> int:
    settings = EngineSettings(
        engine=args.engine,
        checkpoint=args.checkpoint,
        detector=args.detector,
        device=args.device,
        checkpoint_dir=args.checkpoint_dir,
        batch_size=args.batch_size,
    )
    options = SyncOptions(
        chunk_seconds=args.chunk_seconds,
        pads=tuple(args.pads),
        frame_order=args.frame_order,
        sync_offset=args.sync_offset,
        encode=EncodeOptions(height=args.height, crf=args.crf),
    )
    if args.chunk_seconds <= 0:
        log.error("--chunk-seconds must be positive")
        return 2
    try:
        syncer = load_syncer(settings, options)
    except HeygemError as exc:
        log.error("%s", exc)
        return 2
    recorded = {
        "engine": syncer.engine.name,
        "detector": syncer.detector.name,
        "device": args.device,
        "checkpoint": str(args.checkpoint) if args.checkpoint else None,
        "chunk_seconds": args.chunk_seconds,
        "pads": list(args.pads),
        "frame_order": args.frame_order,
        "sync_offset": args.sync_offset,
        "height": args.height,
        "crf": args.crf,
    }
    bars: list[tqdm] = []

    def on_video(i: int, n: int, video: Path):
        for bar in bars:
            bar.close()
        bars.clear()
        bar = tqdm(
            total=100, desc=f"[{i + 1}/{n}] {video.name}", leave=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
        )  # fmt: skip
        bars.append(bar)

        def hook(p: Progress) -> None:
            bar.set_postfix_str(p.stage if not p.chunks else f"{p.stage} {p.chunk}/{p.chunks}")
            bar.update(100 * p.fraction - bar.n)

        return hook

    with logging_redirect_tqdm():
        result = run_batch(syncer, args.audio, args.videos, args.outdir, recorded, on_video)
    for bar in bars:
        bar.close()
    done = sum(v.status == "done" for v in result.videos)
    for v in result.videos:
        if v.status != "done":
            print(f"{v.status.upper()}: {v.error}", file=sys.stderr)  # noqa: T201
    print(  # noqa: T201
        f"{done}/{len(result.videos)} done in {result.seconds:.1f} s; manifest {args.outdir / 'batch.json'}",
        file=sys.stderr,
    )
    return 0 if result.ok else 1
