"""Around the model: the padded crop box, the 96 x 96 crop and the paste (the mask that
decides which pixels change is :mod:`heygem.lipsync.masks`).

Every engine that changes a face goes through here. Frames are (H, W, 3) uint8 BGR.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_SIZE = 96  # Wav2Lip's face crop, pixels
# How a face box is resized to 96 x 96 and the model's face back to the box: cv2.resize's
# default, bilinear, as the original inference.py does both ways and as Wav2Lip's training
# code resized every crop it learned from. (INTER_AREA, used here before, averages instead:
# on 200-450 px faces its crops differed from the reference's by a mean of 1.3-2.4 and at
# most 55-60 levels, measured by bench/parity.py, so the network saw crops unlike the ones
# it was trained on.)
CROP_INTERPOLATION = cv2.INTER_LINEAR

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels


def padded_box(
    box: Box, pads: tuple[int, int, int, int], frame_hw: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Wav2Lip's --pads: pads = (top, bottom, left, right) pixels added around ``box`` (x1 y1
    x2 y2, pixels), clamped to the frame (H, W) -> integer x1, y1, x2, y2."""
    top, bottom, left, right = pads
    height, width = frame_hw
    x1, y1, x2, y2 = box

    def clamp(value: float, limit: int) -> int:
        return int(min(max(round(value), 0), limit))

    x1, x2 = clamp(x1 - left, width), clamp(x2 + right, width)
    return x1, clamp(y1 - top, height), x2, clamp(y2 + bottom, height)


def paste(frame: np.ndarray, face: np.ndarray, crop_box, mask: np.ndarray) -> None:
    """Blend ``face`` into frame[y1:y2, x1:x2] in place.

    frame (H, W, 3) uint8 BGR; face (h, w, 3) uint8 BGR of the crop box's size; crop_box
    integer x1 y1 x2 y2; mask (h, w) float32 in [0, 1]. Where mask is 0 the frame keeps its
    exact bytes (the float blend adds exactly 0 there and rounds back to the same value).
    """
    x1, y1, x2, y2 = (int(v) for v in crop_box)
    region = frame[y1:y2, x1:x2]
    if face.shape != region.shape or mask.shape != region.shape[:2]:
        raise ValueError(f"paste: face {face.shape} / mask {mask.shape} vs crop {region.shape}")
    original = region.astype(np.float32)
    alpha = mask[:, :, None]
    blended = original + alpha * (face.astype(np.float32) - original) + 0.5
    region[...] = blended.astype(np.uint8)


def crop_face(frame: np.ndarray, box: Box) -> np.ndarray:
    """frame (H, W, 3) uint8 BGR -> the box resized to (96, 96, 3) uint8 BGR."""
    x1, y1, x2, y2 = box
    return cv2.resize(frame[y1:y2, x1:x2], (FACE_SIZE, FACE_SIZE), interpolation=CROP_INTERPOLATION)


def uncrop_face(face: np.ndarray, box: Box) -> np.ndarray:
    """(96, 96, 3) uint8 BGR model output -> (y2 - y1, x2 - x1, 3) uint8 BGR, the box's size."""
    x1, y1, x2, y2 = box
    return cv2.resize(face, (x2 - x1, y2 - y1), interpolation=CROP_INTERPOLATION)
