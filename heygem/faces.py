"""Faces: detector registry, and the crop / mask / paste used by every lip-sync engine.

Pass 1 of the pipeline feeds downscaled frames to a :class:`TrackBuilder` (from
``heygem.facetrack``, re-exported here with :class:`FaceTrack` and :class:`Landmarker`), which
keeps one box per frame. Pass 2 crops with :func:`padded_box` and blends the lip-synced face
back with :func:`mouth_mask` and :func:`paste`. Frames are OpenCV BGR uint8 throughout; each
network converts colour itself, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from heygem.blazeface import BlazeFace, Landmarker, calibrate_box, raw_square
from heygem.facetrack import FaceTrack, TrackBuilder

# Part of this module's API, defined beside their network / in the tracking module.
__all__ = ["Landmarker", "FaceTrack", "TrackBuilder", "Face", "Detector", "create_detector",
           "available_detectors", "resolve_detector_name", "padded_box", "mouth_mask", "paste"]  # fmt: skip

log = logging.getLogger("heygem")

DETECTORS = ("blazeface", "sfd")
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


class FixedDetector:
    """Returns the same boxes for every frame: the test double for pipelines."""

    name = "fixed"

    def __init__(self, boxes: list[Box]):
        self.faces = [Face(tuple(map(float, box)), 1.0) for box in boxes]
        self.cache_key = f"fixed-{[face.box for face in self.faces]}"

    def detect(self, frame: np.ndarray) -> list[Face]:
        return list(self.faces)


def available_detectors() -> list[str]:
    return list(DETECTORS)


def resolve_detector_name(name: str, device: str, checkpoint_dir: Path) -> str:
    """ "auto" -> "sfd" when checkpoint_dir/s3fd.pth exists and device is CUDA (S3FD takes
    ~15 s per 720p frame on CPU), else "blazeface"; other names are checked and returned."""
    if name == "auto":
        usable = (Path(checkpoint_dir) / S3FD_WEIGHTS).is_file() and device.startswith("cuda")
        return "sfd" if usable else "blazeface"
    if name not in DETECTORS:
        raise ValueError(f"unknown face detector {name!r}; choose auto, {', '.join(DETECTORS)}")
    return name


def create_detector(
    name: str, device: str = "cpu", checkpoint_dir: Path = Path("checkpoints")
) -> Detector:
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
