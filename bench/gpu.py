"""The CUDA path, measured: batch sweep, end to end at 720p and 1080p, GPU memory and use, OOM.

    bash bench/gpu.sh                 # on a machine with an NVIDIA GPU (about 10 minutes)
    bash bench/gpu.sh --dry-run       # the same steps on the CPU with tiny inputs (a check)

Steps, each in a fresh process (bench/measure.py) so each peak is its own:

1. model only: the torch runtime on CUDA (fp16 + channels_last, the model resident) at
   batch 16, 32, 64 and 128; the fastest is used below;
2. end to end with detection (face-track cache emptied first): a 60 s 720p and a 60 s 1080p
   still-face clip, peak GPU memory (torch's allocator) and GPU utilisation (nvidia-smi,
   sampled every 200 ms while the run lasts: median and max);
3. the OOM halving: one render call of a batch far too large for the GPU (65,536 faces):
   it runs out of memory for real and the engine halves the batch until it fits.

Figures go to bench/results/gpu.json and are printed as a table. ``--dry-run`` runs every
step on the CPU (batch 2 and 4, 2 s clips, no OOM: a CPU does not raise one) to prove the
script before GPU time is spent on it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inputs import Inputs  # noqa: E402

from bench import machine, measure  # noqa: E402

REAL = {"device": "cuda", "batches": [16, 32, 64, 128], "seconds": 60, "heights": [720, 1080], "oom": 65536}
DRY = {"device": "cpu", "batches": [2, 4], "seconds": 2, "heights": [360, 720], "oom": 8}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="every step on the CPU, tiny inputs")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "results" / "work")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "gpu.json")
    args = parser.parse_args()
    plan = DRY if args.dry_run else REAL
    if not args.dry_run:
        check_gpu()
    inputs, cache = Inputs(args.workdir), args.workdir / "cache"
    checkpoint = inputs.checkpoint()
    report = {"machine": machine(), "gpu": gpu_name(), "dry_run": args.dry_run, "model_only": {}, "runs": []}
    torch_on = {"runtime": "torch", "device": plan["device"], "checkpoint": checkpoint, "cache": cache}
    for batch in plan["batches"]:
        got = measure("model-only", **torch_on, batch=batch, frames=4 * batch)
        report["model_only"][batch] = got
        save(args.json, report)
    best = max(report["model_only"], key=lambda b: report["model_only"][b]["fps"])
    for height in plan["heights"]:
        clip, audio = inputs.clip(plan["seconds"], height), inputs.speech(plan["seconds"])
        shutil.rmtree(cache / "tracks", ignore_errors=True)  # with detection
        with Utilisation() as use:
            out = args.workdir / "gpu-out.mp4"
            got = measure("pipeline", **torch_on, batch=best, video=clip, audio=audio, out=out)
        got.update(height=height, batch=best, utilisation=use.summary())
        report["runs"].append(got)
        save(args.json, report)
    report["oom"] = oom(plan, checkpoint)
    save(args.json, report)
    print(table(report))
    return 0


def check_gpu() -> None:
    import torch

    if not torch.cuda.is_available():
        sys.exit(
            f"bench/gpu.py: torch {torch.__version__} sees no CUDA GPU; use --dry-run to check the script"
        )


def gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "none (no nvidia-smi)"


def oom(plan: dict, checkpoint: Path) -> dict:
    if plan["device"] == "cpu":  # the step runs, but a CPU never raises CUDA's out-of-memory
        got = measure("oom", checkpoint=checkpoint, batch=plan["oom"], device="cpu")
        return {**got, "note": "dry run on the CPU: no out-of-memory, nothing halved"}
    return measure("oom", checkpoint=checkpoint, batch=plan["oom"], device="cuda")


class Utilisation:
    """nvidia-smi's GPU utilisation (%), sampled every 200 ms while the ``with`` block runs."""

    def __init__(self):
        self.samples: list[int] = []
        self._proc = None

    def __enter__(self):
        cmd = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"]
        try:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            return self  # no nvidia-smi (a dry run): no samples
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        for line in self._proc.stdout:
            if line.strip().isdigit():
                self.samples.append(int(line.strip()))

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait()
            time.sleep(0.1)

    def summary(self) -> dict:
        if not self.samples:
            return {}
        return {"median": statistics.median(self.samples), "max": max(self.samples), "n": len(self.samples)}


def save(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))


def table(report: dict) -> str:
    out = [f"GPU: {report['gpu']}; CPU: {report['machine']['cpu']}, {report['machine']['cores']} cores"]
    out += ["", "Model only, torch fp16 + channels_last (frames/s; peak GPU MB):"]
    for batch, got in report["model_only"].items():
        out.append(f"  batch {batch:>4}: {got['fps']:8.1f}   {got.get('gpu_peak_mb', 0):8.0f}")
    out += [
        "",
        "| clip | batch | frames/s | model-only | detect s | decode s | render s (model) | encode s "
        "| wall s | peak GPU MB | GPU use % median / max | peak RSS MB |",
        "|" + "---|" * 12,
    ]
    for run in report["runs"]:
        st, use = run["stages"], run["utilisation"]
        ceiling = report["model_only"][run["batch"]]["fps"]
        out.append(
            f"| {run['height']}p {run['frames'] / 25:.0f} s | {run['batch']} | {run['fps']:.1f} | {ceiling:.1f} "
            f"| {st['detect']:.1f} | {st['decode']:.1f} | {st['render']:.1f} ({st['model']:.1f}) | {st['encode']:.1f} "
            f"| {run['seconds']:.1f} | {run.get('gpu_peak_mb', 0):.0f} | {use.get('median', '-')} / {use.get('max', '-')} "
            f"| {run['peak_rss_mb']:.0f} |"
        )
    o = report["oom"]
    out += [
        "",
        f"OOM: asked {o['asked']} faces in one call -> ran at batch {o['batch_after']} "
        f"({o['seconds']:.1f} s){'; ' + o['note'] if 'note' in o else ''}",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
