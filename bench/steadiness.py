"""How steady the face crop is, before and after issue 12, on a still and a sweeping face.

    .venv/bin/python bench/steadiness.py [--seconds 8] [--before 6a28bcf]

Two generated 1280 x 720, 25 fps clips of the scikit-image astronaut (a real face; head
480 px, face box ~150 px): "still" (a tripod presenter: not moving, with camera noise of
sigma 4 levels under x264 CRF 23) and "sweep" (the bench clip: 260 px each way every 4 s).
Each is tracked by the code of git ref ``--before`` (extracted with ``git archive`` into a
temporary folder) and by this working tree, in child processes, with the default settings;
per-frame detection (keyframe interval 1, no smoothing) of the same code is the reference.

Printed per clip and code: distinct crop boxes (the padded integer box the model's crop is
cut from), the crop's frame-to-frame step and its jerk (second difference; a still face
should have 0, a sweeping one a step of its own motion and little jerk), its error from the
true motion of the head (known here; after removing the box's constant offset on the head),
its IoU with per-frame detection, and, on the still clip, the PSNR between the original
inference pasting with these boxes and with one fixed box (its own --box; the issue measured
9-11 dB before), all px / dB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIZE, FACE = (1280, 720), 480  # frame size, astronaut head square (px), as bench/bench.py
PSNR_FRAMES = 25  # frames of the still clip pasted by the reference (a forward pass each)


def make_clips(folder: Path, seconds: float) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from heygem.testing import synthetic

    n = round(seconds * 25)
    rng = np.random.default_rng(0)
    still = (
        np.clip(f + rng.normal(0, 4.0, f.shape), 0, 255).astype(np.uint8)
        for f in synthetic.face_frames(n, SIZE, face=FACE, move=False)
    )
    return {
        "still": synthetic.write_video(folder / "still.mp4", still, size=SIZE, extra={"crf": 23}),
        "sweep": synthetic.face_video(folder / "sweep.mp4", seconds, size=SIZE, face=FACE),
    }


def track(clip: Path) -> dict:
    """Child process: the track with default settings and plain per-frame detection, with
    whatever heygem is first on sys.path (the old code or this tree)."""
    import inspect
    import time

    from heygem.faces import BlazeFaceDetector, Landmarker
    from heygem.faces.trackpass import TrackSettings, face_track
    from heygem.lipsync.blend import padded_box
    from heygem.media import video

    info = video.probe(clip)
    models = BlazeFaceDetector(), Landmarker()
    plain = {"interval": 1, "smooth_window": 1}
    if "steady" in inspect.signature(TrackSettings).parameters:
        plain["steady"] = False
    out = {}
    for name, settings in (("default", TrackSettings()), ("per_frame", TrackSettings(**plain))):
        started = time.perf_counter()
        result = face_track(info, info.n_frames, *models, settings, None, lambda *_: None)
        boxes = result.track.boxes
        crops = [padded_box(b, (0, 10, 0, 0), (info.height, info.width)) for b in boxes]
        out[name] = {
            "boxes": boxes.tolist(),
            "crops": [list(c) for c in crops],
            "detected": result.detected_frames,
            "seconds": time.perf_counter() - started,
        }
    return out


def run_child(code_root: Path, clip: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    cmd = [sys.executable, str(ROOT / "bench" / "steadiness.py"), "--child", str(clip)]
    proc = subprocess.run(cmd, env=env, cwd=code_root, capture_output=True, text=True, check=True)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def extract(ref: str, folder: Path) -> Path:
    """The ``heygem`` package of git ``ref``, unpacked under ``folder``."""
    archive = subprocess.run(
        ["git", "archive", ref, "heygem"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    tar = folder / "before.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as unpacked:
        unpacked.extractall(folder / "before", filter="data")
    return folder / "before"


def measures(result: dict, clip: str, n: int) -> dict:
    """Figures of one code's track of one clip."""
    sys.path.insert(0, str(ROOT))
    from heygem.faces.blazeface import iou
    from heygem.testing import synthetic

    boxes = np.array(result["default"]["boxes"], np.float64)
    crops = np.array(result["default"]["crops"], np.float64)
    detected = np.array(result["per_frame"]["boxes"], np.float64)
    step = np.abs(np.diff(crops, axis=0)).max(axis=1)
    jerk = np.abs(np.diff(crops, n=2, axis=0)).max(axis=1)
    motion = np.tile(synthetic.head_offsets(n, SIZE, FACE, move=clip == "sweep"), 2).astype(np.float64)
    error = boxes - motion
    error = np.abs(error - np.median(error, axis=0)).max(axis=1)
    overlaps = np.array([iou(a, b[None])[0] for a, b in zip(detected, boxes, strict=True)])
    return {
        "distinct": len({tuple(c) for c in crops.tolist()}),
        "step": (np.median(step), step.max()),
        "jerk": (np.median(jerk), jerk.max()),
        "error": (np.median(error), error.max()),
        "iou": (overlaps.min(), overlaps.mean()),
        "detected": result["default"]["detected"] / n,
        "seconds": result["default"]["seconds"],
    }


def pasted_psnr(clip: Path, crops: np.ndarray) -> float:
    """dB between the reference pasting each of the first PSNR_FRAMES frames with its own crop
    box and with the first frame's box (the original's fixed --box), over that box."""
    sys.path.insert(0, str(ROOT))
    from heygem.media import video
    from heygem.media.audio import mel_spectrogram, mel_window_starts, mel_windows
    from heygem.testing.models import random_wav2lip
    from heygem.testing.reference import reference_step
    from heygem.testing.synthetic import speech_like

    model = random_wav2lip(seed=1, output_gain=30)
    info = video.probe(clip)
    full = mel_spectrogram(speech_like(PSNR_FRAMES / 25 + 1))
    mels = mel_windows(full, mel_window_starts(np.arange(PSNR_FRAMES), 25.0, full.shape[1]))
    fixed = crops[0].astype(int)
    x1, y1, x2, y2 = fixed
    errors = []
    for k, frame in enumerate(video.read_frames(info, range(PSNR_FRAMES))):
        ours = reference_step(model, frame, crops[k].astype(int), mels[k]).frame[y1:y2, x1:x2]
        theirs = reference_step(model, frame, fixed, mels[k]).frame[y1:y2, x1:x2]
        errors.append(np.mean((ours.astype(np.float64) - theirs) ** 2))
    mse = float(np.mean(errors))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    # 6a28bcf: the commit issue 12 started from (its tracks: moving average only, no hold)
    parser.add_argument("--before", default="6a28bcf", help="git ref of the code before (default: 6a28bcf)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(track(args.child)), flush=True)
        return 0
    n = round(args.seconds * 25)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        clips = make_clips(folder, args.seconds)
        codes = {"before": extract(args.before, folder), "after": ROOT}
        rows = []
        for clip_name, clip in clips.items():
            for code_name, code in codes.items():
                result = run_child(code, clip)
                row = measures(result, clip_name, n)
                if clip_name == "still":
                    row["psnr"] = pasted_psnr(clip, np.array(result["default"]["crops"]))
                rows.append((clip_name, code_name, row))
    print(f"Crop steadiness, {args.seconds:g} s clips, 1280x720, face box ~150 px (before = {args.before})")
    print(
        "| clip | code | distinct crops | step px med / max | jerk px med / max | error px med / max | IoU vs per-frame min / mean | detector on | detect s | pasted vs fixed box dB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for clip_name, code_name, r in rows:
        psnr = f"{r['psnr']:.1f}" if "psnr" in r else "-"
        print(
            f"| {clip_name} | {code_name} | {r['distinct']} | {r['step'][0]:.0f} / {r['step'][1]:.0f} | "
            f"{r['jerk'][0]:.0f} / {r['jerk'][1]:.0f} | {r['error'][0]:.2f} / {r['error'][1]:.2f} | "
            f"{r['iou'][0]:.3f} / {r['iou'][1]:.3f} | {100 * r['detected']:.0f} % | {r['seconds']:.1f} | {psnr} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
