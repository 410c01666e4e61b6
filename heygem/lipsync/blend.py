"""Around the model: the padded crop box, the 96 x 96 crop, the mouth mask and the paste.

Every engine that changes a face goes through here: the crop it gives the model, and the
mask that decides which pixels of the frame change. Frames are (H, W, 3) uint8 BGR.
"""

from __future__ import annotations

import cv2
import numpy as np

FACE_SIZE = 96  # Wav2Lip's face crop, pixels

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


def mouth_mask(crop_hw: tuple[int, int], crop_box, mouth_box) -> np.ndarray:
    """Where the lip-synced face replaces the original inside a crop.

    crop_hw: (h, w) of the mask; crop_box: x1 y1 x2 y2 of the crop in frame pixels (it may be
    resized to crop_hw); mouth_box: outer-lip box in frame pixels, or None / NaN.
    Returns (h, w) float32 in [0, 1]: 1 over the lips, jaw and chin (from just under the nose
    to the crop bottom, cheek to cheek), exactly 0 on the crop's border, with smoothstep
    edges a quarter of the mouth width wide. Without a mouth: the feathered lower half of the crop.
    """
    height, width = crop_hw
    if mouth_box is None or np.isnan(np.asarray(mouth_box, np.float64)).any():
        feather = max(1.0, 0.12 * min(height, width))
        return _feathered_rect((height, width), (0.0, height / 2, width, height), feather)
    cx1, cy1, cx2, cy2 = (float(v) for v in crop_box)
    scale = np.array([width / (cx2 - cx1), height / (cy2 - cy1)] * 2)
    mx1, my1, mx2, _ = (np.asarray(mouth_box, np.float64) - [cx1, cy1, cx1, cy1]) * scale
    mouth_width = mx2 - mx1
    # Measured on the astronaut's mesh: the nose base is 0.17 mouth widths above the lips and
    # the jaw line 0.45 beyond each lip corner. The mask starts 0.3 widths above the lips
    # and, with a 0.25-width feather, is at full strength just above the upper lip.
    region = (mx1 - 0.45 * mouth_width, my1 - 0.3 * mouth_width, mx2 + 0.45 * mouth_width, height)
    return _feathered_rect((height, width), region, max(1.0, 0.25 * mouth_width))


def _feathered_rect(hw: tuple[int, int], region, feather: float) -> np.ndarray:
    """(h, w) float32: 0 outside ``region`` (x1 y1 x2 y2 pixels, clipped to the image) and on
    the image's border pixels, rising to 1 over ``feather`` pixels inward along a smoothstep.
    An outer product of two profiles: ~50 us for 300 x 300."""
    height, width = hw
    x1, y1, x2, y2 = region

    def profile(n: int, lo: float, hi: float) -> np.ndarray:
        centres = np.arange(n, dtype=np.float32) + 0.5
        inside = np.minimum(centres - max(lo, 0.5), min(hi, n - 0.5) - centres)
        t = np.clip(inside / feather, 0, 1)
        return t * t * (3 - 2 * t)

    return np.outer(profile(height, y1, y2), profile(width, x1, x2)).astype(np.float32)


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
    return cv2.resize(frame[y1:y2, x1:x2], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
