"""The loudness engine: needs no weights, opens the real mouth by the narration's energy.

It warps the lower lip and jaw down by the speech energy of the frame's own mel window and
darkens the gap (closed in silence), pasted through the same mask as Wav2Lip's face (so the
mask settings can be tuned before the weights arrive). Not real lip-sync, but real work on a
fresh install, and because its output is a known function of the audio the tests use it to
prove frame/audio alignment end to end.
"""

from __future__ import annotations

import cv2
import numpy as np

from heygem.lipsync.blend import Box, paste
from heygem.lipsync.masks import estimated_mouth
from heygem.media.narration import WAV2LIP_MEL

SPEECH_BANDS = slice(8, 56)  # mel bands of roughly 300-3500 Hz, where speech energy lives
NOW_COLUMNS = 3  # mel frames (37.5 ms) at the start of the window: the audio of this frame
SILENCE_LEVEL = -3.2  # mean normalised mel level at or below which the mouth is closed
LOUD_LEVEL = 0.5  # level at which the mouth is fully open
MAX_OPENING = 0.45  # jaw drop at full opening, as a fraction of the mouth width
INTERIOR_BGR = np.array([38, 32, 78], dtype=np.float32)  # dark red mouth interior


def mouth_openness(mels: np.ndarray) -> np.ndarray:
    """Speech energy of each frame's own audio -> how far its mouth opens.

    mels: (B, 80, 16) float32 windows (normalised mel, [-4, 4]); returns (B,) float32 in [0, 1],
    0 in silence. Uses only the first columns of each window, i.e. the audio of the frame itself.
    """
    level = mels[:, SPEECH_BANDS, :NOW_COLUMNS].mean(axis=(1, 2))
    x = np.clip((level - SILENCE_LEVEL) / (LOUD_LEVEL - SILENCE_LEVEL), 0.0, 1.0)
    return (x * x * (3 - 2 * x)).astype(np.float32)  # smoothstep: eases in and out


class LoudnessEngine:
    """Engine "loudness" (called "preview" up to 0.2: :data:`heygem.settings.ENGINE_ALIASES`)."""

    name = "loudness"
    batch_size = 32
    resume_key = "loudness-v1"  # bump when the mouth it draws changes
    audio_features = WAV2LIP_MEL  # the speech energy comes from the mel windows

    def render(self, frames, faces, mels) -> None:
        openness = mouth_openness(mels)
        for frame, face, amount in zip(frames, faces, openness, strict=True):
            if face is not None and amount > 0.01:
                opened = _open_mouth(frame, face.crop, face.mouth or estimated_mouth(face.crop), amount)
                paste(frame, opened, face.crop, face.blend_mask())


def _open_mouth(frame: np.ndarray, crop: Box, mouth, amount: float) -> np.ndarray:
    """The crop region of ``frame`` (H, W, 3) uint8 BGR with the lower lip and jaw dropped by
    ``amount`` (0..1) and the gap darkened: (h, w, 3) uint8 BGR, the crop's size."""
    x1, y1, x2, y2 = crop
    mx1, my1, mx2, my2 = mouth
    width = max(mx2 - mx1, 4.0)
    drop = amount * MAX_OPENING * width  # pixels
    cx, lip_y = (mx1 + mx2) / 2 - x1, (my1 + my2) / 2 - y1  # crop coordinates
    roi = frame[y1:y2, x1:x2]
    h, w = roi.shape[:2]
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    across = np.exp(-(((xs - cx) / (0.8 * width)) ** 2))  # strongest under the mouth centre
    across *= np.clip(np.minimum(xs, w - 1 - xs) / (0.1 * w), 0, 1)  # zero at the crop sides
    chin_y = lip_y + 0.55 * (h - lip_y)
    jaw = np.clip((h - 1 - ys) / max(h - 1 - chin_y, 1.0), 0, 1)  # zero at the crop bottom
    below = np.clip((ys - lip_y) / max(drop, 1.0), 0, 1)  # ramps in just under the lip line
    shift = drop * across * jaw * below
    map_x = np.broadcast_to(xs, (h, w)).astype(np.float32)
    map_y = (ys - shift).astype(np.float32)
    warped = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    gap = np.zeros((h, w), np.float32)
    half_h = max(drop / 2, 0.5)
    centre = (round(cx), round(lip_y + half_h))
    cv2.ellipse(gap, centre, (round(0.36 * width), round(half_h)), 0, 0, 360, 1.0, -1)
    gap = cv2.GaussianBlur(gap, (0, 0), 1.0 + 0.12 * half_h)[..., None] * min(1.0, 3 * amount)
    out = warped.astype(np.float32) * (1 - gap) + INTERIOR_BGR * gap
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
