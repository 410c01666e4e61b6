"""Speed and memory, side by side in one run: the original, every runtime, the ceiling, narrations.

    .venv/bin/python bench/bench.py            # the whole table (about an hour on 2 cores)
    .venv/bin/python bench/bench.py --quick    # a smoke run of every part on short inputs (minutes)
    .venv/bin/python bench/bench.py --only model,original,pipeline --runtimes torch,openvino-bf16
    .venv/bin/python bench/bench.py --table bench/results/speed.md   # also write it as Markdown
    .venv/bin/python bench/bench.py --reprint  # print the last run's report again (no measuring)

One run measures, in this order and each in a fresh process (bench/measure.py,
bench/original.py) so that each peak RSS is its own:

0. the int8 gate (always): its verdict on the bench's checkpoint, which decides the default
   runtime (``auto``) of this run, and on the test model whose faces span the pixel range
   (measured once per checkpoint, then read back);
1. model only: each runtime alone on realistic batches, at each batch size (the default
   runtime also on one stream, as before issue 23);
2. original: the restated original ``inference.py --box`` (bench/original.py) on the 20 s
   and 60 s clips; every "vs original" ratio divides by this run's figure for that clip;
3. pipeline: our pipeline with detection ("first": the face-track cache emptied before it)
   on the same clips for each runtime; the default runtime also from the cache ("cached")
   and on 120 s and 300 s clips (memory flatness), and once with the model on one thread
   fewer than the cores (thread placement); on the first clip, each of its runs right after
   the same run as the pipeline ran before issue 23 (``--model-streams 1 --stage-nice 0``:
   OpenVINO on one stream, every stage at the model's priority), the "before" rows;
4. tolerance: each runtime against torch fp32 on held-out frames (bench/measure.py tolerance);
5. ceiling: the pipeline with a zero-cost network at 720p and 1080p;
6. narration: peak RSS for 1, 5, 15 and 60 minutes of narration on a still image and on a
   6 s looped video (loudness engine).

Inputs are generated (bench/inputs.py) into bench/results/work and kept; the report goes to
bench/results/bench.json after every measurement and is printed as Markdown at the end (and
written to ``--table PATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inputs import Inputs  # noqa: E402
from report import table  # noqa: E402

# The pipeline before issue 23: OpenVINO with every thread on one request, and the decoder,
# the encoder and x264 at the model's priority (the "before" rows; the model alone likewise).
BEFORE = {"model_streams": 1, "stage_nice": 0}
ONE_STREAM = "one stream"
PARTS = ("model", "original", "pipeline", "tolerance", "ceiling", "narration")
FULL = {
    "lengths": [20, 60],
    "long": [120, 300],
    "runtimes": "torch,onnx,onnx-int8,openvino,openvino-bf16,openvino-int8",
    "batches": [8, 16, 32],
    "ceiling": [(20, 720), (20, 1080)],
    "narration_minutes": [1, 5, 15, 60],
    "repeats": 3,
}
QUICK = {
    "lengths": [4],
    "long": [8],
    "runtimes": "torch,auto",
    "batches": [],  # the default batch of each runtime only
    "ceiling": [(4, 720), (4, 1080)],
    "narration_minutes": [0.25, 1],
    "repeats": 1,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every part on short inputs")
    parser.add_argument("--only", default=",".join(PARTS), help=f"parts to run, of {','.join(PARTS)}")
    parser.add_argument("--runtimes", help="comma separated (auto: this machine's default)")
    parser.add_argument("--lengths", help="clip seconds, comma separated (default 20,60; quick 4)")
    parser.add_argument("--long", help="the default runtime's flatness clips (default 120,300; '' none)")
    parser.add_argument("--table", type=Path, help="also write the report as Markdown to this file")
    parser.add_argument(
        "--reprint", action="store_true", help="print (and --table) the report of --json only"
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "results" / "work")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "bench.json")
    args = parser.parse_args()
    if args.reprint:
        write_report(json.loads(args.json.read_text()), args.table)
        return 0
    plan = dict(QUICK if args.quick else FULL)
    runtimes = [r for r in (args.runtimes or plan["runtimes"]).split(",") if r]
    for key in ("lengths", "long"):
        if getattr(args, key) is not None:
            plan[key] = [int(x) for x in getattr(args, key).split(",") if x]
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)} (use {', '.join(PARTS)})")
    report = Bench(args.workdir, args.json, plan).run(runtimes, parts)
    write_report(report, args.table)
    return 0


def write_report(report: dict, path: Path | None) -> None:
    """Print the report as Markdown, and write it to ``path`` when given."""
    text = table(report)
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        log(f"report written to {path}")


class Bench:
    def __init__(self, workdir: Path, json_path: Path, plan: dict):
        self.inputs, self.json_path, self.plan = Inputs(workdir), json_path, plan
        self.cache = workdir / "cache"
        self.default = "auto"  # until the gate has decided (the first step of a run)
        self.started = time.monotonic()
        self.report = {
            "machine": machine(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "default_runtime": self.default,
            "gate": {},
            "plan": plan,
            "model_only": {},
            "pipeline": [],
        }

    def run(self, runtimes: list[str], parts: list[str]) -> dict:
        checkpoint = self.inputs.checkpoint()
        self.gate(checkpoint)
        runtimes = [self.default if r == "auto" else r for r in runtimes]
        runtimes = list(dict.fromkeys(runtimes))  # auto may name one already listed
        for part in PARTS:
            if part in parts:
                getattr(self, part)(runtimes, checkpoint)
        self.save()
        return self.report

    def gate(self, checkpoint) -> None:
        """The int8 gate on the bench's checkpoint (its choice is this run's default runtime)
        and on the test model whose faces span the pixel range."""
        self.report["gate"] = {}
        models = {
            "bench model (random weights)": checkpoint,
            "test model (output gain 30: faces span the pixel range)": self.inputs.spread_checkpoint(),
        }
        for label, path in models.items():
            got = measure("gate", checkpoint=path, cache=self.cache)
            self.report["gate"][label] = got
            log(f"int8 gate, {label}: {got['summary']}")
        self.default = self.report["default_runtime"] = self.report["gate"][next(iter(models))]["chosen"]
        self.save()

    def model(self, runtimes, checkpoint) -> None:
        from heygem.lipsync.engines import DEFAULT_BATCH

        for runtime in runtimes:
            common = {"runtime": runtime, "checkpoint": checkpoint, "cache": self.cache}
            measure("model-only", **common, batch=8, frames=8, repeats=1)  # export once
            for batch in sorted({DEFAULT_BATCH[runtime], *self.plan["batches"]}):
                got = measure("model-only", **common, batch=batch, repeats=self.plan["repeats"])
                self.record(f"model-only {runtime}/{batch}", got, ("model_only", f"{runtime}/{batch}"))
            if self.compares_streams(runtime):  # the model as it ran before, for the "before" rows
                batch = DEFAULT_BATCH[runtime]
                got = measure("model-only", **common, batch=batch, repeats=self.plan["repeats"], streams=1)
                key = f"{runtime}/{batch} {ONE_STREAM}"
                self.record(f"model-only {key}", got, ("model_only", key))

    def compares_streams(self, runtime: str) -> bool:
        """Whether the run shows ``runtime`` before and after issue 23 (the default runtime,
        when it is an OpenVINO one): batches split across streams, the other stages nicer."""
        return runtime == self.default and runtime.startswith("openvino")

    def original(self, runtimes, checkpoint) -> None:
        for seconds in self.plan["lengths"]:
            clip = self.inputs.clip(seconds)
            box = self.inputs.box(clip)
            audio, out = self.inputs.speech(seconds), self.cache.parent / "original.mp4"
            got = child("original.py", video=clip, audio=audio, checkpoint=checkpoint, box=box, out=out)
            got.update(seconds_of_video=seconds, run="first", box=box)
            self.record(f"original {seconds} s", got, "pipeline")

    def pipeline(self, runtimes, checkpoint) -> None:
        from heygem.lipsync.engines import DEFAULT_BATCH

        common = {"checkpoint": checkpoint, "cache": self.cache, "out": self.cache.parent / "out.mp4"}
        for runtime in runtimes:
            default = runtime == self.default
            for seconds in self.plan["lengths"] + (self.plan["long"] if default else []):
                clip = self.inputs.clip(seconds)
                runs = ("first", "cached") if default and seconds in self.plan["lengths"] else ("first",)
                # Before and after, one right after the other: as the pipeline ran before issue
                # 23 (BEFORE), then as it runs now.
                before = self.compares_streams(runtime) and seconds == self.plan["lengths"][0]
                for run in runs:
                    for extra in (BEFORE, {}) if before else ({},):
                        if run == "first":
                            shutil.rmtree(self.cache / "tracks", ignore_errors=True)
                        audio = self.inputs.speech(seconds, seed=0 if run == "first" else 1)
                        got = measure("pipeline", runtime=runtime, video=clip, audio=audio, **common, **extra)
                        got.update(seconds_of_video=seconds, run=run)
                        if extra:
                            got["run"] = f"{run}, before: {ONE_STREAM}, stages at one priority"
                            got["model_only_key"] = f"{runtime}/{DEFAULT_BATCH[runtime]} {ONE_STREAM}"
                        self.record(f"pipeline {runtime} {seconds} s {got['run']}", got, "pipeline")
                if default and seconds == self.plan["lengths"][0]:
                    self.placement(runtime, clip, seconds, common)

    def placement(self, runtime, clip, seconds, common) -> None:
        """Thread placement: the model on one core fewer than all, leaving it to decoding,
        pasting and x264 (the cached track, so detection does not count)."""
        from heygem.machine import usable_cores

        if not runtime.startswith("openvino") or usable_cores() < 2:
            return
        threads = usable_cores() - 1
        audio = self.inputs.speech(seconds, seed=1)
        got = measure("pipeline", runtime=runtime, video=clip, audio=audio, model_threads=threads, **common)
        got.update(seconds_of_video=seconds, run=f"cached, model on {threads} thread(s)")
        self.record(f"pipeline {runtime} {seconds} s model on {threads} thread(s)", got, "pipeline")

    def tolerance(self, runtimes, checkpoint) -> None:
        spread = self.inputs.spread_checkpoint()
        self.report["tolerance"] = measure("tolerance", checkpoint=spread, cache=self.cache)
        self.save()

    def ceiling(self, runtimes, checkpoint) -> None:
        self.report["ceiling"] = []
        for seconds, height in self.plan["ceiling"]:
            clip = self.inputs.clip(seconds, height)
            for run in ("first", "cached"):
                if run == "first":
                    shutil.rmtree(self.cache / "tracks", ignore_errors=True)
                audio, out = self.inputs.speech(seconds), self.cache.parent / "ceiling.mp4"
                got = measure("ceiling", video=clip, audio=audio, cache=self.cache, out=out)
                got.update(label=f"{height}p {run}", height=height)
                self.record(f"ceiling {height}p {run}", got, "ceiling")

    def narration(self, runtimes, checkpoint) -> None:
        self.report["narration"] = []
        for video, name in ((self.inputs.still(), "still image"), (self.inputs.loop(), "6 s loop")):
            for minutes in self.plan["narration_minutes"]:
                audio = self.inputs.speech(minutes * 60, seed=2)
                out = self.cache.parent / "narration.mp4"
                got = measure("narration", video=video, audio=audio, cache=self.cache, out=out)
                got.update(video=name, minutes=minutes)
                self.record(f"narration {name} {minutes:g} min", got, "narration")

    def record(self, what: str, got: dict, where) -> None:
        got["load_after"] = load()
        if isinstance(where, tuple):
            self.report[where[0]][where[1]] = got
        else:
            self.report[where].append(got)
        self.save()  # after every measurement: a failure later loses nothing
        rss = f", peak {got['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in got else ""
        log(f"{what}: {got['fps']:.2f} frames/s{rss}, load {got['load_after']}")

    def save(self) -> None:
        self.report["minutes"] = (time.monotonic() - self.started) / 60
        self.json_path.parent.mkdir(parents=True, exist_ok=True)
        self.json_path.write_text(json.dumps(self.report, indent=2, default=str))


def measure(what: str, **options) -> dict:
    """``bench/measure.py what --name value ...`` in a fresh process: its result."""
    return child("measure.py", what, **options)


def child(script: str, *argv, **options) -> dict:
    """One measurement in a fresh process (so its peak RSS is its own): its RESULT line.
    Each option becomes ``--name value`` (underscores as dashes; a tuple gives several values)."""
    for name, value in options.items():
        argv = (*argv, f"--{name.replace('_', '-')}", *(value if isinstance(value, tuple) else (value,)))
    cmd = [sys.executable, str(Path(__file__).resolve().with_name(script)), *map(str, argv)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")


def log(text: str) -> None:
    print(time.strftime("%H:%M:%S"), text, file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict:
    from heygem.machine import int8_isa, native_bf16, usable_cores

    lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor()
    )
    return {
        "cpu": model,
        "cores": usable_cores(),
        "python": platform.python_version(),
        "native_bf16": native_bf16(),
        "int8_isa": int8_isa(),
    }


if __name__ == "__main__":
    sys.exit(main())
