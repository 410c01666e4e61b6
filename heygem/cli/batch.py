"""``python -m heygem batch``: one narration onto many videos, a progress bar per video."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from heygem.cli.options import add_engine_options, engine_settings
from heygem.cli.tracks import add_track_options
from heygem.errors import HeygemError
from heygem.lipsync import Progress, load_syncer, run_batch, sync_options
from heygem.settings import DEFAULT_PADS, FRAME_ORDERS, BatchSettings

log = logging.getLogger("heygem")


def add(commands) -> None:
    batch = commands.add_parser("batch", help="lip-sync one audio onto many videos")
    batch.add_argument("audio", type=Path, help="narration: any file ffmpeg reads")
    batch.add_argument("videos", type=Path, nargs="+", help="presenter videos or images")
    batch.add_argument("-o", "--outdir", type=Path, required=True, help="output folder")
    add_engine_options(batch)
    batch.add_argument("--chunk-seconds", type=float, default=30.0)
    batch.add_argument(
        "--pads", type=int, nargs=4, default=list(DEFAULT_PADS), metavar=("TOP", "BOTTOM", "LEFT", "RIGHT")
    )
    batch.add_argument(
        "--frame-order",
        default="pingpong",
        choices=FRAME_ORDERS,
        help="how a shorter video continues under a longer narration",
    )
    batch.add_argument("--sync-offset", type=int, default=0, help="mel window shift in frames")
    batch.add_argument("--height", type=int, help="output height in pixels (default: source)")
    batch.add_argument("--crf", type=int, default=20, help="x264 quality, lower is better")
    add_track_options(batch)
    batch.add_argument("-v", "--verbose", action="store_true")


def run(args: argparse.Namespace) -> int:
    settings = engine_settings(args)
    given = {
        "chunk_seconds": args.chunk_seconds,
        "pads": args.pads,
        "frame_order": args.frame_order,
        "sync_offset": args.sync_offset,
        "height": args.height,
        "crf": args.crf,
        "keyframe_interval": args.keyframe_interval,
    }
    try:
        options = sync_options(BatchSettings.parse(given))
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
            total=100,
            desc=f"[{i + 1}/{n}] {video.name}",
            leave=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
        )
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
            print(f"{v.status.upper()}: {v.error}", file=sys.stderr)
    print(
        f"{done}/{len(result.videos)} done in {result.seconds:.1f} s; manifest {args.outdir / 'batch.json'}",
        file=sys.stderr,
    )
    return 0 if result.ok else 1
