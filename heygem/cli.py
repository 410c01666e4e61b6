"""Command line.

python -m heygem batch AUDIO VIDEO [VIDEO ...] -o OUTDIR   lip-sync a batch
python -m heygem preprocess VIDEO [VIDEO ...]              cache face tracks ahead of time
python -m heygem cache info|clear                          the face-track cache
python -m heygem worker --broker URL --workspace DIR       a Celery worker for the app
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from heygem.errors import HeygemError
from heygem.faces import TrackCache
from heygem.lipsync import (
    EngineSettings,
    Progress,
    SyncOptions,
    failure,
    load_syncer,
    run_batch,
    sync_options,
)
from heygem.settings import (
    DEFAULT_CHECKPOINT_DIR,
    DEFAULT_PADS,
    DETECTORS,
    ENGINES,
    FRAME_ORDERS,
    RUNTIMES,
    BatchSettings,
    default_cache_dir,
)

log = logging.getLogger("heygem")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m heygem", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    batch = commands.add_parser("batch", help="lip-sync one audio onto many videos")
    batch.add_argument("audio", type=Path, help="narration: any file ffmpeg reads")
    batch.add_argument("videos", type=Path, nargs="+", help="presenter videos or images")
    batch.add_argument("-o", "--outdir", type=Path, required=True, help="output folder")
    batch.add_argument("--engine", default="auto", choices=ENGINES)
    batch.add_argument("--checkpoint", type=Path, help="Wav2Lip .pth (default: checkpoints/)")
    batch.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    batch.add_argument("--detector", default="auto", choices=DETECTORS)
    batch.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
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
    batch.add_argument("--batch-size", type=int, help="frames per model call")
    batch.add_argument("--height", type=int, help="output height in pixels (default: source)")
    batch.add_argument("--crf", type=int, default=20, help="x264 quality, lower is better")
    batch.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIMES,
        help="where the network runs (auto: torch; onnx and onnx-int8 on CPU only)",
    )
    _add_track_options(batch)
    batch.add_argument("-v", "--verbose", action="store_true")
    _add_preprocess_commands(commands)

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
    return parser


def _add_track_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keyframe-interval",
        type=int,
        default=8,
        help="frames between face detections; 1 detects every frame",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="face tracks and exported models (default: $HEYGEM_CACHE_DIR or ~/.cache/heygem)",
    )
    parser.add_argument("--no-track-cache", action="store_true", help="always detect faces")


def _add_preprocess_commands(commands) -> None:
    pre = commands.add_parser("preprocess", help="detect and cache the face tracks of videos")
    pre.add_argument("videos", type=Path, nargs="+", help="presenter videos or images")
    pre.add_argument("--detector", default="auto", choices=DETECTORS)
    pre.add_argument("--device", default="auto", help="auto, cpu or cuda (for sfd)")
    pre.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    _add_track_options(pre)
    pre.add_argument("-v", "--verbose", action="store_true")
    cache = commands.add_parser("cache", help="show or clear the face-track cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", type=Path, help="default: $HEYGEM_CACHE_DIR or ~/.cache/heygem")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if getattr(args, "verbose", False) else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("heygem").setLevel(level)  # our own level: Celery's worker lowers the root's
    if args.command == "batch":
        return batch_command(args)
    if args.command == "worker":
        return worker_command(args)
    if args.command == "preprocess":
        return preprocess_command(args)
    if args.command == "cache":
        return cache_command(args)
    return 2


def preprocess_command(args: argparse.Namespace) -> int:
    """Fill the face-track cache for each video, with a progress bar; a bad video fails alone."""
    if args.no_track_cache or args.keyframe_interval < 1:
        log.error("preprocess fills the face-track cache: drop --no-track-cache; interval >= 1")
        return 2
    settings = EngineSettings(
        engine="preview",
        detector=args.detector,
        device=args.device,
        checkpoint_dir=args.checkpoint_dir,
        cache_dir=args.cache_dir,
    )
    try:
        syncer = load_syncer(settings, SyncOptions(keyframe_interval=args.keyframe_interval))
    except HeygemError as exc:
        log.error("%s", exc)
        return 2
    failed = 0
    with logging_redirect_tqdm():
        for i, video in enumerate(args.videos):
            with tqdm(
                total=100,
                desc=f"[{i + 1}/{len(args.videos)}] {video.name}",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
            ) as bar:

                def hook(p: Progress, bar=bar) -> None:
                    done = 1.0 if p.stage == "done" else p.frames_done / max(1, p.frames_total)
                    bar.update(100 * done - bar.n)

                try:
                    result = syncer.preprocess(video, hook)
                except Exception as exc:
                    failed += 1
                    log.error("%s", failure(video, exc, "preview", syncer.detector.name, 0).error)
                    continue
            state = "already cached" if result.cached else f"detected in {result.seconds:.1f} s"
            log.info("%s: face track of %d frames %s", video.name, len(result.track.boxes), state)
    return 1 if failed else 0


def cache_command(args: argparse.Namespace) -> int:
    tracks = TrackCache((args.cache_dir or default_cache_dir()) / "tracks")
    if args.action == "clear":
        print(f"removed {tracks.clear()} face track(s) from {tracks.folder}")
    else:
        print(
            f"{tracks.folder}: {len(tracks.entries())} face track(s), "
            f"{tracks.size_bytes() / 2**20:.1f} MB (cap {tracks.cap_bytes / 2**20:.0f} MB)"
        )
    return 0


def worker_command(args: argparse.Namespace) -> int:
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


def batch_command(args: argparse.Namespace) -> int:
    settings = EngineSettings(
        engine=args.engine,
        checkpoint=args.checkpoint,
        detector=args.detector,
        device=args.device,
        checkpoint_dir=args.checkpoint_dir,
        batch_size=args.batch_size,
        runtime=args.runtime,
        cache_dir=args.cache_dir,
        track_cache_mb=0 if args.no_track_cache else EngineSettings.track_cache_mb,
    )
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
