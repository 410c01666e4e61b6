"""How long "Preview 2 s" takes: the first 2 s of a 1280 x 720 clip, end to end on this machine.

    .venv/bin/python bench/preview.py [--repeats 3]

Through heygem.lipsync.TrialRender as the app runs it (probe, pass 1 on 50 frames, pass 2,
mux), with the overlay drawn, for the loudness engine and for Wav2Lip with random weights
(the default runtime, CPU). The first preview of a process also loads the models; it is timed apart.
Printed: seconds, first and then the median of the repeats (the face track then comes from
the cache, as when a user previews the same video again after changing the mask).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heygem.lipsync import EngineSettings, TrialRender  # noqa: E402
from heygem.testing import synthetic  # noqa: E402
from heygem.testing.models import random_checkpoint  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        clip = synthetic.face_video(folder / "lesson.mp4", 10.0, size=(1280, 720), face=480)
        audio = synthetic.speech_wav(folder / "narration.wav", 60.0)
        checkpoints = folder / "checkpoints"
        checkpoints.mkdir()
        random_checkpoint(checkpoints / "wav2lip.pth", seed=1, output_gain=30)
        print("| engine | first preview s (models load) | again s (median) |")
        print("|---|---|---|")
        for engine in ("loudness", "wav2lip"):
            settings = EngineSettings(engine=engine, device="cpu", checkpoint_dir=checkpoints)
            trials = TrialRender(folder / f"trials-{engine}", settings)
            started = time.perf_counter()
            trials.render(audio, clip)
            first = time.perf_counter() - started
            again = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                trials.render(audio, clip, {"mask": "mouth"})
                again.append(time.perf_counter() - started)
            print(f"| {engine} | {first:.1f} | {statistics.median(again):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
