"""Parity with the original Wav2Lip inference step, before and after the crop resize change.

    .venv/bin/python bench/parity.py [--widths 90 200 450] [--runtime torch]

For each face width, one 1280 x 720 frame with the astronaut's face that wide, its detected
box padded as the pipeline does, one mel window of speech-like audio, and a random model whose
output spans the pixel range (heygem.testing.models.random_wav2lip(output_gain=30)). The
reference is heygem.testing.reference (the original's steps restated). "before" crops with
INTER_AREA, as this engine did until issue 12; "after" is the engine as it is (INTER_LINEAR,
the reference's). Printed: the network input's difference from the reference's (pixel
levels: max, mean), and the pasted pixels' inside the region our mask replaces whole (max,
mean, PSNR in dB).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heygem.faces import Landmarker, create_detector  # noqa: E402
from heygem.lipsync import engines  # noqa: E402
from heygem.lipsync.blend import crop_face, padded_box, paste, uncrop_face  # noqa: E402
from heygem.lipsync.checkpoint import save_checkpoint  # noqa: E402
from heygem.lipsync.engines import FaceRegion  # noqa: E402
from heygem.lipsync.masks import MaskOptions  # noqa: E402
from heygem.media.audio import mel_spectrogram, mel_window_starts, mel_windows  # noqa: E402
from heygem.settings import DEFAULT_PADS  # noqa: E402
from heygem.testing.models import random_wav2lip  # noqa: E402
from heygem.testing.reference import reference_input, reference_step  # noqa: E402
from heygem.testing.synthetic import centred_face, speech_like  # noqa: E402


def scene(width: int, detector, landmarker) -> tuple[np.ndarray, FaceRegion]:
    """1280 x 720 BGR with the astronaut's face ``width`` px wide in the middle, and its region."""
    frame = centred_face(width)
    box = detector.detect(frame)[0].box
    shape = landmarker.shape(frame, box)
    crop = padded_box(box, DEFAULT_PADS, frame.shape[:2])
    return frame, FaceRegion(crop, tuple(map(float, shape.mouth)), shape.jaw, MaskOptions())


def before(engine, frame: np.ndarray, face: FaceRegion, mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The engine's step with INTER_AREA crops: (its 96 x 96 crop, the frame it pastes)."""
    x1, y1, x2, y2 = face.crop
    crop = cv2.resize(frame[y1:y2, x1:x2], (96, 96), interpolation=cv2.INTER_AREA)
    predicted = engine.runtime.predict(mel[None], crop[None])[0]
    out = frame.copy()
    paste(out, uncrop_face(predicted, face.crop), face.crop, face.blend_mask())
    return crop, out


def after(engine, frame: np.ndarray, face: FaceRegion, mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The engine as it is: (the crop it hands the network, crop_face's, the frame it pastes)."""
    out = frame.copy()
    engine.render([out], [face], mel[None])
    return crop_face(frame, face.crop), out


def compare(crop, out, reference_faces, reference_frame, where) -> dict:
    faces = crop.transpose(2, 0, 1).astype(np.float64)
    inputs = np.abs(faces - reference_faces[0, 3:] * 255)
    pixels = np.abs(out[where].astype(np.float64) - reference_frame[where])
    mse = float(np.mean(pixels**2))
    psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
    return {
        "in_max": inputs.max(),
        "in_mean": inputs.mean(),
        "px_max": pixels.max(),
        "px_mean": pixels.mean(),
        "psnr": psnr,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[90, 200, 450])
    parser.add_argument("--runtime", default="torch")
    args = parser.parse_args()
    model = random_wav2lip(seed=1, output_gain=30)
    full = mel_spectrogram(speech_like(3.0))
    mel = mel_windows(full, mel_window_starts(np.array([40]), 25.0, full.shape[1]))[0]
    detector, landmarker = create_detector("blazeface"), Landmarker()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "wav2lip_spread.pth"
        save_checkpoint(model, checkpoint)
        engine = engines.create_engine("wav2lip", checkpoint, "cpu", 1, args.runtime, Path(folder))
        for width in args.widths:
            frame, face = scene(width, detector, landmarker)
            reference_faces, _ = reference_input(frame, face.crop, mel)
            reference_frame = reference_step(model, frame, face.crop, mel).frame
            where = np.zeros(frame.shape[:2], bool)
            x1, y1, x2, y2 = face.crop
            where[y1:y2, x1:x2] = face.blend_mask() == 1
            row = {"width": width, "box": f"{x2 - x1}x{y2 - y1}"}
            for name, step in (("before", before), ("after", after)):
                row[name] = compare(*step(engine, frame, face, mel), reference_faces, reference_frame, where)
            rows.append(row)
    print(f"Parity with the original inference step (runtime {args.runtime}; pixel levels; PSNR dB)")
    print(
        "| face px | crop box | input max / mean: before -> after | pasted max / mean / PSNR: before -> after |"
    )
    print("|---|---|---|---|")
    for row in rows:
        b, a = row["before"], row["after"]
        print(
            f"| {row['width']} | {row['box']} | {b['in_max']:.0f} / {b['in_mean']:.2f} -> {a['in_max']:.0f} / "
            f"{a['in_mean']:.2f} | {b['px_max']:.0f} / {b['px_mean']:.2f} / {b['psnr']:.1f} -> "
            f"{a['px_max']:.0f} / {a['px_mean']:.2f} / {a['psnr']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
