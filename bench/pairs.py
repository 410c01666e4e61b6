"""A course batch: 6 narrations x 2 presenters as one batch, against 12 one-pair batches.

    .venv/bin/python bench/pairs.py [--engine wav2lip|loudness] [--seconds 1.5] [--video-seconds 3]

Both sides run the real command line (``python -m heygem batch``) on CPU, each with a fresh
face-track cache of its own: once as one batch (``--audio`` x6 ``--video`` x2), then as 12
separate one-pair batches (``batch AUDIO VIDEO``, narration by narration in the order given,
as a user looping by hand would, the cache shared between them). The narrations differ in
length (all shorter than the videos), so a face track made for a short one is too short for
a longer one. Reports each item's face-track seconds from batch.json (a video's first item
against the others) and the total wall time. With wav2lip a random-weight checkpoint in the
official format is written first (speed does not depend on weight values). Writes
bench/results/pairs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heygem.testing import synthetic  # noqa: E402

LENGTHS = (1.0, 0.8, 1.3, 0.9, 1.15, 1.05)  # each narration's length, times --seconds


def cli(args: list, engine_args: list) -> float:
    """Run ``python -m heygem batch ARGS`` and return its wall time (seconds)."""
    started = time.monotonic()
    cmd = [sys.executable, "-m", "heygem", "batch", *map(str, args), *map(str, engine_args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.monotonic() - started


def items_of(outdir: Path) -> list[dict]:
    return json.loads((outdir / "batch.json").read_text())["videos"]


def one_batch(media: dict, tmp: Path, engine_args: list) -> dict:
    out = tmp / "one batch"
    cache = ["--cache-dir", tmp / "cache one batch"]
    wall = cli(["--audio", *media["audios"], "--video", *media["videos"], "-o", out, *cache], engine_args)
    return {"wall_s": wall, "items": items_of(out)}


def separate_batches(media: dict, tmp: Path, engine_args: list) -> dict:
    cache = ["--cache-dir", tmp / "cache separate"]
    wall, items = 0.0, []
    for a, audio in enumerate(media["audios"]):
        for v, clip in enumerate(media["videos"]):
            out = tmp / f"separate {a}-{v}"
            wall += cli([audio, clip, "-o", out, *cache], engine_args)
            items += [{**item, "audio": str(audio)} for item in items_of(out)]
    return {"wall_s": wall, "items": items}


def detection(items: list[dict]) -> dict:
    """Face-track seconds of each video's first item and of the others, and how often the
    detector ran."""
    seen, first, others = set(), [], []
    for item in items:
        (others if item["video"] in seen else first).append(item["detect_seconds"])
        seen.add(item["video"])
    return {
        "first_median_s": statistics.median(first),
        "others_median_s": statistics.median(others),
        "others_max_s": max(others),
        "total_s": sum(first) + sum(others),
        "detector_runs": sum(1 for item in items if not item["track_cached"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", default="wav2lip", choices=["wav2lip", "loudness"])
    parser.add_argument(
        "--seconds", type=float, default=1.5, help="a narration's length (they vary around it)"
    )
    parser.add_argument("--video-seconds", type=float, default=3.0, help="each presenter video's length")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        media = {
            "audios": [
                synthetic.speech_wav(tmp / f"lesson{k + 1:02d}.wav", args.seconds * length, seed=k)
                for k, length in enumerate(LENGTHS)
            ],
            "videos": [
                synthetic.face_video(tmp / "anna.mp4", args.video_seconds, size=(640, 360)),
                synthetic.face_video(tmp / "ben.mp4", args.video_seconds, size=(640, 352), face=180),
            ],
        }
        engine_args = ["--device", "cpu", "--engine", args.engine, "--checkpoint-dir", tmp]
        if args.engine == "wav2lip":
            from heygem.testing.models import random_checkpoint

            engine_args += ["--checkpoint", random_checkpoint(tmp / "wav2lip_random.pth")]
        together = one_batch(media, tmp, engine_args)
        apart = separate_batches(media, tmp, engine_args)
    load = os.getloadavg()
    figures = {
        "engine": args.engine,
        "narration_seconds": [round(args.seconds * x, 2) for x in LENGTHS],
        "video_seconds": args.video_seconds,
        "cpu_count": os.cpu_count(),
        "load_avg_after": load,
        "one_batch": {**together, "detection": detection(together["items"])},
        "separate": {**apart, "detection": detection(apart["items"])},
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pairs.json").write_text(json.dumps(figures, indent=2))
    report(figures)


def report(figures: dict) -> None:
    print(
        f"6 narrations ({', '.join(f'{s:g}' for s in figures['narration_seconds'])} s) x 2 videos "
        f"({figures['video_seconds']:g} s, 640x360), engine {figures['engine']}, {figures['cpu_count']} CPU cores"
    )
    print("\nOne batch, items in run order:")
    print(
        f"{'#':>3}  {'narration':<13}{'video':<10}{'track':<9}{'detected frames':>16}{'face-track s':>13}{'item s':>8}"
    )
    for k, item in enumerate(figures["one_batch"]["items"], 1):
        track = "cached" if item["track_cached"] else "detected"
        print(
            f"{k:>3}  {Path(item['audio']).name:<13}{Path(item['video']).name:<10}{track:<9}"
            f"{item['detected_frames']:>16}{item['detect_seconds']:>13.3f}{item['seconds']:>8.2f}"
        )
    print(
        f"\n{'':<28}{'detector runs':>14}{'1st item of a video':>21}{'other items (med / max)':>25}"
        f"{'face-track s total':>20}{'wall s':>8}"
    )
    for label, key in (("one batch of 12 pairs", "one_batch"), ("12 one-pair batches", "separate")):
        d, wall = figures[key]["detection"], figures[key]["wall_s"]
        print(
            f"{label:<28}{d['detector_runs']:>14}{d['first_median_s']:>20.3f}s"
            f"{d['others_median_s']:>15.3f} / {d['others_max_s']:.3f}s{d['total_s']:>19.2f}s{wall:>8.1f}"
        )
    ratio = figures["separate"]["wall_s"] / figures["one_batch"]["wall_s"]
    print(
        f"\none batch is {ratio:.2f}x as fast as 12 separate batches; load avg after: {figures['load_avg_after']}"
    )


if __name__ == "__main__":
    main()
