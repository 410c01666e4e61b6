"""Detectors: BlazeFace and the face mesh on the astronaut, choosing a face, the registry, S3FD."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from heygem.faces import (
    Face,
    Landmarker,
    TrackBuilder,
    available_detectors,
    create_detector,
    find_boxes,
    find_faces,
    iou,
    resolve_detector_name,
)
from heygem.settings import DEFAULT_CHECKPOINT_DIR
from heygem.testing.detectors import FixedDetector

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
    frame[y : y + size, x : x + size] = cv2.resize(astronaut, (size, size), interpolation=cv2.INTER_AREA)
    return frame


def moved(box, size: int, x: float, y: float) -> np.ndarray:
    """A box measured in the 512 px astronaut, where it lands after :func:`place`."""
    return np.asarray(box, np.float32) * size / 512 + np.float32([x, y, x, y])


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


def test_jaw_line_runs_round_the_chin(astronaut, detector, landmarker):
    size, x, y = 400, 700, 200
    frame = place(backdrop(1280, 720), astronaut, size, x, y)
    face = detector.detect(frame)[0].box
    jaw = landmarker.shape(frame, face).jaw
    chin_x, chin_y = jaw[len(jaw) // 2]
    truth = moved(ASTRONAUT_FACE, size, x, y)
    assert abs(chin_y - truth[3]) < 0.05 * size and abs(chin_x - (truth[0] + truth[2]) / 2) < 0.05 * size
    assert jaw[0, 0] > chin_x > jaw[-1, 0]  # from the image's right cheek round to its left
    assert jaw[:, 1].max() == chin_y and jaw[0, 1] < truth[1] + 0.7 * (truth[3] - truth[1])


def test_five_alignment_points_sit_where_ffhq_puts_them(astronaut, detector, landmarker):
    size, x, y = 400, 500, 150
    frame = place(backdrop(1280, 720), astronaut, size, x, y)
    left_eye, right_eye, nose, mouth_left, mouth_right = landmarker.shape(
        frame, detector.detect(frame)[0].box
    ).landmarks
    truth = moved(ASTRONAUT_FACE, size, x, y)
    inside = (truth[0] <= left_eye[0] < right_eye[0] <= truth[2]) and (mouth_left[0] < mouth_right[0])
    assert inside and left_eye[0] < nose[0] < right_eye[0]  # the image's left eye first, as FFHQ's
    eye_line = (left_eye[1] + right_eye[1]) / 2
    assert eye_line < nose[1] < min(mouth_left[1], mouth_right[1]) < truth[3]  # eyes, nose, mouth down
    width = truth[2] - truth[0]
    assert 0.35 * width < right_eye[0] - left_eye[0] < 0.6 * width  # eye centres, not corners


def test_find_faces_drops_what_the_mesh_does_not_confirm(astronaut, landmarker):
    frame = place(backdrop(1280, 720), astronaut, 300, 100, 60)
    real = tuple(moved(ASTRONAUT_FACE, 300, 100, 60))
    phantom = (800, 300, 950, 460)  # noise where a detector (here a fixed one) claims a face
    boxes, shapes = find_faces(FixedDetector([phantom, real]), landmarker, frame)
    np.testing.assert_allclose(boxes, [real], atol=1e-4)
    assert len(shapes) == 1 and shapes[0].jaw.shape == (21, 2)
    kept, none = find_faces(FixedDetector([phantom, real]), None, frame)  # no mesh: all kept
    assert len(kept) == 2 and none == [None, None]


# Tracking ----------------------------------------------------------------------------------


def test_follows_one_face_when_the_other_grows(astronaut, detector, landmarker):
    """The large central astronaut is chosen first; a second one growing larger than it on
    the right does not take over the track."""
    main_size, main_x, main_y = 300, 250, 200
    builder = TrackBuilder((720, 1280), scale=2.0)
    for other_size in (150, 220, 300, 380, 420, 420):
        frame = place(backdrop(1280, 720), astronaut, main_size, main_x, main_y)
        place(frame, astronaut, other_size, 1280 - other_size - 20, 720 - other_size - 20)
        builder.add(*find_faces(detector, landmarker, frame))
    track = builder.finish()
    assert track.frames_without_face == 0
    truth = moved(ASTRONAUT_FACE, main_size, main_x, main_y) * 2
    assert (iou(truth, track.boxes) > 0.7).all()
    lips = moved(ASTRONAUT_LIPS, main_size, main_x, main_y) * 2
    assert (iou(lips, track.mouths) > 0.5).all()


# Crop / mask / paste -----------------------------------------------------------------------


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


def s3fd_weights(folder, finds_nothing: bool = False):
    """A random S3FD state_dict written as ``folder/s3fd.pth``; ``finds_nothing`` makes every
    anchor certain it is background (face logit -20, background +20)."""
    torch = pytest.importorskip("torch")
    from face_alignment.detection.sfd.net_s3fd import s3fd

    torch.manual_seed(0)
    state = s3fd().state_dict()
    if finds_nothing:
        for key in [k for k in state if "mbox_conf" in k]:
            state[key].zero_()
            if key.endswith("bias"):
                state[key][:-1], state[key][-1] = 20.0, -20.0  # the face class is the last
    torch.save(state, folder / "s3fd.pth")
    return folder


def test_sfd_wrapper_gives_face_alignments_boxes_for_bgr_frames(tmp_path, astronaut):
    """Random weights find random "faces", but the wrapper's contract holds: it loads a local
    state_dict (never downloads), takes a BGR frame, converts it once to the RGB that
    face-alignment's S3FD takes, and returns its detections as Faces, best first."""
    from face_alignment.detection.sfd.sfd_detector import SFDDetector

    weights = s3fd_weights(tmp_path)
    detector = create_detector("sfd", "cpu", weights)
    frame = place(backdrop(320, 200), astronaut, 128, 100, 20)  # (200, 320, 3) BGR
    faces = detector.detect(frame)
    raw = SFDDetector(device="cpu", path_to_detector=str(weights / "s3fd.pth"))
    expected = sorted(raw.detect_from_image(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), key=lambda f: -f[4])
    assert detector.name == "sfd" and faces  # random weights: something, garbage or not
    assert all(isinstance(f, Face) and all(isinstance(v, float) for v in f.box) for f in faces)
    assert all(isinstance(f.score, float) and 0 <= f.score <= 1 for f in faces)
    np.testing.assert_allclose([[*f.box, f.score] for f in faces], np.array(expected), rtol=1e-6)
    unconverted = np.array(sorted(raw.detect_from_image(frame), key=lambda f: -f[4]))  # BGR as if RGB
    assert unconverted.shape != np.shape(expected) or not np.allclose(unconverted, expected)  # matters
    assert find_boxes(detector, frame).shape == (len(faces), 4)


def test_sfd_wrapper_that_finds_nothing_returns_an_empty_list(tmp_path, astronaut):
    detector = create_detector("sfd", "cpu", s3fd_weights(tmp_path, finds_nothing=True))
    frame = place(backdrop(320, 200), astronaut, 128, 100, 20)
    assert detector.detect(frame) == []
    assert find_boxes(detector, frame).shape == (0, 4)


@pytest.mark.weights
def test_blazeface_calibration_matches_real_s3fd(astronaut, detector):
    """With the real S3FD weights present, calibrated BlazeFace boxes should match S3FD's."""
    weights = DEFAULT_CHECKPOINT_DIR / "s3fd.pth"
    if not weights.is_file():
        pytest.skip("checkpoints/s3fd.pth not present")
    sfd = create_detector("sfd", "cpu", weights.parent).detect(astronaut)[0]
    blaze = detector.detect(astronaut)[0]
    assert iou(np.float32(sfd.box), np.float32([blaze.box]))[0] > 0.8
