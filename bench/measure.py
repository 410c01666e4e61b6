"""One benchmark measurement per process, printed as one line ``RESULT {json}``.

bench/bench.py runs these and makes the table; run one alone to measure a single point:

    .venv/bin/python bench/measure.py model-only --runtime torch --batch 8 --checkpoint C --cache D
    .venv/bin/python bench/measure.py pipeline --runtime torch --video V --audio A --checkpoint C \
        --cache D --out O
    .venv/bin/python bench/measure.py tolerance --cache D
    .venv/bin/python bench/measure.py mask

Each result carries ``peak_rss_mb``, the process's own peak resident size.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="child", required=True)
    model = sub.add_parser("model-only")
    model.add_argument("--runtime"), model.add_argument("--batch", type=int)
    model.add_argument("--frames", type=int, default=192)
    model.add_argument("--checkpoint", type=Path), model.add_argument("--cache", type=Path)
    model.add_argument("--repeats", type=int, default=3)
    tol = sub.add_parser("tolerance")
    tol.add_argument("--cache", type=Path)
    sub.add_parser("mask")
    run = sub.add_parser("pipeline")
    run.add_argument("--runtime"), run.add_argument("--video", type=Path)
    run.add_argument("--audio", type=Path), run.add_argument("--checkpoint", type=Path)
    run.add_argument("--cache", type=Path), run.add_argument("--out", type=Path)
    args = parser.parse_args()
    measure = {"model-only": model_only, "pipeline": pipeline, "tolerance": tolerance, "mask": mask}[
        args.child
    ]
    result = measure(args)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def model_only(args) -> dict:
    """The network alone on realistic batches (astronaut crops, speech mels)."""
    import numpy as np

    from heygem.lipsync.calibration import calibration_batches
    from heygem.lipsync.runtimes import load_runtime

    runner = load_runtime(args.runtime, args.checkpoint, "cpu", args.cache)
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
    return {"fps": statistics.median(rates), "all": rates}


def pipeline(args) -> dict:
    """One video through load_syncer + Syncer.run, as the CLI and the app do."""
    from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
    from heygem.media.audio import Narration

    peak = _TreeRss()
    started = time.perf_counter()
    settings = EngineSettings(
        engine="wav2lip", checkpoint=args.checkpoint, device="cpu", runtime=args.runtime, cache_dir=args.cache
    )
    syncer = load_syncer(settings, SyncOptions())
    load_seconds = time.perf_counter() - started
    narration = Narration(args.audio)
    first_progress = []
    video_started = time.perf_counter()

    def progress(p):
        if not first_progress and p.stage != "probing":
            first_progress.append(time.perf_counter() - video_started)

    with tempfile.TemporaryDirectory() as work:
        result = syncer.run(narration, args.video, args.out, Path(work) / "w", progress)
    seconds = time.perf_counter() - video_started
    peak.stop()
    args.out.unlink(missing_ok=True)
    return {
        "frames": result.frames,
        "seconds": seconds,
        "fps": result.frames / seconds,
        "stages": result.stage_seconds,
        "cached": result.track_cached,
        "load_seconds": load_seconds,
        "first_progress_s": first_progress[0],
        "tree_peak_rss_mb": peak.peak / 2**20,
    }


class _TreeRss:
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
    """Milliseconds to build one feathered mouth mask for a 300 x 300 face (made per frame;
    it was held under 2 ms by a timed test, now measured here)."""
    from heygem.lipsync.blend import mouth_mask

    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(100):
            mouth_mask((300, 300), (0, 0, 300, 300), (100, 180, 200, 220))
        times.append((time.perf_counter() - started) / 100 * 1000)
    return {"mask_ms_median": round(statistics.median(times), 3), "mask_ms_min": round(min(times), 3)}


def tolerance(args) -> dict:
    """Max / mean pixel difference of each runtime against torch fp32, on a random model
    whose output conv is scaled up so that its faces span the pixel range (a random model's
    output is nearly flat, which would hide quantisation error), with BatchNorm statistics
    like a trained model's."""
    import numpy as np

    from heygem.lipsync.calibration import calibration_batches
    from heygem.lipsync.checkpoint import save_checkpoint
    from heygem.lipsync.runtimes import load_runtime
    from heygem.testing.models import random_wav2lip

    model = random_wav2lip(seed=1, output_gain=30)
    args.cache.mkdir(parents=True, exist_ok=True)
    checkpoint = args.cache / "wav2lip_spread.pth"
    save_checkpoint(model, checkpoint)
    batches = calibration_batches(12)[4:]  # not the calibration set
    mels = np.concatenate([m for m, _ in batches])
    faces = np.concatenate([f for _, f in batches])
    outputs = {
        r: load_runtime(r, checkpoint, "cpu", args.cache).predict(mels, faces).astype(int)
        for r in ("torch", "onnx", "onnx-int8")
    }
    result = {"output_std": float(outputs["torch"].std())}
    for runtime in ("onnx", "onnx-int8"):
        diff = np.abs(outputs[runtime] - outputs["torch"])
        result[runtime] = {
            "max": int(diff.max()),
            "mean": float(diff.mean()),
            "p99": float(np.percentile(diff, 99)),
        }
    return result


if __name__ == "__main__":
    sys.exit(main())
