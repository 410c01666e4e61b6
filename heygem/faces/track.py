"""One face per frame for a whole video: choose and follow a person, then clean and steady
the track (its box, lips, jaw line and five alignment points).

Pass 1 (:mod:`heygem.faces.trackpass`) streams each frame's confirmed detections (and, for
frames the mesh ran on, the face's lips and jaw line) into :class:`TrackBuilder`; only a few
numbers per frame are kept, never the frames. :meth:`TrackBuilder.finish` cleans the track
(:mod:`heygem.faces.cleanup`: outliers, detector misses, faces too brief to be real, missing
landmarks) and steadies it over the WHOLE video (:mod:`heygem.faces.steady`), so chunk
boundaries in pass 2 never show a jump and nothing is averaged across a real gap. Boxes are
S3FD-style x1, y1, x2, y2 in full-resolution source pixels; NaN rows mean no face.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heygem.faces.blazeface import iou
from heygem.faces.cleanup import drop_short_runs, fill_points, fill_short_gaps, reject_outliers
from heygem.faces.mesh import JAW_POINTS, LANDMARKS, FaceShape
from heygem.faces.steady import segments, smooth, steady_boxes, steady_points
from heygem.media.files import replacing

log = logging.getLogger("heygem")

MATCH_IOU = 0.3  # a face overlapping the followed box this much is the same person
MATCH_DISTANCE = 0.5  # ... or, failing that, one whose centre is this many box sides away
REACQUIRE_AFTER = 12  # frames without the followed face before picking the most prominent one
# Per frame: the lip box's two corners, the jaw line, then the five alignment points.
SHAPE_POINTS = 2 + len(JAW_POINTS) + LANDMARKS


def _nan_points(n: int, points: int) -> np.ndarray:
    return np.full((n, points, 2), np.nan, np.float32)


@dataclass
class FaceTrack:
    """One face per frame of a whole video; what pass 2 uses and what is cached on disk."""

    boxes: np.ndarray  # (N, 4) float32 x1 y1 x2 y2 source pixels, steadied; NaN row = no face
    mouths: np.ndarray  # (N, 4) float32 outer-lip box, source pixels, steadied; NaN = unknown
    jaws: np.ndarray | None = None  # (N, len(JAW_POINTS), 2) float32 jaw line x, y; NaN = unknown
    # (N, 5, 2) float32 x, y: eye centres, nose tip, mouth corners (a restorer's alignment),
    # steadied like the boxes; NaN = unknown
    landmarks: np.ndarray | None = None

    def __post_init__(self):
        if self.jaws is None:
            self.jaws = _nan_points(len(self.boxes), len(JAW_POINTS))
        if self.landmarks is None:
            self.landmarks = _nan_points(len(self.boxes), LANDMARKS)

    @property
    def frames_without_face(self) -> int:
        return int(np.isnan(self.boxes).any(axis=1).sum())

    def head(self, n_frames: int) -> FaceTrack:
        """The first ``n_frames`` frames."""
        return FaceTrack(
            self.boxes[:n_frames], self.mouths[:n_frames], self.jaws[:n_frames], self.landmarks[:n_frames]
        )

    def save(self, path: Path) -> None:
        """Write an .npz atomically (see :mod:`heygem.media.files`)."""
        with replacing(path) as temp, open(temp, "wb") as file:
            arrays = {
                "boxes": self.boxes,
                "mouths": self.mouths,
                "jaws": self.jaws,
                "landmarks": self.landmarks,
            }
            np.savez_compressed(file, **arrays)

    @classmethod
    def load(cls, path: Path) -> FaceTrack:
        with np.load(path) as data:
            boxes, mouths = data["boxes"], data["mouths"]
            jaws = data["jaws"] if "jaws" in data else _nan_points(len(boxes), len(JAW_POINTS))
            landmarks = data["landmarks"] if "landmarks" in data else _nan_points(len(boxes), LANDMARKS)
        return cls(*(a.astype(np.float32) for a in (boxes, mouths, jaws, landmarks)))


class TrackBuilder:
    """Feed each frame's detections in turn (streaming: the frames are never held) and get
    one consistent face per frame.

    The first face followed is the one nearest ``target`` when one is given (a point the user
    picked, source pixels), else the most prominent (large and central); after that each frame
    takes the face that overlaps the previous one most, even when another grows larger. When
    the followed face is missing for REACQUIRE_AFTER frames (a cut, or they left), a face is
    chosen again the same way and followed back through those frames.
    """

    def __init__(self, frame_hw: tuple[int, int], scale: float, target: tuple[float, float] | None = None):
        self.frame_hw = frame_hw  # (h, w) of the frames the boxes were found on
        self.scale = scale  # those frames' pixels -> full-resolution source pixels
        self.target = None if target is None else np.float32(target) / scale  # fed-frame pixels
        self._boxes: list[np.ndarray] = []  # (4,) float32 per frame, fed-frame pixels
        self._shapes: list[np.ndarray] = []  # (SHAPE_POINTS, 2) float32 per frame, NaN unknown
        self._followed: np.ndarray | None = None  # last box of the person we follow
        self._missed = 0  # frames since the followed face was last seen
        self._unmatched = collections.deque(maxlen=REACQUIRE_AFTER)  # (frame index, boxes)

    def add(self, boxes: np.ndarray, shapes: list[FaceShape | None] | None = None) -> None:
        """The next frame's (M, 4) float32 boxes (fed-frame pixels, best first), detected (and
        confirmed) or interpolated; ``shapes``, when the mesh ran on the frame, what it saw of
        each face (same pixels). Without them :meth:`finish` places the lips and jaw from the
        neighbouring frames."""
        chosen = self._follow(boxes)
        shape = shapes[chosen] if chosen is not None and shapes is not None else None
        self._boxes.append(_row(None if chosen is None else boxes[chosen]))
        self._shapes.append(_shape_row(shape))

    @property
    def last_box(self) -> np.ndarray | None:
        """The followed box of the latest frame (fed-frame pixels), None without a face."""
        if not self._boxes or np.isnan(self._boxes[-1][0]):
            return None
        return self._boxes[-1]

    def _follow(self, boxes: np.ndarray) -> int | None:
        """(M, 4) boxes of this frame -> index of the followed person's box, or None."""
        if self._followed is not None:
            match = same_face(self._followed, boxes)
            if match is not None:
                self._missed = 0
                self._unmatched.clear()
                self._followed = boxes[match]
                return match
            self._missed += 1
        if len(boxes) and (self._followed is None or self._missed > REACQUIRE_AFTER):
            self._missed = 0
            chosen = self._choose(boxes)
            self._followed = boxes[chosen]
            self._backfill(self._followed)
            return chosen
        self._unmatched.append((len(self._boxes), boxes))
        return None

    def _choose(self, boxes: np.ndarray) -> int:
        return choose_face(boxes, self.frame_hw, self.target)

    def _backfill(self, box: np.ndarray) -> None:
        """Follow a newly chosen face back through the frames where we had lost the track
        (``box`` is in the latest of them or after them); their landmarks stay unknown (the
        frames are gone) and finish() fills them."""
        for index, boxes in reversed(self._unmatched):
            match = same_face(box, boxes)
            if match is None:
                break
            box = self._boxes[index] = boxes[match]
        self._unmatched.clear()

    def finish(self, smooth_window: int = 5, steady: bool = True) -> FaceTrack:
        """The full-resolution track: outliers rejected, one- or two-frame detector misses
        interpolated, runs of faces shorter than cleanup.MIN_FACE_FRAMES dropped, missing lips
        and jaws placed from their spot in the face box, then averaged over ``smooth_window``
        frames and, when ``steady``, held (:mod:`heygem.faces.steady`: one box for a still
        face)."""
        while self._unmatched and not len(self._unmatched[-1][1]):
            self._unmatched.pop()
        if self._unmatched:  # the video ended while we were looking for the face again
            latest = self._unmatched[-1][1]
            self._backfill(latest[self._choose(latest)])
        boxes = np.array(self._boxes, np.float32).reshape(-1, 4) * self.scale
        shapes = np.array(self._shapes, np.float32).reshape(-1, SHAPE_POINTS, 2) * self.scale
        boxes = drop_short_runs(fill_short_gaps(reject_outliers(boxes)))
        shapes = fill_points(boxes, shapes)
        if steady:
            boxes, shapes = steady_boxes(boxes, smooth_window), steady_points(shapes, boxes, smooth_window)
        else:
            parts = segments(boxes)
            shapes = smooth(shapes.reshape(len(shapes), -1), smooth_window, parts).reshape(shapes.shape)
            boxes = smooth(boxes, smooth_window, parts)
        jaw_end = 2 + len(JAW_POINTS)
        track = FaceTrack(
            boxes,
            shapes[:, :2].reshape(-1, 4),
            np.ascontiguousarray(shapes[:, 2:jaw_end]),
            np.ascontiguousarray(shapes[:, jaw_end:]),
        )
        log.info("face track: %s frames, %s without a face", len(boxes), track.frames_without_face)
        return track


def _row(box) -> np.ndarray:
    """x1 y1 x2 y2 or None -> (4,) float32, NaN for None."""
    return np.full(4, np.nan, np.float32) if box is None else np.asarray(box, np.float32)


def _shape_row(shape: FaceShape | None) -> np.ndarray:
    """A mesh result or None -> (SHAPE_POINTS, 2) float32: lip box corners, the jaw, the five
    alignment points."""
    if shape is None:
        return np.full((SHAPE_POINTS, 2), np.nan, np.float32)
    return np.concatenate([shape.mouth.reshape(2, 2), shape.jaw, shape.landmarks]).astype(np.float32)


def choose_face(boxes: np.ndarray, frame_hw: tuple[int, int], point=None) -> int:
    """Index of the face to follow among (M >= 1, 4) float32 boxes of a (h, w) frame: the one
    a ``point`` (x, y, same pixels) lies in or is nearest, else the most prominent."""
    if point is None:
        return _most_prominent(boxes, frame_hw)
    return _nearest_to(boxes, np.asarray(point, np.float32))


def same_face(followed: np.ndarray, boxes: np.ndarray) -> int | None:
    """followed (4,), boxes (M, 4) float32 pixels -> index of the box that continues
    ``followed`` (highest IoU, else nearest centre), or None."""
    if not len(boxes):
        return None
    overlaps = iou(followed, boxes)
    if overlaps.max() >= MATCH_IOU:
        return int(overlaps.argmax())
    side = followed[2] - followed[0]
    distances = np.hypot(*(_centres(boxes) - _centres(followed[None])).T) / side
    return int(distances.argmin()) if distances.min() < MATCH_DISTANCE else None


def _most_prominent(boxes: np.ndarray, frame_hw: tuple[int, int]) -> int:
    """boxes (M, 4) float32 pixels of a (h, w) frame -> index of the largest face, its size
    discounted by up to half for lying at a corner instead of the centre."""
    height, width = frame_hw
    off_centre = np.hypot(*(_centres(boxes) - (width / 2, height / 2)).T) / np.hypot(width, height)
    size = np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    return int(np.argmax(size * (1 - off_centre)))


def _nearest_to(boxes: np.ndarray, point: np.ndarray) -> int:
    """boxes (M, 4), point (2,) same pixels -> index of the box the point lies in (the one
    whose centre is nearest, when several hold it), else of the box nearest the point."""
    gap = np.maximum(np.maximum(boxes[:, :2] - point, point - boxes[:, 2:]), 0)  # 0 inside
    outside = np.hypot(*gap.T)
    centre = np.hypot(*(_centres(boxes) - point).T)
    return int(np.lexsort((centre, outside))[0])


def _centres(boxes: np.ndarray) -> np.ndarray:
    """(M, 4) x1 y1 x2 y2 -> (M, 2) centres, same units."""
    return (boxes[:, :2] + boxes[:, 2:]) / 2
