"""What the musetalk engine costs: its step per frame on each runtime, end to end at 720p, memory.

    .venv/bin/python bench/musetalk.py                       # everything (~25 min on 2 busy cores)
    .venv/bin/python bench/musetalk.py --runtimes torch --batches 1 --calls 1 --seconds 0.2   # a shorter run
    .venv/bin/python bench/musetalk.py --device cuda         # on a CUDA GPU (torch fp16; unmeasured here)

Random weights in MuseTalk 1.5's published configurations, written in the official layout once
(3.4 GB UNet, 335 MB VAE, 151 MB whisper-tiny: speed does not depend on the values):

- per frame: each part of the step on (B, 256, 256, 3) crops, batch 1 and 4 (``--batches``), after a warm-up
  call, the median of ``--calls``: the VAE encoder (masked crop + reference), the UNet's one
  pass, the VAE decoder; and the whisper encoder per 30 s segment. Runtimes: torch (fp32 on the
  CPU) and OpenVINO f32 (the same networks converted in memory with ``openvino.convert_model``,
  to see whether an exported runtime would pay);
- end to end: a still presenter at 720p (the astronaut, a 480 px face) lip-synced by the
  engine through the whole pipeline (detection, decode, encode, mux): frames/s, busy seconds
  per stage and peak RSS, in a fresh process.

Printed as Markdown tables; the raw figures go to ``bench/results/musetalk.json``.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--work", type=Path, help="folder for the weights and clips (default: a temporary one)"
    )
    parser.add_argument("--calls", type=int, default=3, help="timed calls per part, batch and runtime")
    parser.add_argument("--seconds", type=float, default=0.4, help="length of the end-to-end clip")
    parser.add_argument("--runtimes", default="torch,openvino", help="per-frame runtimes to measure")
    parser.add_argument(
        "--batches", default="1,4", help="per-frame batch sizes to measure (a busy machine: 1 only)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (CUDA: torch fp16)")
    parser.add_argument(
        "--end-to-end",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the 720p clip through the whole pipeline (--no-end-to-end: per frame only)",
    )
    args = parser.parse_args()
    if args.child:
        result = end_to_end(args)
        from heygem.testing.memory import peak_rss_mb

        result["peak_rss_mb"] = round(peak_rss_mb())
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    if args.work:
        return run_all(args, args.work)
    with tempfile.TemporaryDirectory(prefix="heygem-bench-musetalk-") as work:
        return run_all(args, Path(work))


def weights(work: Path) -> Path:
    folder = work / "musetalk"
    if not (folder / "whisper" / "model.safetensors").exists():
        from heygem.testing.musetalk import random_musetalk

        started = time.perf_counter()
        random_musetalk(folder, seed=0, size="published")
        print(
            f"random weights in the published configurations written in {time.perf_counter() - started:.0f} s"
        )
    return folder


def per_frame(args, folder: Path) -> list[dict]:
    import numpy as np
    import torch

    from heygem.lipsync.musetalk import networks
    from heygem.lipsync.musetalk.model import MuseTalkModel
    from heygem.testing import synthetic

    files = networks.find_files(folder)
    model = MuseTalkModel(networks.read_unet(files), networks.read_vae(files), args.device)
    encoder = networks.read_whisper_encoder(files).to(model.device, model.dtype)
    face = next(synthetic.face_frames(1, (256, 256), face=220, move=False))
    rows = []
    for batch in [int(b) for b in args.batches.split(",")]:
        crops = np.stack([face] * batch)
        audio = torch.randn(batch, 50, 384).to(model.device, model.dtype)
        with torch.inference_mode():
            latents = model.latents(crops)
            predicted = model.unet(latents, model.timestep, encoder_hidden_states=audio).sample
            parts = {
                "vae encode": lambda crops=crops: model.latents(crops),
                "unet": lambda latents=latents, audio=audio: model.unet(
                    latents, model.timestep, encoder_hidden_states=audio
                ),
                "vae decode": lambda predicted=predicted: model.pixels(predicted),
            }
            runtimes = {"torch": parts}
            if "openvino" in args.runtimes and args.device == "cpu":
                runtimes["openvino"] = openvino_parts(model, crops, latents, audio, predicted)
            for runtime, todo in runtimes.items():
                if runtime not in args.runtimes:
                    continue
                for part, call in todo.items():
                    seconds = timed(call, args.calls) / batch
                    rows.append(
                        {"runtime": runtime, "batch": batch, "part": part, "seconds_per_frame": seconds}
                    )
                    print(f"  {runtime:<9} batch {batch} {part:<10} {seconds:7.2f} s/frame", flush=True)
    rows.append(wav2lip_per_frame(args))  # the same CPU, the same run: the engine it sits beside
    segment = torch.randn(1, 80, 3000).to(model.device, model.dtype)
    with torch.inference_mode():
        seconds = timed(lambda: encoder(segment, output_hidden_states=True), args.calls)
    rows.append({"runtime": "torch", "batch": 1, "part": "whisper per 30 s", "seconds_per_frame": seconds})
    return rows


def wav2lip_per_frame(args) -> dict:
    """Wav2Lip's network alone (torch fp32, batch 8: its CPU default), for comparison."""
    import numpy as np

    from heygem.lipsync.model import predict
    from heygem.testing import synthetic
    from heygem.testing.models import random_wav2lip

    model = random_wav2lip().to(args.device)
    faces = np.stack([next(synthetic.face_frames(1, (96, 96), face=80, move=False))] * 8)
    mels = np.random.default_rng(0).standard_normal((8, 80, 16)).astype(np.float32)
    seconds = timed(lambda: predict(model, mels, faces), args.calls) / 8
    print(f"  wav2lip   batch 8 network    {seconds:7.3f} s/frame", flush=True)
    return {
        "runtime": "torch",
        "batch": 8,
        "part": "wav2lip network (for comparison)",
        "seconds_per_frame": seconds,
    }


def openvino_parts(model, crops, latents, audio, predicted) -> dict:
    """The VAE encoder, UNet and VAE decoder compiled by OpenVINO f32 for the CPU."""
    import openvino as ov
    import torch

    from heygem.lipsync.musetalk.model import vae_pixels

    core = ov.Core()
    config = {"INFERENCE_PRECISION_HINT": "f32"}

    class Encode(torch.nn.Module):
        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, x):
            return self.vae.encode(x).latent_dist.mean

    class Decode(torch.nn.Module):
        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, z):
            return self.vae.decode(z).sample

    class Unet(torch.nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, z, condition):
            return self.unet(z, torch.zeros(1, dtype=torch.long), encoder_hidden_states=condition).sample

    pixels = torch.cat([vae_pixels(crops)] * 2)
    started = time.perf_counter()
    encode = core.compile_model(ov.convert_model(Encode(model.vae), example_input=pixels), "CPU", config)
    unet = core.compile_model(
        ov.convert_model(Unet(model.unet), example_input=(latents, audio)), "CPU", config
    )
    decode = core.compile_model(ov.convert_model(Decode(model.vae), example_input=predicted), "CPU", config)
    print(f"  openvino: converted and compiled in {time.perf_counter() - started:.0f} s", flush=True)
    return {
        "vae encode": lambda: encode(pixels.numpy()),
        "unet": lambda: unet((latents.numpy(), audio.numpy())),
        "vae decode": lambda: decode(predicted.numpy()),
    }


def timed(call, calls: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def end_to_end(args) -> dict:
    from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
    from heygem.media.narration import Narration
    from heygem.testing import synthetic

    work = args.work
    clip = work / f"still_{args.seconds:g}s_720p.mp4"
    if not clip.exists():
        synthetic.face_video(clip, args.seconds, size=(1280, 720), face=480, move=False)
    voice = synthetic.speech_wav(work / "voice.wav", args.seconds)
    settings = EngineSettings(
        engine="musetalk", checkpoint=work / "musetalk", device=args.device, track_cache_mb=0
    )
    syncer = load_syncer(settings, SyncOptions())
    result = syncer.run(Narration(voice), clip, work / "out.mp4", work / "chunks")
    return {
        "frames": result.frames,
        "seconds": round(result.seconds, 1),
        "frames_per_second": round(result.frames / result.seconds, 3),
        "stage_seconds": result.stage_seconds,
        "batch": syncer.engine.batch_size,
    }


def run_all(args, work: Path) -> int:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    print(f"CPU: {cpu}, {len(os.sched_getaffinity(0))} usable cores; load {loadavg()}")
    work.mkdir(parents=True, exist_ok=True)
    folder = weights(work)
    rows = per_frame(args, folder)
    print("\n| runtime | batch | part | s per frame |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['runtime']} | {row['batch']} | {row['part']} | {row['seconds_per_frame']:.2f} |")
    from heygem.testing.memory import peak_rss_mb

    record = {"cpu": cpu, "python": platform.python_version(), "per_frame": rows, "load_after": loadavg()}
    record["per_frame_peak_rss_mb"] = round(peak_rss_mb())  # every network (and conversion) of the run
    print(
        f"peak RSS of the per-frame runs: {record['per_frame_peak_rss_mb']} MB; load {record['load_after']}"
    )
    if args.end_to_end:
        record["end_to_end_720p"] = end_to_end_in_a_child(args, work)
        if record["end_to_end_720p"] is None:
            return 1
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "musetalk.json").write_text(json.dumps(record, indent=2))
    return 0


def end_to_end_in_a_child(args, work: Path) -> dict | None:
    """The end-to-end run in a fresh process (its peak RSS its own); None when it failed."""
    cmd = [sys.executable, __file__, "--child", "--work", str(work), "--seconds", str(args.seconds)]
    cmd += ["--device", args.device]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(proc.stderr[-3000:], file=sys.stderr)
        return None
    e2e = json.loads(line[len("RESULT ") :])
    print(f"\nend to end at 720p ({e2e['frames']} frames): {e2e['frames_per_second']} frames/s, ")
    print(f"peak RSS {e2e['peak_rss_mb']} MB, busy seconds {e2e['stage_seconds']}")
    print(f"load after: {loadavg()}")
    return e2e


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


if __name__ == "__main__":
    sys.exit(main())
