"""Alignment and paste against the reference warp (facexlib's, restated), the colour match,
and the same transform on every frame of a still presenter."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from heygem.enhance.align import FFHQ_TEMPLATE, aligned_face, restored_crop, similarity, to_crop
from heygem.faces import Landmarker, five_points
from heygem.lipsync.blend import padded_box, paste
from heygem.lipsync.masks import MaskOptions, face_mask
from heygem.settings import DEFAULT_PADS
from heygem.testing import synthetic


def reference_transform(points: np.ndarray) -> np.ndarray:
    """facexlib's align_warp_face: a partial affine (similarity) fitted with LMEDS."""
    return cv2.estimateAffinePartial2D(np.float32(points), np.float32(FFHQ_TEMPLATE), method=cv2.LMEDS)[0]


def reference_round_trip(frame: np.ndarray, matrix: np.ndarray, restore) -> np.ndarray:
    """facexlib's warp to 512, a restorer, and paste_faces_to_input_image's inverse warp
    (upscale 1: no extra offset), for the whole frame: (H, W, 3) float32."""
    face = cv2.warpAffine(
        frame, matrix, (512, 512), borderMode=cv2.BORDER_CONSTANT, borderValue=(135, 133, 132)
    )
    inverse = cv2.invertAffineTransform(matrix)
    h, w = frame.shape[:2]
    return cv2.warpAffine(restore(face).astype(np.float32), inverse, (w, h))


def presenter(face_px: int, size=(960, 540)):
    """A frame with the astronaut's face ``face_px`` wide in the middle, its five points from
    the real face mesh, its padded crop box and lip-sync mask (face mode)."""
    from heygem.testing.synthetic import HEAD_FACE

    frame = synthetic.centred_face(face_px, size)
    side = round(face_px / (HEAD_FACE[2] - HEAD_FACE[0]))
    landmarker = Landmarker()
    box = HEAD_FACE * side + np.float32(
        [size[0] / 2 - side * (HEAD_FACE[0] + HEAD_FACE[2]) / 2, size[1] / 2 - side * 129 / 300] * 2
    )
    mesh = landmarker.landmarks(frame, box)
    crop = padded_box(tuple(box), DEFAULT_PADS, frame.shape[:2])
    from heygem.faces.mesh import JAW_POINTS, OUTER_LIP_POINTS

    lips = mesh[list(OUTER_LIP_POINTS), :2]
    mask = face_mask(crop, (*lips.min(0), *lips.max(0)), mesh[list(JAW_POINTS), :2], MaskOptions())
    return frame, five_points(mesh), crop, mask


def test_the_transform_is_the_reference_similarity():
    """On points that are an exact similarity of the template, our least-squares fit and
    facexlib's LMEDS fit are the same transform; on real mesh points they stay close."""
    angle, scale, shift = np.deg2rad(12), 0.43, np.array([301.5, 87.25])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (FFHQ_TEMPLATE - shift) @ np.linalg.inv(rotation).T  # template = rotation @ p + shift
    np.testing.assert_allclose(similarity(points), np.hstack([rotation, shift[:, None]]), atol=1e-9)
    np.testing.assert_allclose(similarity(points), reference_transform(points), atol=1e-3)
    _, real, _, _ = presenter(300)
    ours, theirs = similarity(real), reference_transform(real)
    corners = np.float64([[0, 0, 1], [511, 0, 1], [0, 511, 1], [511, 511, 1]])
    inverse = [np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2] for m in (ours, theirs)]
    drift = np.abs(corners @ inverse[0].T - corners @ inverse[1].T).max()  # where 512^2 lands, frame px
    assert drift < 0.05 * 300  # LMEDS keeps the best-fitting subset; least squares uses all five


def pattern(side: int = 512) -> np.ndarray:
    """(side, side, 3) uint8: smooth gradients and a grid, a "restorer's output" whose every
    pixel says where it came from."""
    yy, xx = np.mgrid[:side, :side].astype(np.float32)
    grid = 40 * ((xx // 16 + yy // 16) % 2)
    return np.stack([xx / 4 + grid, yy / 4 + grid, 128 + 0 * xx], -1).astype(np.uint8)


@pytest.mark.parametrize("face_px", [200, 400])
def test_warp_and_inverse_warp_match_the_reference(face_px):
    """Against facexlib's warp and inverse warp (restated): the aligned face is theirs where
    it comes from inside the frame; a restorer's output comes back onto the crop as theirs
    within 1 level mean on the lip-sync mask; and an identity "restorer" through warp,
    restorer and inverse warp changes the face by at most 1 level mean (here: not at all)."""
    frame, points, crop, mask = presenter(face_px)
    x1, y1, x2, y2 = crop
    matrix = similarity(points)
    aligned = aligned_face(frame, matrix)
    within = (
        cv2.warpAffine(np.ones(frame.shape[:2], np.float32), matrix, (512, 512)) == 1
    )  # from inside the frame
    np.testing.assert_array_equal(aligned[within], cv2.warpAffine(frame, matrix, (512, 512))[within])
    inside = mask > 0.5
    drawn = pattern()
    ours, coverage = to_crop(drawn, matrix, crop)
    theirs = reference_round_trip(frame, matrix, lambda _face: drawn)[y1:y2, x1:x2]
    assert coverage[inside].min() == 1.0  # the mouth and jaw lie inside the aligned square
    assert np.abs(ours - theirs)[inside].mean() <= 1.0
    same, _ = restored_crop(frame[y1:y2, x1:x2], aligned, aligned.copy(), matrix, crop)
    out = frame.copy()
    paste(out, same, crop, mask)
    assert np.abs(out.astype(int) - frame).mean() <= 1.0
    np.testing.assert_array_equal(out, frame)
    through_reference = reference_round_trip(frame, matrix, lambda face: face)[y1:y2, x1:x2]
    assert (
        np.abs(through_reference - frame[y1:y2, x1:x2])[inside].mean() > 0.1
    )  # what a plain round trip loses


def test_a_wrong_inverse_warp_is_caught():
    """The bar above fails a broken inverse: the forward matrix taken for the inverse one."""
    frame, points, crop, mask = presenter(300)
    x1, y1, x2, y2 = crop
    matrix = similarity(points)
    wrong = np.vstack([cv2.invertAffineTransform(matrix), [0, 0, 1]])[:2]
    ours, _ = to_crop(pattern(), wrong, crop)
    theirs = reference_round_trip(frame, matrix, lambda _face: pattern())[y1:y2, x1:x2]
    assert np.abs(ours - theirs)[mask > 0.5].mean() > 10


def test_the_restorers_detail_comes_back_without_its_tint():
    """A restorer that tints the face and draws 3 px checks: the crop gets the checks, in
    their place, and not the tint."""
    frame, points, crop, mask = presenter(300)
    x1, y1, x2, y2 = crop
    matrix = similarity(points)
    aligned = aligned_face(frame, matrix)
    yy, xx = np.mgrid[:512, :512]
    checks = (8 * np.sign(np.sin(xx / 1.5 + 0.1) * np.sin(yy / 1.5 + 0.1)))[:, :, None]
    restored = np.clip(aligned + np.float32([14, -9, 20]) + checks, 0, 255).astype(np.uint8)
    result, _ = restored_crop(frame[y1:y2, x1:x2], aligned, restored, matrix, crop)
    added = (result.astype(np.float32) - frame[y1:y2, x1:x2])[mask > 0.5]
    assert np.abs(added.mean(axis=0)).max() < 0.5  # no tint
    expected, _ = to_crop(checks.astype(np.float32).repeat(3, -1), matrix, crop)
    assert (
        np.corrcoef(added[:, 1], expected[mask > 0.5][:, 1])[0, 1] > 0.8
    )  # the checks, where they were drawn


def test_a_still_presenter_gets_the_very_same_transform_on_every_frame(tmp_path):
    """Camera noise under x264, the real detector and mesh, keyframes every 8 frames: one
    steady set of five points, hence one transform, for the whole video."""
    from heygem.faces import TrackSettings, create_detector, face_track
    from heygem.media import video

    rng = np.random.default_rng(0)
    frames = (
        np.clip(f + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8)
        for f in synthetic.face_frames(60, (640, 360), face=300, move=False)
    )
    clip = synthetic.write_video(tmp_path / "tripod.mp4", frames, extra={"crf": 23})
    info = video.probe(clip)
    detector = create_detector("blazeface", "cpu")
    track = face_track(
        info, info.n_frames, detector, Landmarker(), TrackSettings(), None, lambda *_: None
    ).track
    transforms = np.stack([similarity(points) for points in track.landmarks])
    assert np.isfinite(transforms).all()
    assert len(np.unique(transforms.reshape(len(transforms), -1), axis=0)) == 1
