"""The blend mask: its two modes, size and feather, its fallbacks, and its drawing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from heygem.faces import Landmarker, create_detector
from heygem.lipsync import engines
from heygem.lipsync.blend import padded_box
from heygem.lipsync.engines import FaceRegion
from heygem.lipsync.masks import MOUTH_ABOVE, MOUTH_BELOW, MOUTH_SIDE, MaskOptions, draw_outline, face_mask
from heygem.settings import DEFAULT_PADS
from heygem.testing import synthetic


@pytest.fixture(scope="module")
def face():
    """A still astronaut frame (640 x 360, BGR) with its crop box, lip box and jaw line."""
    frame = next(synthetic.face_frames(1, (640, 360), face=300, move=False))
    box = create_detector("blazeface").detect(frame)[0].box
    shape = Landmarker().shape(frame, box)
    crop = padded_box(box, DEFAULT_PADS, frame.shape[:2])
    return frame, crop, tuple(map(float, shape.mouth)), shape.jaw


def polygon_mask(frame_hw, points, grow: float) -> np.ndarray:
    """(H, W) bool: inside the polygon (frame pixels), dilated by ``grow`` pixels."""
    inside = np.zeros(frame_hw, np.uint8)
    cv2.fillPoly(inside, [np.round(points).astype(np.int32)], 1)
    if grow > 0:
        inside = (cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5) <= grow).astype(np.uint8)
    return inside.astype(bool)


def in_frame(mask, crop, frame_hw) -> np.ndarray:
    """A crop-sized mask placed in an (H, W) frame."""
    out = np.zeros(frame_hw, mask.dtype)
    x1, y1, x2, y2 = crop
    out[y1:y2, x1:x2] = mask
    return out


@pytest.mark.parametrize("mode", ["face", "mouth"])
def test_each_mode_stays_inside_its_outline(face, mode):
    frame, crop, mouth, jaw = face
    options = MaskOptions(mode, size=5, feather=10)
    mask = face_mask(crop, mouth, jaw, options)
    x1, y1, x2, y2 = crop
    width, height = x2 - x1, y2 - y1
    assert mask.shape == (height, width) and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() == 1
    assert (mask[: round(height / 2 - 0.05 * width)] == 0).all()  # the half the model saw: no
    assert (mask[: height // 2] <= 0.55).all()  # (the fade is centred on the line, feather 10 %)
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert (border == 0).all()  # no seam at the crop's edge
    grow = 0.05 * width + 2  # size 5 %, plus the resize from the mask's working size
    allowed = polygon_mask(frame.shape[:2], jaw, grow)
    if mode == "mouth":
        lip_width = mouth[2] - mouth[0]
        ellipse = np.zeros(frame.shape[:2], np.uint8)
        top, bottom = mouth[1] - MOUTH_ABOVE * lip_width, mouth[3] + MOUTH_BELOW * lip_width
        centre = ((mouth[0] + mouth[2]) / 2, (top + bottom) / 2)
        axes = ((0.5 + MOUTH_SIDE) * lip_width + grow, (bottom - top) / 2 + grow)
        cv2.ellipse(ellipse, tuple(map(round, centre)), tuple(map(round, axes)), 0, 0, 360, 1, -1)
        allowed &= ellipse.astype(bool)
    placed = in_frame(mask, crop, frame.shape[:2])
    assert not (placed[~allowed] > 0).any()
    lip_width = mouth[2] - mouth[0]
    lips = placed[
        round(mouth[1]) : round(mouth[3]),
        round(mouth[0] + 0.2 * lip_width) : round(mouth[2] - 0.2 * lip_width),
    ]
    assert lips.min() > 0.9  # the lips are replaced whole (their box's corners are not lips)
    assert ((mask > 0.05) & (mask < 0.95)).sum() > 0.1 * (mask > 0).sum()  # a real feather


def test_mouth_mode_is_tighter_size_grows_and_feather_zero_is_hard(face):
    _, crop, mouth, jaw = face
    area = {mode: face_mask(crop, mouth, jaw, MaskOptions(mode)).sum() for mode in ("face", "mouth")}
    assert area["mouth"] < 0.8 * area["face"]
    sizes = [face_mask(crop, mouth, jaw, MaskOptions("face", size=s)).sum() for s in (-10, 0, 10, 30)]
    assert sizes == sorted(sizes) and sizes[0] > 0
    hard = face_mask(crop, mouth, jaw, MaskOptions("face", feather=0))
    assert set(np.unique(hard)) <= {0.0, 1.0}


def test_without_a_mesh_the_mask_falls_back_to_the_crop_shape(face):
    _, crop, mouth, jaw = face
    for mode in ("face", "mouth"):
        mask = face_mask(crop, None, None, MaskOptions(mode))
        h, w = mask.shape
        assert (mask[: h // 2] <= 0.55).all() and mask[round(0.74 * h), w // 2] == 1
    small = face_mask((0, 0, 40, 40), None, None, MaskOptions())  # a tiny face still works
    assert small.shape == (40, 40) and small.max() > 0.5


@pytest.mark.parametrize("mode", ["face", "mouth"])
def test_engine_changes_only_pixels_inside_the_mask(face, random_checkpoint, mode):
    frame, crop, mouth, jaw = face
    engine = engines.create_engine("wav2lip", random_checkpoint, "cpu", batch_size=1)
    region = FaceRegion(crop, mouth, jaw, MaskOptions(mode))
    out = frame.copy()
    engine.render([out], [region], np.zeros((1, 80, 16), np.float32))
    changed = np.any(out != frame, axis=2)
    inside = in_frame(region.blend_mask(), crop, frame.shape[:2]) > 0
    assert changed.sum() > 0.5 * inside.sum()  # the face is replaced
    assert not (changed & ~inside).any()


def test_outline_drawing_marks_box_and_mask(face):
    frame, crop, mouth, jaw = face
    drawn = frame.copy()
    mask = face_mask(crop, mouth, jaw, MaskOptions())
    draw_outline(drawn, crop, mask)
    changed = np.any(drawn != frame, axis=2)
    x1, y1, x2, y2 = crop
    assert changed[y1, x1 + 5 : x2 - 5].all()  # the box's top edge
    above = y1 + round((y2 - y1) / 2 - 0.05 * (x2 - x1)) - 2  # the mask's top, less half its feather
    assert changed[y1 + 4 : above, x1 + 5 : x2 - 5].sum() == 0  # nothing drawn inside above it
    assert changed[y1 + (y2 - y1) // 2 :, x1 + 3 : x2 - 3].sum() > 2 * (x2 - x1)  # the mask's lines
