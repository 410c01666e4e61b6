"""Faces: BlazeFace + mesh on the astronaut, tracking rules, smoothing, crop / mask / paste."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from heygem.blazeface import iou
from heygem.faces import (
    Face,
    FaceTrack,
    FixedDetector,
    Landmarker,
    TrackBuilder,
    available_detectors,
    create_detector,
    mouth_mask,
    padded_box,
    paste,
    resolve_detector_name,
)
from heygem.facetrack import smooth_track

# Hand-measured in skimage.data.astronaut() (512 x 512) by viewing a 5x zoom with a grid:
# an S3FD-style face box (cheek to cheek, hairline to chin) and the outer lips.
ASTRONAUT_FACE = (178, 78, 272, 180)
ASTRONAUT_LIPS = (200, 138, 246, 155)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # RGB -> BGR, the one conversion


@pytest.fixture(scope="module")
def detector():
    return create_detector("blazeface")


@pytest.fixture(scope="module")
def landmarker():
    return Landmarker()


def backdrop(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(height, width, 3) uint8 BGR mid-grey noise."""
    return np.random.default_rng(seed).integers(70, 190, (height, width, 3), dtype=np.uint8)


def place(frame: np.ndarray, astronaut: np.ndarray, size: int, x: int, y: int) -> np.ndarray:
    """Paste the astronaut resized to size x size at (x, y), in place; returns the frame."""
    frame[y : y + size, x : x + size] = cv2.resize(
        astronaut, (size, size), interpolation=cv2.INTER_AREA
    )
    return frame


def moved(box, size: int, x: float, y: float) -> np.ndarray:
    """A box measured in the 512 px astronaut, where it lands after :func:`place`."""
    return np.asarray(box, np.float32) * size / 512 + np.float32([x, y, x, y])


class ScriptedDetector:
    """Returns a given list of boxes for each successive frame."""

    name = "scripted"

    def __init__(self, script: list[list[tuple]]):
        self.frames = iter(script)

    def detect(self, frame: np.ndarray) -> list[Face]:
        return [Face(tuple(map(float, box)), 0.9) for box in next(self.frames)]


def track_of(script, smooth_window: int = 5, scale: float = 1.0) -> FaceTrack:
    builder = TrackBuilder(ScriptedDetector(script), None, scale)
    for _ in script:
        builder.add(np.zeros((360, 640, 3), np.uint8))
    return builder.finish(smooth_window)


# Detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "size", "x", "y"),
    [
        (1280, 720, 300, 100, 60),
        (1280, 720, 300, 900, 400),
        (640, 360, 300, 300, 40),
        (1280, 720, 640, 400, 50),
        (360, 640, 180, 100, 420),  # portrait, small face: found on square tiles
    ],
)
def test_blazeface_finds_the_astronaut(astronaut, detector, width, height, size, x, y):
    frame = place(backdrop(width, height), astronaut, size, x, y)
    faces = detector.detect(frame)
    assert len(faces) == 1
    assert faces[0].score > 0.6
    truth = moved(ASTRONAUT_FACE, size, x, y)
    # The calibrated box should match the S3FD-style extent, not just overlap the face.
    assert iou(truth, np.float32([faces[0].box]))[0] >= 0.75


@pytest.mark.parametrize("kind", ["grey", "noise", "astronaut without face"])
def test_no_face_gives_empty_list(astronaut, detector, kind):
    frame = {
        "grey": np.full((720, 1280, 3), 128, np.uint8),
        "noise": np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8),
        "astronaut without face": cv2.resize(astronaut[250:, :], (1280, 720)),
    }[kind]
    assert detector.detect(frame) == []


def test_mouth_box_is_around_the_lips(astronaut, detector, landmarker):
    size, x, y = 400, 700, 200
    frame = place(backdrop(1280, 720), astronaut, size, x, y)
    face = detector.detect(frame)[0].box
    mouth = landmarker.mouth_box(frame, face)
    assert mouth is not None
    x1, y1, x2, y2 = face
    assert x1 <= mouth[0] < mouth[2] <= x2
    assert (y1 + y2) / 2 <= mouth[1] < mouth[3] <= y2
    assert iou(moved(ASTRONAUT_LIPS, size, x, y), np.float32([mouth]))[0] >= 0.6


def test_mouth_box_none_without_a_face(landmarker):
    assert landmarker.mouth_box(backdrop(640, 360), (100, 50, 300, 260)) is None


# Tracking ----------------------------------------------------------------------------------


def test_follows_one_face_when_the_other_grows(astronaut, detector, landmarker):
    """The large central astronaut is chosen first; a second one growing larger than it on
    the right does not take over the track."""
    main_size, main_x, main_y = 300, 250, 200
    builder = TrackBuilder(detector, landmarker, scale=2.0)
    for other_size in (150, 220, 300, 380, 420, 420):
        frame = place(backdrop(1280, 720), astronaut, main_size, main_x, main_y)
        place(frame, astronaut, other_size, 1280 - other_size - 20, 720 - other_size - 20)
        builder.add(frame)
    track = builder.finish()
    assert track.frames_without_face == 0
    truth = moved(ASTRONAUT_FACE, main_size, main_x, main_y) * 2
    assert (iou(truth, track.boxes) > 0.7).all()
    lips = moved(ASTRONAUT_LIPS, main_size, main_x, main_y) * 2
    assert (iou(lips, track.mouths) > 0.5).all()


def test_gaps_are_counted_and_never_smoothed_across():
    moving = [[(100 + 3 * i, 50, 200 + 3 * i, 160)] for i in range(10)]  # 3 px per frame
    still = [[(400, 100, 500, 210)] for _ in range(8)]
    track = track_of(moving + [[], [], []] + still, smooth_window=5)
    assert track.boxes.shape == track.mouths.shape == (21, 4)
    assert track.boxes.dtype == np.float32
    assert track.frames_without_face == 3
    assert np.isnan(track.boxes[10:13]).all()
    # Steady motion survives a centred average; the run after the gap is not pulled back.
    np.testing.assert_allclose(track.boxes[:10], np.float32([m[0] for m in moving]), atol=0.01)
    np.testing.assert_allclose(track.boxes[13:], np.float32([s[0] for s in still]), atol=0.01)


def test_smoothing_reduces_jitter_and_keeps_close_to_detections():
    rng = np.random.default_rng(0)
    truth = np.float32([[100 + 2 * i, 50 + i, 200 + 2 * i, 160 + i] for i in range(60)])
    noisy = truth + rng.normal(0, 1.5, truth.shape).astype(np.float32)
    smooth = track_of([[tuple(b)] for b in noisy], smooth_window=5).boxes
    assert np.abs(smooth - noisy).max() < 5
    assert np.abs(smooth - truth).std() < 0.7 * np.abs(noisy - truth).std()


def test_smooth_track_keeps_run_ends_and_window_one():
    values = np.float32([[0], [0], [9], [0], [np.nan], [5], [7]])
    out = smooth_track(values, 3)
    np.testing.assert_allclose(out[:4, 0], [0, 3, 3, 0])
    assert np.isnan(out[4, 0])
    np.testing.assert_allclose(out[5:, 0], [5, 7])  # a two-frame run: both are run ends
    np.testing.assert_array_equal(smooth_track(values, 1), values)


def test_single_frame_outlier_is_rejected():
    boxes = [[(100, 100, 200, 210)] for _ in range(7)]
    boxes[3] = [(135, 100, 235, 210)]  # still overlaps, but 35 % of a side from both neighbours
    track = track_of(boxes, smooth_window=1)
    np.testing.assert_allclose(track.boxes[3], [100, 100, 200, 210])


def test_short_detector_misses_are_interpolated_long_gaps_are_not():
    box = (100, 100, 200, 210)
    script = [[box], [], [(104, 100, 204, 210)], [], [], [box], [], [], [], [box]]
    track = track_of(script, smooth_window=1)
    np.testing.assert_allclose(track.boxes[1], [102, 100, 202, 210])
    np.testing.assert_allclose(track.boxes[3:5, 0], [104 - 4 / 3, 104 - 8 / 3], rtol=1e-5)
    assert np.isnan(track.boxes[6:9]).all() and track.frames_without_face == 3


def test_scale_maps_to_source_pixels():
    track = track_of([[(10, 20, 30, 40)]] * 3, scale=2.5)
    np.testing.assert_allclose(track.boxes, [[25, 50, 75, 100]] * 3)


def test_reacquires_after_a_cut_and_follows_back():
    """After a cut the presenter is elsewhere: frames before re-acquisition are filled in."""
    before = [[(100, 100, 200, 210)]] * 5
    after = [[(400, 50, 520, 180), (20, 300, 60, 340)]] * 20  # presenter + small face
    track = track_of(before + after, smooth_window=1)
    assert track.frames_without_face == 0
    np.testing.assert_allclose(track.boxes[5:], [[400, 50, 520, 180]] * 20)


def test_face_found_elsewhere_near_the_end_is_taken():
    script = [[(100, 100, 200, 210)]] * 5 + [[(400, 50, 520, 180)]] * 6 + [[]] * 2
    track = track_of(script, smooth_window=1)
    np.testing.assert_allclose(track.boxes[5:11], [[400, 50, 520, 180]] * 6)
    assert np.isnan(track.boxes[11:]).all() and track.frames_without_face == 2


def test_picks_the_large_central_face_first():
    small_centre = (300, 160, 340, 200)
    large_central = (200, 80, 360, 260)
    large_corner = (0, 0, 170, 190)
    track = track_of([[small_centre, large_corner, large_central]] * 2, smooth_window=1)
    np.testing.assert_allclose(track.boxes[0], large_central)


def test_face_track_save_load_round_trip(tmp_path):
    nan = np.nan
    boxes = np.float32([[10, 20, 30, 40], [nan] * 4, [12.5, 22, 32, 42]])
    track = FaceTrack(boxes, np.float32([[15, 30, 25, 35], [nan] * 4, [nan] * 4]))
    path = tmp_path / "video.faces"  # the exact name is kept (np.savez alone would add .npz)
    track.save(path)
    loaded = FaceTrack.load(path)
    assert [p.name for p in tmp_path.iterdir()] == ["video.faces"]
    np.testing.assert_array_equal(loaded.boxes, track.boxes)
    np.testing.assert_array_equal(loaded.mouths, track.mouths)
    assert loaded.boxes.dtype == np.float32 and loaded.frames_without_face == 1


# Crop / mask / paste -----------------------------------------------------------------------


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


def test_mouth_mask_is_fast():
    started = time.perf_counter()
    for _ in range(100):
        mouth_mask((300, 300), (0, 0, 300, 300), (100, 180, 200, 220))
    assert (time.perf_counter() - started) / 100 < 0.002  # seconds per mask


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


# Registry ----------------------------------------------------------------------------------


def test_registry_names_and_auto_rule(tmp_path):
    assert available_detectors() == ["blazeface", "sfd"]
    assert resolve_detector_name("auto", "cuda:0", tmp_path) == "blazeface"  # no weights
    (tmp_path / "s3fd.pth").write_bytes(b"")
    assert resolve_detector_name("auto", "cuda", tmp_path) == "sfd"
    assert resolve_detector_name("auto", "cpu", tmp_path) == "blazeface"  # too slow on CPU
    assert resolve_detector_name("sfd", "cpu", tmp_path) == "sfd"
    assert resolve_detector_name("blazeface", "cuda", tmp_path) == "blazeface"
    with pytest.raises(ValueError, match="unknown face detector 'dlib'"):
        resolve_detector_name("dlib", "cpu", tmp_path)


def test_sfd_without_weights_says_which_file(tmp_path):
    with pytest.raises(ValueError, match=r"s3fd\.pth"):
        create_detector("sfd", "cpu", tmp_path)
    with pytest.raises(ValueError, match="unknown"):
        create_detector("retinaface")


def test_sfd_wrapper_with_random_weights(tmp_path):
    """The S3FD wrapper loads a local state_dict (never downloads) and returns Faces."""
    torch = pytest.importorskip("torch")
    from face_alignment.detection.sfd.net_s3fd import s3fd

    torch.manual_seed(0)
    torch.save(s3fd().state_dict(), tmp_path / "s3fd.pth")
    detector = create_detector("sfd", "cpu", tmp_path)
    faces = detector.detect(np.zeros((32, 32, 3), np.uint8))
    assert detector.name == "sfd"
    assert all(isinstance(face, Face) and len(face.box) == 4 for face in faces)
    assert [face.score for face in faces] == sorted((face.score for face in faces), reverse=True)


def test_fixed_detector_is_a_detector():
    detector = FixedDetector([(1, 2, 3, 4)])
    assert detector.detect(np.zeros((8, 8, 3), np.uint8)) == [Face((1.0, 2.0, 3.0, 4.0), 1.0)]


@pytest.mark.weights
def test_blazeface_calibration_matches_real_s3fd(astronaut, detector):
    """With the real S3FD weights present, calibrated BlazeFace boxes should match S3FD's."""
    weights = Path(__file__).resolve().parents[1] / "checkpoints" / "s3fd.pth"
    if not weights.is_file():
        pytest.skip("checkpoints/s3fd.pth not present")
    sfd = create_detector("sfd", "cpu", weights.parent).detect(astronaut)[0]
    blaze = detector.detect(astronaut)[0]
    assert iou(np.float32(sfd.box), np.float32([blaze.box]))[0] > 0.8
