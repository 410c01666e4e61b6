"""``python -m heygem batch``: narrations onto videos, a progress bar per pair.

batch AUDIO VIDEO [VIDEO ...] -o OUT                      one narration onto every video
batch --audio A [A ...] --video V [V ...] [--pair RULE] -o OUT   cross (default), order, name
batch --manifest jobs.csv -o OUT                          the pairs a CSV or JSON lists
batch AUDIO --presenter Anna --presenter Ben -o OUT       presenters from the app's library

Run again into the same OUT (after a crash, or with pairs added), the pairs batch.json lists as
done are kept, not made again; --redo makes them again.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from heygem.cli.faceoptions import add_enhancer_options, add_face_options
from heygem.cli.options import add_engine_options, engine_settings
from heygem.cli.presenters import add_workspace_option, library_videos
from heygem.cli.tracks import add_track_options
from heygem.errors import HeygemError
from heygem.lipsync import (
    PairPlan,
    Progress,
    Syncer,
    load_syncer,
    pair_files,
    plan_jobs,
    read_plan,
    run_batch,
    sync_options,
)
from heygem.settings import (
    DEFAULT_MAX_PAIRS,
    DEFAULT_PADS,
    FRAME_ORDERS,
    PAIR_RULES,
    BatchSettings,
)

log = logging.getLogger("heygem")


def add(commands) -> None:
    batch = commands.add_parser(
        "batch",
        help="lip-sync narrations onto videos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument(
        "inputs", type=Path, nargs="*", metavar="AUDIO VIDEO", help="one narration, then videos"
    )
    batch.add_argument("--audio", type=Path, nargs="+", default=[], help="narrations: any file ffmpeg reads")
    batch.add_argument("--video", type=Path, nargs="+", default=[], help="presenter videos or images")
    batch.add_argument(
        "--pair",
        default="cross",
        choices=PAIR_RULES,
        help="cross: every narration onto every video; order: first with first...; "
        "name: lesson01.wav with lesson01.mp4",
    )
    batch.add_argument(
        "--presenter",
        action="append",
        default=[],
        metavar="NAME|ID",
        help="a presenter from the app's library (repeat for more): its file and its own settings",
    )
    add_workspace_option(batch)
    batch.add_argument("--manifest", type=Path, help="CSV or JSON: audio,video[,output][,settings...]")
    batch.add_argument("--redo", action="store_true", help="make again the pairs batch.json lists as done")
    batch.add_argument("--max-pairs", type=int, default=DEFAULT_MAX_PAIRS, help="refuse bigger batches")
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
    add_face_options(batch)
    add_enhancer_options(batch)
    add_track_options(batch)
    batch.add_argument("-v", "--verbose", action="store_true")


def run(args: argparse.Namespace) -> int:
    try:
        plan, library = _plan(args)
    except HeygemError as exc:
        print(f"heygem batch: {exc}", file=sys.stderr)
        return 2
    if plan.unmatched:
        print(f"not paired, left out: {', '.join(map(str, plan.unmatched))}", file=sys.stderr)
    settings = engine_settings(args)
    given = {
        "engine": args.engine,
        "detector": args.detector,
        "chunk_seconds": args.chunk_seconds,
        "pads": args.pads,
        "frame_order": args.frame_order,
        "sync_offset": args.sync_offset,
        "height": args.height,
        "crf": args.crf,
        "keyframe_interval": args.keyframe_interval,
        "face_point": args.face_point,
        "mask": args.mask,
        "mask_size": args.mask_size,
        "mask_feather": args.mask_feather,
        "overlay": args.overlay,
        "enhancer": args.enhancer,
        "enhancer_blend": args.enhancer_blend,
    }
    syncers: dict[tuple[str, str], Syncer] = {}

    def syncer_for(chosen: BatchSettings) -> Syncer:  # one per engine and detector, loaded once
        key = (chosen.engine, chosen.detector)
        if key not in syncers:
            wanted = replace(settings, engine=chosen.engine, detector=chosen.detector)
            syncers[key] = load_syncer(wanted, sync_options(chosen))
        return syncers[key]

    try:
        base = BatchSettings.parse(given)
        syncer = syncer_for(base)
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
        "face_point": args.face_point,
        "mask": args.mask,
        "mask_size": args.mask_size,
        "mask_feather": args.mask_feather,
        "overlay": args.overlay,
        "enhancer": args.enhancer,
        "enhancer_blend": args.enhancer_blend,
        "enhancer_checkpoint": str(args.enhancer_checkpoint) if args.enhancer_checkpoint else None,
    }
    jobs = plan_jobs(plan, args.outdir, library)
    bars: list[tqdm] = []
    several = plan.narrations_used > 1

    def on_job(i: int, n: int, job):
        for bar in bars:
            bar.close()
        bars.clear()
        bar = tqdm(
            total=100,
            desc=f"[{i + 1}/{n}] " + (f"{job.audio.name} → {job.video.name}" if several else job.video.name),
            leave=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
        )
        bars.append(bar)

        def hook(p: Progress) -> None:
            bar.set_postfix_str(p.stage if not p.chunks else f"{p.stage} {p.chunk}/{p.chunks}")
            bar.update(100 * p.fraction - bar.n)

        return hook

    with logging_redirect_tqdm():
        result = run_batch(
            syncer_for, jobs, args.outdir, recorded, base, on_job, [str(u) for u in plan.unmatched], args.redo
        )
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


def _plan(args: argparse.Namespace) -> tuple[PairPlan, dict[str, tuple[str, dict]]]:
    """The pairs the arguments ask for (one of the forms of the module docstring), and the
    library presenters among the videos: {stored file: (its name, its own settings)}."""
    library = {v.path: (v.name, v.settings) for v in library_videos(args.workspace, args.presenter)}
    named = bool(args.audio or args.video)
    if args.manifest:
        if named or args.inputs or args.pair != "cross" or library:
            raise HeygemError(
                "--manifest lists the pairs itself: give no other audio, video, --presenter or --pair"
            )
        return read_plan(args.manifest, max_pairs=args.max_pairs), {}
    if named and args.inputs:
        raise HeygemError("give either AUDIO VIDEO... or --audio and --video, not both")
    if named:
        audios, videos = args.audio, args.video
    else:
        if len(args.inputs) < (1 if library else 2):
            raise HeygemError(
                "give a narration and at least one video (AUDIO VIDEO...), --audio/--video or --manifest"
            )
        audios, videos = args.inputs[:1], args.inputs[1:]
    chosen = [str(v) for v in videos] + list(library)
    return pair_files([str(a) for a in audios], chosen, args.pair, args.max_pairs), library
