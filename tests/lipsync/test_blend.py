"""Around the model: the padded box, the mouth mask and the paste."""

from __future__ import annotations

import numpy as np
import pytest

from heygem.lipsync.blend import mouth_mask, padded_box, paste


def test_padded_box_pads_like_wav2lip_and_clamps():
    assert padded_box((100.4, 50.6, 200.0, 150.0), (0, 10, 0, 0), (720, 1280)) == (
        100,
        51,
        200,
        160,
    )
    assert padded_box((5, 5, 1275, 715), (20, 20, 20, 20), (720, 1280)) == (0, 0, 1280, 720)
    assert padded_box((-10, -5, 50, 40), (0, 10, 0, 0), (720, 1280)) == (0, 0, 50, 50)


def test_mouth_mask_covers_the_mouth_with_soft_edges():
    crop_box = (100, 50, 300, 270)  # 200 x 220
    mouth = (160, 190, 240, 215)
    mask = mouth_mask((220, 200), crop_box, mouth)
    assert mask.shape == (220, 200) and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() <= 1
    assert (mask[:100] == 0).all()  # eyes and nose untouched
    assert mask[150:170, 80:120].min() == 1  # lips (crop rows 140-165, columns 60-140)
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert (border == 0).all()  # the crop's edge never shows a seam
    assert np.abs(np.diff(mask, axis=0)).max() < 0.2 and np.abs(np.diff(mask, axis=1)).max() < 0.2
    assert ((mask > 0.05) & (mask < 0.95)).sum() > 1000  # a real feather, not a step


def test_mouth_mask_falls_back_to_the_lower_half():
    for mouth in (None, (np.nan,) * 4):
        mask = mouth_mask((96, 96), (0, 0, 96, 96), mouth)
        assert (mask[:48] == 0).all() and (mask[-1] == 0).all()
        assert mask[70, 48] == 1
        assert 0 < mask[52, 48] < 1


def test_paste_leaves_pixels_outside_the_mask_bit_identical():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    original = frame.copy()
    crop = (200, 100, 320, 232)  # x1 y1 x2 y2
    face = rng.integers(0, 256, (132, 120, 3), dtype=np.uint8)
    mask = mouth_mask((132, 120), crop, (240, 180, 280, 195))
    paste(frame, face, crop, mask)
    changed = np.zeros((360, 640), bool)
    changed[100:232, 200:320] = mask > 0
    assert (frame[~changed] == original[~changed]).all()
    inside = frame[100:232, 200:320]
    assert (inside[mask == 1] == face[mask == 1]).all()
    assert (frame[changed] != original[changed]).any()
    with pytest.raises(ValueError, match="crop"):
        paste(frame, face[:-1], crop, mask)
