"""Held-out network inputs: faces and mel windows the int8 calibration never saw.

A runtime's tolerance against torch fp32 is measured on these (tests, ``bench/``), never on
:func:`heygem.lipsync.calibration.calibration_batches`, whose activation ranges int8 was
fitted to. Same real face (the astronaut), other crops: offsets and scales outside the
calibration's sway, and the mel windows of other speech-like audio (another seed).
"""

from __future__ import annotations

import numpy as np

HELD_OUT_SEED = 11  # speech_like seed; the calibration's is 7


def held_out_batch(size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(mels (size, 80, 16) float32, faces (size, 96, 96, 3) uint8 BGR), each face cropped
    4-13 px wider than the calibration's and shifted by up to 8 px, resized as the pipeline
    resizes its crops."""
    from heygem.lipsync.blend import crop_face
    from heygem.lipsync.calibration import FACE_CROP, FPS, HEAD_SIZE, astronaut_bgr, speech_like
    from heygem.media import audio

    head = astronaut_bgr(HEAD_SIZE)
    x1, y1, x2, y2 = FACE_CROP
    faces = []
    for i in range(size):
        grow = 4 + 3 * (i % 4)  # px added round the crop: the calibration adds none
        dx, dy = (-8, -4, 6, 0)[i % 4], (3, -6, 0, 8)[i // 4 % 4]
        faces.append(crop_face(head, (x1 - grow + dx, y1 - grow + dy, x2 + grow + dx, y2 + grow + dy)))
    mel = audio.mel_spectrogram(speech_like(size / FPS + 0.5, seed=HELD_OUT_SEED))
    mels = audio.mel_windows(mel, audio.mel_window_starts(np.arange(size), FPS, mel.shape[1]))
    return mels, np.stack(faces)


def differences(got: np.ndarray, reference: np.ndarray) -> dict:
    """Pixel-level difference of two (B, 96, 96, 3) uint8 outputs: max, mean, 99th percentile."""
    diff = np.abs(got.astype(int) - reference.astype(int))
    return {"max": int(diff.max()), "mean": float(diff.mean()), "p99": float(np.percentile(diff, 99))}
