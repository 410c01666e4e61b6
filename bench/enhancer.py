"""What the face enhancer costs: per face on each runtime, end to end at 720p and 1080p, memory.

    .venv/bin/python bench/enhancer.py                 # everything, one run (~20 min on 2 cores)
    .venv/bin/python bench/enhancer.py --seconds 1 --faces 2 --runtimes torch   # a smoke run
    .venv/bin/python bench/enhancer.py --device cuda --runtimes torch          # on a CUDA GPU (fp16)

Each figure is measured in a fresh process (its own peak RSS, ``VmHWM``), with random weights
in the official layouts of the released configurations (speed does not depend on the values):

- per face: the restorer alone on (B, 512, 512, 3) astronaut faces, batch 1, after one warm-up
  call; the median of ``--faces`` calls, for GFPGAN v1.4 and RestoreFormer++ on each runtime
  (torch fp32, OpenVINO f32 and bf16; bf16 is only fast on CPUs with native bf16: on an
  AVX2-only CPU OpenVINO emulates it). Export to ONNX (once per checkpoint) is not timed;
- end to end: a still presenter (the astronaut, a 480 / 720 px face, the bench's own clips)
  lip-synced by a random-weight Wav2Lip on the default runtime, with the enhancer off and
  with GFPGAN on the default enhancer runtime: frames/s, busy seconds per stage, peak RSS.
  The still face is the enhancer's easy case (identical aligned faces are restored once), so
  the presenter's mouth region changes every frame here (speech-like audio) and the eyes do not;
- memory in the clip's length (``--flat``): 720p clips of 4, 12 and 36 s with the enhancer on,
  a small GFPGAN of the released class in place of the full one (the structure, not the
  network, decides whether memory grows; the full one would take hours on a CPU).

Printed as Markdown tables; the raw figures go to ``bench/results/enhancer.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESTORERS = ("gfpgan", "restoreformer")
RUNTIMES = ("torch", "openvino", "openvino-bf16")
HEIGHTS = (720, 1080)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("face", "pipeline"), help=argparse.SUPPRESS)
    parser.add_argument("--restorer", default="gfpgan", help=argparse.SUPPRESS)
    parser.add_argument("--runtime", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--height", type=int, default=720, help=argparse.SUPPRESS)
    parser.add_argument("--enhancer", default="none", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help="folder for inputs and exports (default: a temporary one)")
    parser.add_argument("--faces", type=int, default=3, help="timed calls per restorer and runtime")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the end-to-end clips")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="per-face runtimes to measure")
    parser.add_argument("--flat", action="store_true", help="only the memory-in-length rows")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (CUDA: runtime torch, fp16)")
    parser.add_argument("--small", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = face(args) if args.child == "face" else pipeline(args)
        from heygem.testing.memory import peak_rss_mb

        result["peak_rss_mb"] = round(peak_rss_mb())
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    if args.work:
        return run_all(args, args.work)
    with tempfile.TemporaryDirectory(prefix="heygem-bench-enhancer-") as work:
        return run_all(args, Path(work))


def checkpoints(work: Path, small: bool = False) -> Path:
    """Random weights of both restorers (released configurations; ``small``: a small GFPGAN)
    and of Wav2Lip, made once."""
    from heygem.testing.models import random_checkpoint
    from heygem.testing.restorers import SMALL_GFPGAN, random_restorer_file

    folder = work / ("small-checkpoints" if small else "checkpoints")
    folder.mkdir(parents=True, exist_ok=True)
    kinds = [("gfpgan", "GFPGANv1.4.pth")] + ([] if small else [("restoreformer", "RestoreFormer++.ckpt")])
    for kind, name in kinds:
        if not (folder / name).exists():
            random_restorer_file(kind, folder / name, SMALL_GFPGAN if small else None, seed=1)
    if not (folder / "wav2lip_gan.pth").exists():
        random_checkpoint(folder / "wav2lip_gan.pth", seed=0, output_gain=30)
    return folder


def face(args) -> dict:
    """One restorer on one runtime: seconds per face (batch 1)."""
    import numpy as np

    from heygem.enhance import load_restorer
    from heygem.enhance.align import aligned_face, similarity
    from heygem.faces import Landmarker, five_points
    from heygem.testing.synthetic import HEAD_FACE, astronaut_bgr

    folder = args.work / "checkpoints"
    name = {"gfpgan": "GFPGANv1.4.pth", "restoreformer": "RestoreFormer++.ckpt"}[args.restorer]
    started = time.perf_counter()
    restorer = load_restorer(args.restorer, folder / name, args.device, args.runtime, args.work / "cache")
    load_seconds = time.perf_counter() - started
    head = astronaut_bgr(512)
    points = five_points(Landmarker().landmarks(head, HEAD_FACE * 512))
    faces = aligned_face(head, similarity(points))[None]
    restorer.restore(faces)  # warm-up: first-call allocations and compilation
    seconds = []
    for _ in range(args.faces):
        began = time.perf_counter()
        restorer.restore(faces)
        seconds.append(time.perf_counter() - began)
    precision = getattr(restorer, "precision", "fp16" if args.device.startswith("cuda") else "f32")
    return {
        "restorer": args.restorer,
        "runtime": args.runtime,
        "precision": precision,
        "seconds_per_face": statistics.median(seconds),
        "all": [round(s, 3) for s in seconds],
        "load_seconds": round(load_seconds, 1),
        "checksum": int(np.asarray(restorer.restore(faces), np.int64).sum()),
    }


def pipeline(args) -> dict:
    """One clip end to end, the enhancer off or on."""
    import numpy as np

    from heygem.enhance import EnhancerChoice, enhancer_checkpoint
    from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
    from heygem.lipsync.enhancing import EnhanceOptions
    from heygem.media.narration import Narration
    from heygem.testing import synthetic

    clip = args.work / f"still_{args.seconds:g}s_{args.height}p.mp4"
    if not clip.exists():
        size, face_px = (args.height * 16 // 9, args.height), args.height * 2 // 3
        synthetic.face_video(clip, args.seconds, size=size, face=face_px, move=False)
    audio = args.work / f"speech_{args.seconds:g}s.wav"
    if not audio.exists():
        synthetic.speech_wav(audio, args.seconds)
    settings = EngineSettings(
        engine="wav2lip",
        device=args.device,
        checkpoint_dir=args.work / ("small-checkpoints" if args.small else "checkpoints"),
        cache_dir=args.work / "cache",
        enhancer_runtime=args.runtime,
    )
    syncer = load_syncer(settings, SyncOptions())
    narration = Narration(audio)
    out = args.work / "out"
    out.mkdir(exist_ok=True)
    syncer.options = SyncOptions()  # a warm-up without the enhancer: Wav2Lip loaded, the track cached
    syncer.run(narration, clip, out / "warm.mp4", out / ".work-warm")
    syncer.options = SyncOptions(enhance=EnhanceOptions(args.enhancer))
    if args.enhancer != "none":  # the restorer loaded (and exported) before the clock, and warm
        path = enhancer_checkpoint(args.enhancer, settings.checkpoint_dir)
        enhancer = syncer.enhancers.load(EnhancerChoice(args.enhancer, path, "bench"))
        enhancer.restorer.restore(np.zeros((1, enhancer.restorer.side, enhancer.restorer.side, 3), np.uint8))
    started = time.perf_counter()
    result = syncer.run(narration, clip, out / f"{args.height}-{args.enhancer}.mp4", out / ".work")
    seconds = time.perf_counter() - started
    return {
        "height": args.height,
        "clip_seconds": args.seconds,
        "small": args.small,
        "enhancer": result.enhancer,
        "runtime": args.runtime,
        "frames": result.frames,
        "seconds": round(seconds, 2),
        "frames_per_second": round(result.frames / seconds, 3),
        "stages": result.stage_seconds,
        "error": result.error,
    }


def child(work: Path, *extra: str, device: str = "cpu") -> dict:
    command = [sys.executable, __file__, "--work", str(work), "--device", device, *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(lines[-1][len("RESULT ") :])


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "-"


def run_all(args, work: Path) -> int:
    from heygem.machine import native_bf16, usable_cores

    work.mkdir(parents=True, exist_ok=True)
    checkpoints(work, small=args.flat)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    machine = {
        "cpu": cpu,
        "cores": usable_cores(),
        "native_bf16": native_bf16(),
        "python": platform.python_version(),
        "started": time.strftime("%Y-%m-%d %H:%M"),
    }
    print(f"{cpu}, {machine['cores']} cores, native bf16: {machine['native_bf16']}; {machine['started']}")
    if args.flat:
        return flat(work, machine)
    faces = []
    print(
        "\n| restorer | runtime | precision as run | s per face (median) | calls s | peak RSS MB | load avg |"
    )
    print("|---|---|---|---|---|---|---|")
    for restorer in RESTORERS:
        for runtime in args.runtimes.split(","):
            extra = ["--faces", str(args.faces), "--restorer", restorer, "--runtime", runtime]
            result = {
                **child(work, "--child", "face", *extra, device=args.device),
                "load_avg": load_average(),
            }
            faces.append(result)
            if "error" in result:
                print(f"| {restorer} | {runtime} | failed: {result['error']} | | | | |")
                continue
            print(
                f"| {restorer} | {runtime} | {result['precision']} | {result['seconds_per_face']:.2f} | "
                f"{' '.join(map(str, result['all']))} | {result['peak_rss_mb']} | {result['load_avg']} |",
                flush=True,
            )
    runs = []
    print(
        "\n| clip | enhancer | frames/s | wall s | busy s: decode / render / enhance / encode | peak RSS MB | load avg |"
    )
    print("|---|---|---|---|---|---|---|")
    for height in HEIGHTS:
        for enhancer in ("none", "gfpgan"):
            extra = ["--height", str(height), "--enhancer", enhancer, "--seconds", str(args.seconds)]
            result = {
                **child(work, "--child", "pipeline", *extra, device=args.device),
                "load_avg": load_average(),
            }
            runs.append(result)
            if "error" in result and result.get("frames") is None:
                print(f"| {height}p | {enhancer} | failed: {result['error']} | | | | |")
                continue
            st = result["stages"]
            busy = " / ".join(f"{st.get(k, 0):.1f}" for k in ("decode", "render", "enhance", "encode"))
            print(
                f"| {args.seconds:g} s {height}p | {result['enhancer']} | {result['frames_per_second']:.2f} | "
                f"{result['seconds']} | {busy} | {result['peak_rss_mb']} | {result['load_avg']} |",
                flush=True,
            )
    report = {"machine": machine, "faces": faces, "pipelines": runs, "seconds": args.seconds}
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "enhancer.json").write_text(json.dumps(report, indent=2))
    os.sync()
    return 0


def flat(work: Path, machine: dict) -> int:
    """Peak memory against the clip's length, the enhancer on (a small GFPGAN)."""
    rows = []
    print("\n| clip | enhancer | frames | frames/s | peak RSS MB | load avg |")
    print("|---|---|---|---|---|---|")
    for seconds in (4, 12, 36):
        extra = ["--height", "720", "--enhancer", "gfpgan", "--seconds", str(seconds), "--small"]
        result = {**child(work, "--child", "pipeline", *extra), "load_avg": load_average()}
        rows.append(result)
        if result.get("frames") is None:
            print(f"| {seconds} s 720p | gfpgan (small) | failed: {result.get('error')} | | | |")
            continue
        print(
            f"| {seconds} s 720p | {result['enhancer']} (small) | {result['frames']} | "
            f"{result['frames_per_second']:.2f} | {result['peak_rss_mb']} | {result['load_avg']} |",
            flush=True,
        )
    folder = ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "enhancer-flat.json").write_text(json.dumps({"machine": machine, "runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
