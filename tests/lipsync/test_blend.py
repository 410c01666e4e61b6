"""Around the model: the padded box, the crop and the paste."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from heygem.lipsync.blend import CROP_INTERPOLATION, crop_face, padded_box, paste, uncrop_face


def test_padded_box_pads_like_wav2lip_and_clamps():
    assert padded_box((100.4, 50.6, 200.0, 150.0), (0, 10, 0, 0), (720, 1280)) == (
        100,
        51,
        200,
        160,
    )
    assert padded_box((5, 5, 1275, 715), (20, 20, 20, 20), (720, 1280)) == (0, 0, 1280, 720)
    assert padded_box((-10, -5, 50, 40), (0, 10, 0, 0), (720, 1280)) == (0, 0, 50, 50)


def test_crop_and_uncrop_resize_like_the_reference():
    """cv2.resize's default (bilinear) both ways, as the original inference.py."""
    assert CROP_INTERPOLATION == cv2.INTER_LINEAR
    frame = np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    box = (200, 100, 420, 330)
    face = crop_face(frame, box)
    assert face.shape == (96, 96, 3) and face.dtype == np.uint8
    np.testing.assert_array_equal(face, cv2.resize(frame[100:330, 200:420], (96, 96)))
    back = uncrop_face(face, box)
    assert back.shape == (230, 220, 3)
    np.testing.assert_array_equal(back, cv2.resize(face, (220, 230)))


def test_paste_leaves_pixels_outside_the_mask_bit_identical():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    original = frame.copy()
    crop = (200, 100, 320, 232)  # x1 y1 x2 y2
    face = rng.integers(0, 256, (132, 120, 3), dtype=np.uint8)
    mask = np.zeros((132, 120), np.float32)
    mask[70:120, 20:100] = 1
    mask[60:70, 20:100] = 0.5
    paste(frame, face, crop, mask)
    changed = np.zeros((360, 640), bool)
    changed[100:232, 200:320] = mask > 0
    assert (frame[~changed] == original[~changed]).all()
    inside = frame[100:232, 200:320]
    assert (inside[mask == 1] == face[mask == 1]).all()
    half = (original[160:170, 220:300].astype(np.float32) + face[60:70, 20:100]) / 2
    assert np.abs(inside[60:70, 20:100] - half).max() <= 0.5 + 1e-3
    with pytest.raises(ValueError, match="crop"):
        paste(frame, face[:-1], crop, mask)
