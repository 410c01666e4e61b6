"""One benchmark measurement per process, printed as one line ``RESULT {json}``.

bench/bench.py runs these and makes the table; run one alone to measure a single point:

    .venv/bin/python bench/measure.py model-only --runtime torch --batch 8 --checkpoint C --cache D
    .venv/bin/python bench/measure.py pipeline --runtime torch --video V --audio A --checkpoint C \
        --cache D --out O
    .venv/bin/python bench/measure.py gate --checkpoint C --cache D
    .venv/bin/python bench/measure.py tolerance --checkpoint C --cache D
    .venv/bin/python bench/measure.py ceiling --video V --audio A --cache D --out O
    .venv/bin/python bench/measure.py narration --video V --audio A --cache D --out O
    .venv/bin/python bench/measure.py mask

Each result carries ``peak_rss_mb``, the process's own peak resident size. "pipeline" times
the narration's decode and mel too (the original's end-to-end time includes its own);
"ceiling" is the pipeline with the network replaced by a zero-cost one (crop and paste
kept): what decode, paste and x264 allow; "narration" runs the loudness engine (the
narration's memory, not the model's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heygem.testing.memory import peak_rss_mb  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="child", required=True)
    model = sub.add_parser("model-only")
    model.add_argument("--runtime"), model.add_argument("--batch", type=int)
    model.add_argument("--frames", type=int, default=192)
    model.add_argument("--checkpoint", type=Path), model.add_argument("--cache", type=Path)
    model.add_argument("--repeats", type=int, default=3)
    model.add_argument("--device", default="cpu")
    model.add_argument("--streams", type=int, help="OpenVINO streams (1: the LATENCY hint, as before)")
    tol = sub.add_parser("tolerance")
    tol.add_argument("--checkpoint", type=Path), tol.add_argument("--cache", type=Path)
    gate = sub.add_parser("gate")
    gate.add_argument("--checkpoint", type=Path), gate.add_argument("--cache", type=Path)
    for name in ("pipeline", "ceiling", "narration"):
        run = sub.add_parser(name)
        run.add_argument("--runtime", default="auto"), run.add_argument("--video", type=Path)
        run.add_argument("--audio", type=Path), run.add_argument("--checkpoint", type=Path)
        run.add_argument("--cache", type=Path), run.add_argument("--out", type=Path)
        run.add_argument("--batch", type=int), run.add_argument("--device", default="cpu")
        run.add_argument("--model-threads", type=int, help="OpenVINO threads (default: every core)")
        run.add_argument(
            "--model-streams", type=int, help="OpenVINO streams (1: the LATENCY hint, as before)"
        )
        run.add_argument(
            "--stage-nice", type=int, help="decode/encode niceness below the model (0: as before)"
        )
    sub.add_parser("mask")
    oom = sub.add_parser("oom")
    oom.add_argument("--checkpoint", type=Path), oom.add_argument("--batch", type=int)
    oom.add_argument("--device", default="cuda")
    args = parser.parse_args()
    children = {"model-only": model_only, "tolerance": tolerance, "oom": out_of_memory, "mask": mask}
    children.update(gate=int8_gate)
    children.update(pipeline=pipeline, ceiling=pipeline, narration=pipeline)
    measure = children[args.child]
    result = measure(args)
    result["peak_rss_mb"] = peak_rss_mb()  # its own: ru_maxrss would include this bench's parent
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def model_only(args) -> dict:
    """The network alone on realistic batches (astronaut crops, speech mels)."""

    from heygem.lipsync.calibration import calibration_batches
    from heygem.lipsync.runtimes import load_runtime

    runner = load_runtime(args.runtime, args.checkpoint, args.device, args.cache)
    if args.streams:  # the same graph on another number of streams
        from heygem.lipsync.openvino_runtime import OpenVinoRuntime

        runner = OpenVinoRuntime(runner.path, runner.name, streams=args.streams)
    batches = calibration_batches(max(1, 64 // 8))
    mels = np.concatenate([m for m, _ in batches])
    faces = np.concatenate([f for _, f in batches])
    pick = np.arange(args.batch) % len(faces)
    mels, faces = mels[pick], faces[pick]
    runner.predict(mels, faces)  # warm-up
    rates = []
    for _ in range(args.repeats):
        done, started = 0, time.perf_counter()
        while done < args.frames:
            runner.predict(mels, faces)
            done += args.batch
        rates.append(done / (time.perf_counter() - started))
    return {"fps": statistics.median(rates), "all": rates, **gpu_memory()}


def pipeline(args) -> dict:
    """One video through load_syncer + Syncer.run, as the CLI and the app do."""
    from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
    from heygem.media.narration import Narration

    peak = TreeRss()
    engine = {"pipeline": "wav2lip"}.get(args.child, "loudness")
    settings = EngineSettings(
        engine=engine,
        checkpoint=args.checkpoint,
        device=args.device,
        runtime=args.runtime,
        cache_dir=args.cache,
        batch_size=args.batch,
    )
    syncer = load_syncer(settings, SyncOptions())
    if args.stage_nice is not None:  # before and after: every stage at the model's priority
        syncer.options = SyncOptions(stage_nice=args.stage_nice)
    if args.child == "ceiling":
        from heygem.lipsync.engines import DEFAULT_BATCH, Wav2LipEngine

        batch = args.batch or DEFAULT_BATCH["openvino"]
        syncer.engine = Wav2LipEngine(ZeroCostRuntime(), batch, resume_key="zero-cost")
    if args.model_threads or args.model_streams:  # thread placement, streams (before and after)
        from heygem.lipsync.openvino_runtime import OpenVinoRuntime

        loaded = syncer.engine.runtime
        syncer.engine.runtime = OpenVinoRuntime(
            loaded.path, loaded.name, args.model_threads, args.model_streams
        )
    runtime = getattr(getattr(syncer.engine, "runtime", None), "name", "none")
    first_progress = []
    started = time.perf_counter()
    narration = Narration(args.audio)
    decoded = time.perf_counter() - started
    video_started = time.perf_counter()

    def progress(p):
        if not first_progress and p.stage != "probing":
            first_progress.append(time.perf_counter() - video_started)

    with tempfile.TemporaryDirectory() as work:
        result = syncer.run(narration, args.video, args.out, Path(work) / "w", progress)
    seconds = time.perf_counter() - started
    peak.stop()
    args.out.unlink(missing_ok=True)
    return {
        "runtime": runtime,
        "batch": getattr(syncer.engine, "batch_size", 0),
        "frames": result.frames,
        "seconds": seconds,
        "fps": result.frames / seconds,
        "stages": {**result.stage_seconds, "narration": round(decoded, 3)},
        "cached": result.track_cached,
        "first_progress_s": first_progress[0],
        "tree_peak_rss_mb": peak.peak / 2**20,
        **gpu_memory(),
    }


def gpu_memory() -> dict:
    """Peak GPU memory this process allocated through torch, when it used CUDA."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return {}
    return {"gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20, "gpu": torch.cuda.get_device_name()}


def out_of_memory(args) -> dict:
    """One render call of ``--batch`` faces on the GPU: a batch too large for it runs out of
    memory for real, and the engine halves it until it fits (heygem.lipsync.engines)."""
    from heygem.lipsync.calibration import calibration_batches
    from heygem.lipsync.engines import FaceRegion, create_engine

    engine = create_engine("wav2lip", args.checkpoint, args.device, args.batch, "torch")
    mels, faces = calibration_batches(1)[0]
    frames = [faces[k % 8].copy() for k in range(args.batch)]  # each frame is one 96 x 96 face
    regions = [FaceRegion((0, 0, 96, 96), None)] * args.batch
    started = time.perf_counter()
    engine.render(frames, regions, mels[np.arange(args.batch) % 8])
    return {"asked": args.batch, "batch_after": engine.batch_size, "seconds": time.perf_counter() - started}


class ZeroCostRuntime:
    """A network that costs nothing: returns the crops it is given (the pipeline's ceiling)."""

    name = "zero-cost"

    def predict(self, mels, faces):
        return faces.copy()


class TreeRss:
    """Samples the RSS of this process plus its children (the x264 encoder) every 0.2 s."""

    def __init__(self):
        import psutil

        self.peak, self._stop = 0, threading.Event()
        self._me = psutil.Process()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stop.wait(0.2):
            try:
                procs = [self._me, *self._me.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except Exception:  # a child that just ended
                continue

    def stop(self):
        self._stop.set()


def mask(args) -> dict:
    """Milliseconds to build one face's blend mask (mouth mode, default size and feather) for a
    300 x 300 face (made per frame; it was held under 2 ms by a timed test, now measured here)."""
    from heygem.lipsync.masks import MaskOptions, face_mask

    options = MaskOptions(mode="mouth")

    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(100):
            face_mask((0, 0, 300, 300), (100, 180, 200, 220), None, options)
        times.append((time.perf_counter() - started) / 100 * 1000)
    return {"mask_ms_median": round(statistics.median(times), 3), "mask_ms_min": round(min(times), 3)}


FLOAT_RUNTIMES = ("onnx", "openvino", "openvino-bf16")
INT8_RUNTIMES = ("onnx-int8", "openvino-int8")


def int8_gate(args) -> dict:
    """The int8 gate's verdict on ``--checkpoint`` (measured, or read back when this cache
    already has it) and the runtime ``auto`` then runs."""
    from dataclasses import asdict

    from heygem.lipsync.gate import choose_runtime, int8_verdict

    verdict = int8_verdict(args.checkpoint, args.cache)
    chosen, _ = choose_runtime("auto", args.checkpoint, "cpu", args.cache)
    return {**asdict(verdict), "summary": verdict.summary(), "chosen": chosen}


def tolerance(args) -> dict:
    """Each runtime's pixel difference from torch fp32 on held-out frames
    (:mod:`heygem.lipsync.heldout`, never the int8 calibration's), with a random model whose
    output conv is scaled up so that its faces span the pixel range (a random model's output
    is nearly flat, which would hide quantisation error), BatchNorm statistics like a trained
    model's; plus what each OpenVINO runtime really runs (its convolutions' precisions)."""
    from dataclasses import asdict

    from heygem.lipsync.heldout import differences, held_out_batch
    from heygem.lipsync.runtimes import load_runtime

    mels, faces = held_out_batch(64)
    plain = load_runtime("torch", args.checkpoint, "cpu").predict(mels, faces)
    result = {"output_std": float(plain.std()), "frames": len(faces)}
    for runtime in FLOAT_RUNTIMES + INT8_RUNTIMES:
        loaded = load_runtime(runtime, args.checkpoint, "cpu", args.cache)
        got = np.concatenate([loaded.predict(mels[k : k + 16], faces[k : k + 16]) for k in range(0, 64, 16)])
        result[runtime] = asdict(differences(got, plain))
        if hasattr(loaded, "conv_precisions"):
            result[runtime]["convolutions"] = loaded.conv_precisions()
    return result


if __name__ == "__main__":
    sys.exit(main())
