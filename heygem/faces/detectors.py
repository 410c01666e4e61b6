"""Face detectors behind one interface, and the registry that picks and loads one.

- ``blazeface``: the offline default (MediaPipe's full-range BlazeFace through OpenCV DNN,
  :mod:`heygem.faces.blazeface`), boxes calibrated to the S3FD boxes Wav2Lip was trained on;
- ``sfd``: S3FD from face-alignment, Wav2Lip's own detector, when ``s3fd.pth`` is present.

Tests use :class:`heygem.testing.detectors.FixedDetector` (the same boxes on every frame).

Frames are OpenCV BGR uint8; each network converts colour itself, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from heygem.faces.blazeface import BlazeFace, calibrate_box, raw_square
from heygem.faces.mesh import FaceShape, Landmarker
from heygem.settings import DETECTORS

log = logging.getLogger("heygem")

DETECTOR_NAMES = tuple(name for name in DETECTORS if name != "auto")
S3FD_WEIGHTS = "s3fd.pth"  # in the checkpoint folder; face-alignment's S3FD state_dict

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


@dataclass(frozen=True)
class Face:
    """One detection in a frame."""

    box: Box  # x1, y1, x2, y2 in pixels of the frame given to detect(), S3FD-style extent
    score: float  # detector confidence in [0, 1]


class Detector(Protocol):
    name: str
    cache_key: str  # what the cached face tracks of this detector are filed under

    def detect(self, frame: np.ndarray) -> list[Face]:
        """frame (H, W, 3) uint8 BGR, any size -> faces, best first."""
        ...

    # Optional: ``detect_near(frame, box) -> list[Face]``, faces near a known box only.


class BlazeFaceDetector:
    """The offline default: MediaPipe BlazeFace through OpenCV DNN, boxes calibrated to S3FD."""

    name = "blazeface"
    cache_key = "blazeface-full-range-v1"

    def __init__(self):
        self._net = BlazeFace()

    def detect(self, frame: np.ndarray) -> list[Face]:
        return _faces(*self._net.detect(frame))

    def detect_near(self, frame: np.ndarray, box: Box) -> list[Face]:
        """Faces in the neighbourhood of ``box`` (S3FD-style, frame pixels) only: one zoomed
        pass instead of two; the tracker's shortcut once it knows where the face is."""
        cx, cy, side = raw_square(box)
        return _faces(*self._net.detect_near(frame, (cx, cy), side))


def _faces(raw: np.ndarray, scores: np.ndarray) -> list[Face]:
    """(N, 4) raw BlazeFace squares and (N,) scores -> calibrated faces, same order."""
    boxes = calibrate_box(raw)
    return [Face(tuple(map(float, b)), float(s)) for b, s in zip(boxes, scores, strict=True)]


class S3FDDetector:
    """S3FD from face-alignment, the detector Wav2Lip was trained with; slow on CPU."""

    name = "sfd"
    cache_key = "sfd-v1"

    def __init__(self, weights: Path, device: str):
        from face_alignment.detection.sfd.sfd_detector import SFDDetector

        # With a path face-alignment loads the file and never downloads.
        self._net = SFDDetector(device=device, path_to_detector=str(weights))

    def detect(self, frame: np.ndarray) -> list[Face]:
        # face-alignment's S3FD takes RGB (it flips back to BGR before its BGR-mean net).
        found = self._net.detect_from_image(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        faces = [Face(tuple(map(float, f[:4])), float(f[4])) for f in found]
        return sorted(faces, key=lambda face: -face.score)


def find_boxes(detector: Detector, frame: np.ndarray, near=None) -> np.ndarray:
    """frame (h, w, 3) uint8 BGR -> (M, 4) float32 boxes in its pixels, best first.

    ``near`` (4,): where the followed face is expected; a detector that can looks only there
    (``detect_near``), and the whole frame is searched when that finds nothing.
    """
    faces = []
    if near is not None and hasattr(detector, "detect_near"):
        faces = detector.detect_near(frame, tuple(float(v) for v in near))
    if not faces:
        faces = detector.detect(frame)
    return np.array([face.box for face in faces], np.float32).reshape(-1, 4)


def find_faces(
    detector: Detector, landmarker: Landmarker | None, frame: np.ndarray, near=None
) -> tuple[np.ndarray, list[FaceShape | None]]:
    """:func:`find_boxes`, each box then confirmed by the face mesh: a box the mesh sees no
    face in (a test pattern, a poster's corner) is dropped, as if nothing had been detected.
    Returns (M, 4) float32 boxes and, per box, what the mesh saw; without a landmarker every
    box is kept, with no shapes."""
    boxes = find_boxes(detector, frame, near)
    if landmarker is None:
        return boxes, [None] * len(boxes)
    shapes = [landmarker.shape(frame, tuple(box)) for box in boxes]
    kept = [k for k, shape in enumerate(shapes) if shape is not None]
    return boxes[kept].reshape(-1, 4), [shapes[k] for k in kept]


def available_detectors() -> list[str]:
    return list(DETECTOR_NAMES)


def resolve_detector_name(name: str, device: str, checkpoint_dir: Path) -> str:
    """ "auto" -> "sfd" when checkpoint_dir/s3fd.pth exists and device is CUDA (S3FD takes
    ~15 s per 720p frame on CPU), else "blazeface"; other names are checked and returned."""
    if name == "auto":
        usable = (Path(checkpoint_dir) / S3FD_WEIGHTS).is_file() and device.startswith("cuda")
        return "sfd" if usable else "blazeface"
    if name not in DETECTOR_NAMES:
        raise ValueError(f"unknown face detector {name!r}; choose {', '.join(DETECTORS)}")
    return name


def create_detector(name: str, device: str = "cpu", checkpoint_dir: Path = Path("checkpoints")) -> Detector:
    """Load a detector once; pass it to every job. ``name`` may also be "auto"."""
    name = resolve_detector_name(name, device, checkpoint_dir)
    log.info("face detector: %s on %s", name, device)
    if name == "sfd":
        weights = Path(checkpoint_dir) / S3FD_WEIGHTS
        if not weights.is_file():
            raise ValueError(
                f"face detector 'sfd' needs {weights} (S3FD weights, s3fd-619a316812.pth "
                "renamed); it is missing, use 'blazeface' instead"
            )
        return S3FDDetector(weights, device)
    return BlazeFaceDetector()
