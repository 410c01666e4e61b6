"""``python -m heygem preprocess`` (face tracks ahead of time) and ``cache info|clear``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from heygem.cli.options import add_cache_options
from heygem.errors import HeygemError
from heygem.faces import TrackCache
from heygem.lipsync import EngineSettings, Progress, SyncOptions, failure, load_syncer
from heygem.settings import DEFAULT_CHECKPOINT_DIR, DETECTORS, default_cache_dir

log = logging.getLogger("heygem")


def add(commands) -> None:
    pre = commands.add_parser("preprocess", help="detect and cache the face tracks of videos")
    pre.add_argument("videos", type=Path, nargs="+", help="presenter videos or images")
    pre.add_argument("--detector", default="auto", choices=DETECTORS)
    pre.add_argument("--device", default="auto", help="auto, cpu or cuda (for sfd)")
    pre.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    add_track_options(pre)
    pre.add_argument("-v", "--verbose", action="store_true")
    cache = commands.add_parser("cache", help="show or clear the face-track cache")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--cache-dir", type=Path, help="default: $HEYGEM_CACHE_DIR or ~/.cache/heygem")


def add_track_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keyframe-interval",
        type=int,
        default=8,
        help="frames between face detections; 1 detects every frame",
    )
    add_cache_options(parser)


def run(args: argparse.Namespace) -> int:
    return preprocess(args) if args.command == "preprocess" else cache(args)


def preprocess(args: argparse.Namespace) -> int:
    """Fill the face-track cache for each video, with a progress bar; a bad video fails alone."""
    if args.no_track_cache or args.keyframe_interval < 1:
        log.error("preprocess fills the face-track cache: drop --no-track-cache; interval >= 1")
        return 2
    settings = EngineSettings(
        engine="loudness",  # no weights: only the faces matter here
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
                    log.error("%s", failure(video, exc, "loudness", syncer.detector.name, 0).error)
                    continue
            state = "already cached" if result.cached else f"detected in {result.seconds:.1f} s"
            log.info("%s: face track of %d frames %s", video.name, len(result.track.boxes), state)
    return 1 if failed else 0


def cache(args: argparse.Namespace) -> int:
    tracks = TrackCache((args.cache_dir or default_cache_dir()) / "tracks")
    if args.action == "clear":
        print(f"removed {tracks.clear()} face track(s) from {tracks.folder}")
    else:
        print(
            f"{tracks.folder}: {len(tracks.entries())} face track(s), "
            f"{tracks.size_bytes() / 2**20:.1f} MB (cap {tracks.cap_bytes / 2**20:.0f} MB)"
        )
    return 0
