"""End-to-end speed benchmark: model-only ceiling, our pipeline, the cached re-run; one table.

    .venv/bin/python bench/bench.py                    # 20 s and 60 s clips, every runtime
    .venv/bin/python bench/bench.py --long             # adds 120 s and 300 s (memory flatness)
    .venv/bin/python bench/bench.py --runtimes onnx-int8 --lengths 20

Inputs are generated (the scikit-image astronaut's face moving on a 1280x720 25 fps frame,
speech-like audio) with a random-weight Wav2Lip: speed does not depend on weight values.
Every measurement runs in a fresh subprocess (bench/measure.py), so each peak RSS is its own. Figures go to
stdout as a table and to bench/results/bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (1280, 720)  # bench clip frame size
FACE = 480  # px, side of the astronaut head-and-shoulders square on the frame
ORIGINAL_FPS = {20: 6.8, 60: 7.3}  # the original inference.py --box, measured (issue)
ORIGINAL_RSS_GB = {20: 3.9, 60: 6.7}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="20,60", help="clip seconds, comma separated")
    parser.add_argument("--long", action="store_true", help="also 120 s and 300 s (first runtime)")
    parser.add_argument("--runtimes", default="onnx,torch,onnx-int8", help="comma separated")
    parser.add_argument("--batch-sizes", default="8,16,32", help="model-only sweep")
    parser.add_argument("--table", action="store_true", help="print the table of --json only")
    parser.add_argument("--repeats", type=int, default=3, help="model-only repeats (median)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "results" / "work")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "bench.json")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.json.read_text())))
        return 0
    return orchestrate(args)


# The orchestrator -----------------------------------------------------------------------


def _child(*argv) -> dict:
    """One measurement of measure.py in a fresh process (so its peak RSS is its own)."""
    cmd = [sys.executable, str(Path(__file__).resolve().with_name("measure.py")), *map(str, argv)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")


def make_inputs(workdir: Path, lengths: list[int]) -> dict:
    import torch

    from heygem.lipsync.checkpoint import save_checkpoint
    from heygem.lipsync.model import Wav2Lip
    from heygem.testing import synthetic

    workdir.mkdir(parents=True, exist_ok=True)
    checkpoint = workdir / "wav2lip_random.pth"
    if not checkpoint.exists():
        torch.manual_seed(0)
        save_checkpoint(Wav2Lip(), checkpoint)
    clips = {}
    for seconds in lengths:
        video = workdir / f"astronaut_{seconds}s_720p.mp4"
        if not video.exists():
            synthetic.face_video(video, seconds, size=SIZE, face=FACE)
        audios = [workdir / f"speech_{seconds}s_{seed}.wav" for seed in (0, 1)]
        for seed, audio in enumerate(audios):
            if not audio.exists():
                synthetic.speech_wav(audio, seconds, seed=seed)
        clips[seconds] = (video, audios)
    return {"checkpoint": checkpoint, "clips": clips}


def orchestrate(args) -> int:
    lengths = [int(x) for x in args.lengths.split(",") if x]
    runtimes = [x for x in args.runtimes.split(",") if x]
    long_lengths = [120, 300] if args.long else []
    inputs = make_inputs(args.workdir, sorted(set(lengths + long_lengths)))
    checkpoint = inputs["checkpoint"]
    cache = args.workdir / "cache"
    report = {
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "model_only": {},
        "pipeline": [],
    }
    for runtime in runtimes:
        _child(
            "model-only",
            "--runtime",
            runtime,
            "--batch",
            8,
            "--frames",
            8,
            "--repeats",
            1,
            "--checkpoint",
            checkpoint,
            "--cache",
            cache,
        )  # export once
        for batch in [int(x) for x in args.batch_sizes.split(",")]:
            got = _child(
                "model-only",
                "--runtime",
                runtime,
                "--batch",
                batch,
                "--checkpoint",
                checkpoint,
                "--cache",
                cache,
                "--repeats",
                args.repeats,
            )
            got["load_after"] = load()
            report["model_only"][f"{runtime}/{batch}"] = got
            _log(f"model-only {runtime} batch {batch}: {got['fps']:.2f} frames/s, load {load()}")
    for runtime in runtimes:
        for seconds in lengths + (long_lengths if runtime == runtimes[0] else []):
            video, audios = inputs["clips"][seconds]
            tracks = cache / "tracks"  # emptied before each first run: it detects
            for cache_run, audio in enumerate(audios):
                if not cache_run:
                    _clear(tracks)
                got = _child(
                    "pipeline",
                    "--runtime",
                    runtime,
                    "--video",
                    video,
                    "--audio",
                    audio,
                    "--checkpoint",
                    checkpoint,
                    "--cache",
                    cache,
                    "--out",
                    args.workdir / f"out-{runtime}.mp4",
                )
                got.update(
                    runtime=runtime, seconds_of_video=seconds, rerun=bool(cache_run), load_after=load()
                )
                report["pipeline"].append(got)
                _save(args.json, report)  # after every run: a failure later loses nothing
                _log(
                    f"pipeline {runtime} {seconds}s {'cached' if cache_run else 'first'}: "
                    f"{got['fps']:.2f} frames/s, peak {got['peak_rss_mb']:.0f} MB, load {load()}"
                )
    if "onnx-int8" in runtimes:
        report["tolerance"] = _child("tolerance", "--cache", args.workdir / "tolerance")
    _save(args.json, report)
    print(table(report))
    return 0


def _save(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def _clear(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _log(text: str) -> None:
    print(time.strftime("%H:%M:%S"), text, file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
    }


def table(report: dict) -> str:
    from heygem.lipsync.engines import DEFAULT_BATCH

    m = report["machine"]
    out = [
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; started {report['started']}",
        "",
        "Model only (frames/s, median):",
    ]
    for key, got in report["model_only"].items():
        out.append(f"  {key:<16} {got['fps']:6.2f}   (load avg after: {got.get('load_after', '')})")
    out += [
        "",
        "| runtime | clip | run | frames/s | model-only | ratio | vs original --box "
        "| detect s | decode s | render s (model) | encode s | mux s | wall s "
        "| peak RSS MB (py / +encoder) | 1st progress s | load avg |",
        "|" + "---|" * 16,
    ]
    for run in report["pipeline"]:
        runtime, seconds = run["runtime"], run["seconds_of_video"]
        ceiling = report["model_only"].get(f"{runtime}/{DEFAULT_BATCH[runtime]}", {}).get("fps")
        ratio = f"{run['fps'] / ceiling:.0%}" if ceiling else "-"
        original = ORIGINAL_FPS.get(seconds)
        versus = f"{run['fps'] / original:.2f}x" if original else "-"
        st = run["stages"]
        out.append(
            f"| {runtime} | {seconds} s | {'cached' if run['rerun'] else 'first'} "
            f"| {run['fps']:.2f} | {ceiling or 0:.2f} | {ratio} | {versus} | {st['detect']:.2f} "
            f"| {st['decode']:.1f} | {st['render']:.1f} ({st['model']:.1f}) | {st['encode']:.1f} "
            f"| {st['mux']:.1f} | {run['seconds']:.1f} "
            f"| {run['peak_rss_mb']:.0f} / {run['tree_peak_rss_mb']:.0f} "
            f"| {run['first_progress_s']:.2f} | {run['load_after']} |"
        )
    tol = report.get("tolerance")
    if tol:
        out += ["", f"Output vs torch fp32 (pixel levels; test model output std {tol['output_std']:.0f}):"]
        for runtime in ("onnx", "onnx-int8"):
            t = tol[runtime]
            out.append(f"  {runtime:<10} max {t['max']}, mean {t['mean']:.3f}, p99 {t['p99']:.0f}")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
