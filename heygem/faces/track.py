"""One face per frame for a whole video: choose and follow a person, then smooth the track.

Pass 1 (:mod:`heygem.faces.trackpass`) streams each frame's detections into
:class:`TrackBuilder` (only four numbers per frame are kept, never the frames). :meth:`TrackBuilder.finish` rejects single-frame
outliers, interpolates one- or two-frame detector misses, and smooths the WHOLE track with a
centred moving average inside each run of frames with a face, so chunk boundaries in pass 2
never show a jump and nothing is averaged across a real gap. Boxes are S3FD-style
x1, y1, x2, y2 in full-resolution source pixels; NaN rows mean no face.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heygem.faces.blazeface import Landmarker, iou
from heygem.media.files import replacing

log = logging.getLogger("heygem")

MATCH_IOU = 0.3  # a face overlapping the followed box this much is the same person
MATCH_DISTANCE = 0.5  # ... or, failing that, one whose centre is this many box sides away
REACQUIRE_AFTER = 12  # frames without the followed face before picking the most prominent one
OUTLIER_JUMP = 0.25  # box-side fraction an edge may jump from both neighbours before rejection
MAX_FILLED_GAP = 2  # frames: a shorter miss between two agreeing boxes is a detector miss


@dataclass
class FaceTrack:
    """One face per frame of a whole video; what pass 2 uses and what is cached on disk."""

    boxes: np.ndarray  # (N, 4) float32 x1 y1 x2 y2 source pixels, smoothed; NaN row = no face
    mouths: np.ndarray  # (N, 4) float32 outer-lip box, source pixels, smoothed; NaN = unknown

    @property
    def frames_without_face(self) -> int:
        return int(np.isnan(self.boxes).any(axis=1).sum())

    def save(self, path: Path) -> None:
        """Write an .npz atomically (see :mod:`heygem.media.files`)."""
        with replacing(path) as temp, open(temp, "wb") as file:
            np.savez(file, boxes=self.boxes, mouths=self.mouths)

    @classmethod
    def load(cls, path: Path) -> FaceTrack:
        with np.load(path) as data:
            boxes, mouths = data["boxes"], data["mouths"]
        return cls(boxes.astype(np.float32), mouths.astype(np.float32))


class TrackBuilder:
    """Feed each frame's detections in turn (streaming: the frames are never held) and get
    one consistent face per frame.

    The first face followed is the most prominent (large and central); after that each frame
    takes the face that overlaps the previous one most, even when another grows larger. When
    the followed face is missing for REACQUIRE_AFTER frames (a cut, or they left), the most
    prominent face is taken again and followed back through those frames.
    """

    def __init__(self, frame_hw: tuple[int, int], scale: float, landmarker: Landmarker | None = None):
        self.frame_hw = frame_hw  # (h, w) of the frames the boxes were found on
        self.scale = scale  # those frames' pixels -> full-resolution source pixels
        self.landmarker = landmarker  # the face mesh that places the mouth; None: no mouths
        self._boxes: list[np.ndarray] = []  # (4,) float32 per frame, fed-frame pixels
        self._mouths: list[np.ndarray] = []
        self._followed: np.ndarray | None = None  # last box of the person we follow
        self._missed = 0  # frames since the followed face was last seen
        self._unmatched = collections.deque(maxlen=REACQUIRE_AFTER)  # (frame index, boxes)

    def add(self, boxes: np.ndarray, frame: np.ndarray | None = None) -> None:
        """The next frame's (M, 4) float32 boxes (fed-frame pixels, best first), detected or
        interpolated. ``frame`` (h, w, 3) uint8 BGR, when given, lets the mesh find the
        mouth; without it :meth:`finish` places the mouth from the neighbouring frames."""
        box = self._follow(boxes)
        mouth = None
        if box is not None and self.landmarker is not None and frame is not None:
            mouth = self.landmarker.mouth_box(frame, tuple(box))
        self._boxes.append(_row(box))
        self._mouths.append(_row(mouth))

    @property
    def last_box(self) -> np.ndarray | None:
        """The followed box of the latest frame (fed-frame pixels), None without a face."""
        if not self._boxes or np.isnan(self._boxes[-1][0]):
            return None
        return self._boxes[-1]

    def _follow(self, boxes: np.ndarray) -> np.ndarray | None:
        """(M, 4) boxes of this frame -> the followed person's box, or None."""
        if self._followed is not None:
            match = same_face(self._followed, boxes)
            if match is not None:
                self._missed = 0
                self._unmatched.clear()
                self._followed = boxes[match]
                return self._followed
            self._missed += 1
        if len(boxes) and (self._followed is None or self._missed > REACQUIRE_AFTER):
            self._missed = 0
            self._followed = boxes[_most_prominent(boxes, self.frame_hw)]
            self._backfill(self._followed)
            return self._followed
        self._unmatched.append((len(self._boxes), boxes))
        return None

    def _backfill(self, box: np.ndarray) -> None:
        """Follow a newly chosen face back through the frames where we had lost the track
        (``box`` is in the latest of them or after them); their mouths stay unknown (the
        frames are gone) and finish() fills them."""
        for index, boxes in reversed(self._unmatched):
            match = same_face(box, boxes)
            if match is None:
                break
            box = self._boxes[index] = boxes[match]
        self._unmatched.clear()

    def finish(self, smooth_window: int = 5) -> FaceTrack:
        """The full-resolution track: outliers rejected, one- or two-frame detector misses
        interpolated, missing mouths placed from their usual spot in the face box, then a
        centred moving average of ``smooth_window`` frames (rounded up to odd) within each
        run of frames with a face."""
        while self._unmatched and not len(self._unmatched[-1][1]):
            self._unmatched.pop()
        if self._unmatched:  # the video ended while we were looking for the face again
            latest = self._unmatched[-1][1]
            self._backfill(latest[_most_prominent(latest, self.frame_hw)])
        boxes = np.array(self._boxes, np.float32).reshape(-1, 4) * self.scale
        mouths = np.array(self._mouths, np.float32).reshape(-1, 4) * self.scale
        boxes = fill_short_gaps(reject_outliers(boxes))
        mouths = fill_mouths(boxes, mouths)
        track = FaceTrack(smooth_track(boxes, smooth_window), smooth_track(mouths, smooth_window))
        log.info("face track: %s frames, %s without a face", len(boxes), track.frames_without_face)
        return track


def _row(box) -> np.ndarray:
    """x1 y1 x2 y2 or None -> (4,) float32, NaN for None."""
    return np.full(4, np.nan, np.float32) if box is None else np.asarray(box, np.float32)


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


def _centres(boxes: np.ndarray) -> np.ndarray:
    """(M, 4) x1 y1 x2 y2 -> (M, 2) centres, same units."""
    return (boxes[:, :2] + boxes[:, 2:]) / 2


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """(N,) bool -> [(start, stop)] of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _far(a: np.ndarray, b: np.ndarray, size: np.ndarray) -> np.ndarray:
    """(N, 4) boxes a, b, (N,) sizes -> (N,) bool: some edge moved over OUTLIER_JUMP * size;
    False where either row is NaN."""
    with np.errstate(invalid="ignore"):
        return (np.abs(a - b) > OUTLIER_JUMP * size[:, None]).any(axis=1)


def _agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) boxes a, b -> (N,) bool: both present and no edge moved far."""
    size = (a[:, 2] - a[:, 0] + b[:, 2] - b[:, 0]) / 2
    present = ~np.isnan(a).any(axis=1) & ~np.isnan(b).any(axis=1)
    return present & ~_far(a, b, size)


def reject_outliers(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) float32 boxes, NaN rows allowed -> copy where a single-frame box far from both
    neighbours, while the neighbours agree, is replaced by the neighbours' mean."""
    out = boxes.copy()
    before, current, after = boxes[:-2], boxes[1:-1], boxes[2:]
    size = (before[:, 2] - before[:, 0] + after[:, 2] - after[:, 0]) / 2
    outlier = _agree(before, after) & _far(current, before, size) & _far(current, after, size)
    out[1:-1][outlier] = (before[outlier] + after[outlier]) / 2
    return out


def fill_short_gaps(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) float32 boxes -> copy with gaps of up to MAX_FILLED_GAP NaN rows interpolated
    when the boxes on both sides agree: a detector miss, not a face leaving, and a frame
    left unsynced there would flash the original mouth."""
    out = boxes.copy()
    for start, stop in _runs(np.isnan(boxes).any(axis=1)):
        if start == 0 or stop == len(boxes) or stop - start > MAX_FILLED_GAP:
            continue
        before, after = boxes[start - 1], boxes[stop]
        if _agree(before[None], after[None])[0]:
            weights = (np.arange(start, stop) - (start - 1))[:, None] / (stop - start + 1)
            out[start:stop] = before + weights * (after - before)
    return out


def fill_mouths(boxes: np.ndarray, mouths: np.ndarray) -> np.ndarray:
    """Mouth rows unknown where a face is known get the mouth's position relative to the face
    box interpolated from the frames that have one; (N, 4) float32 source pixels."""
    has_face = ~np.isnan(boxes).any(1)
    known = has_face & ~np.isnan(mouths).any(1)
    missing = has_face & ~known
    if not known.any() or not missing.any():
        return mouths
    origin = np.concatenate([boxes[:, :2], boxes[:, :2]], 1)
    size = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, 1)
    relative = (mouths - origin) / size
    frames = np.arange(len(boxes))
    out = mouths.copy()
    for k in range(4):
        relative[missing, k] = np.interp(frames[missing], frames[known], relative[known, k])
    out[missing] = relative[missing] * size[missing] + origin[missing]
    return out


def smooth_track(values: np.ndarray, window: int) -> np.ndarray:
    """(N, K) float32 with NaN rows -> centred moving average over ``window`` frames inside
    each run of complete rows. Near a run's ends the window shrinks symmetrically (the end
    frames keep their own value), so steady motion is not lagged and no gap is crossed."""
    out = values.copy()
    radius = window // 2
    if radius < 1:
        return out
    for start, stop in _runs(~np.isnan(values).any(axis=1)):
        run = values[start:stop].astype(np.float64)
        sums = np.concatenate([np.zeros((1, run.shape[1])), np.cumsum(run, axis=0)])
        index = np.arange(stop - start)
        reach = np.minimum(radius, np.minimum(index, stop - start - 1 - index))
        out[start:stop] = (sums[index + reach + 1] - sums[index - reach]) / (2 * reach + 1)[:, None]
    return out
