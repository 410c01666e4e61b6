"""Pass 1: a video's face track, from the cache or detected on keyframes.

Every source frame the output uses is decoded, but faces are detected on a small copy of
every ``interval``-th frame only (the keyframes; the last frame is one too), searched for
near where the face is expected (one zoomed BlazeFace pass instead of two). Between two
keyframes the box follows the parabola through the last three keyframes (a line after the
first), when both ends show the followed face and the middle frame, detected as a check, lies
on the path within ``KEYFRAME_TOLERANCE`` of the box size; otherwise every frame of the
segment is detected, so a quick turn or a cut costs per-frame detection only where it
happens. The face mesh runs on every detection and confirms it (a box it sees no face in is
dropped); the frames it did not run on get their lips and jaw from the neighbouring
keyframes' spot inside the face box (:func:`heygem.faces.cleanup.fill_points`).
``interval`` 1 is plain per-frame detection of the whole frame. Only one segment's decoded
frames are held at a time.

Measured against plain per-frame detection (docs/performance.md), interval 8 keeps every
frame's box at IoU >= 0.93 on the test clips, a face sweeping a 1280x720 frame included,
while running the detector on about a quarter of the frames (a still face: one in four).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from heygem.faces.detectors import Detector, find_faces
from heygem.faces.mesh import Landmarker
from heygem.faces.track import FaceTrack, TrackBuilder, same_face
from heygem.faces.trackcache import TrackCache
from heygem.media import video as vio
from heygem.media.files import file_digest

log = logging.getLogger("heygem")

DETECT_LONG_SIDE = 640  # pixels: faces are detected on a copy scaled down to this
KEYFRAME_TOLERANCE = 0.04  # of the box side: the most a checked frame may stray from the line
REPORT_EVERY = 25  # frames between two progress reports


@dataclass(frozen=True)
class TrackSettings:
    interval: int = 8  # frames from one keyframe to the next; 1 detects every frame
    smooth_window: int = 5  # frames averaged when smoothing the boxes over time
    steady: bool = True  # hold a still face's box (heygem.faces.steady); False: averaging only
    face_point: tuple[float, float] | None = None  # x, y source pixels: follow the face there


@dataclass
class TrackResult:
    track: FaceTrack  # one box and mouth per frame, source pixels
    cached: bool  # True when read from the cache, no detection run
    seconds: float  # wall time of this pass, hashing and cache included
    detected_frames: int  # frames the detector ran on (0 when cached)


# progress(frames_done, frames_total) while detecting
DetectProgress = Callable[[int, int], None]


def face_track(
    info: vio.VideoInfo,
    n_frames: int,
    detector: Detector,
    landmarker: Landmarker | None,
    settings: TrackSettings,
    cache: TrackCache | None,
    progress: DetectProgress,
) -> TrackResult:
    """The track of timeline frames 0..n_frames-1 of ``info``, faces found by ``detector``
    (mouths by ``landmarker``, when given). Stored in (and read from) ``cache`` when given,
    keyed by the file's bytes, the detector's cache key and ``settings``."""
    started = time.monotonic()
    progress(0, n_frames)
    key = None
    if cache is not None:
        key = cache.key(file_digest(info.path), _key_settings(detector, landmarker, settings))
        track = cache.get(key, n_frames)
        if track is not None:
            log.info("%s: face track of %d frames from the cache", info.path.name, n_frames)
            progress(n_frames, n_frames)
            return TrackResult(track, True, time.monotonic() - started, 0)
    size = detection_size(info)
    builder = TrackBuilder((size[1], size[0]), info.width / size[0], settings.face_point)
    finder = _Finder(detector, landmarker)
    detected = _detect(info, n_frames, finder, builder, settings.interval, progress)
    track = builder.finish(settings.smooth_window, settings.steady)
    if key is not None:
        cache.put(key, track)
    seconds = time.monotonic() - started
    log.info(
        "%s: face track of %d frames in %.1f s, detector run on %d (%d without a face)",
        info.path.name,
        n_frames,
        seconds,
        detected,
        track.frames_without_face,
    )
    return TrackResult(track, False, seconds, detected)


def detection_size(info: vio.VideoInfo) -> tuple[int, int]:
    """(w, h) of the small copy faces are detected on: the long side at most DETECT_LONG_SIDE."""
    scale = min(1.0, DETECT_LONG_SIDE / max(info.width, info.height))
    return max(2, round(info.width * scale)), max(2, round(info.height * scale))


def _key_settings(detector: Detector, landmarker, settings: TrackSettings) -> dict:
    return {
        "detector": getattr(detector, "cache_key", detector.name),
        "mesh": landmarker is not None,
        "long_side": DETECT_LONG_SIDE,
        "interval": settings.interval,
        "tolerance": KEYFRAME_TOLERANCE if settings.interval > 1 else None,
        "smooth_window": settings.smooth_window,
        "steady": settings.steady,
        "face_point": None if settings.face_point is None else [float(v) for v in settings.face_point],
    }


class _Finder:
    """Confirmed faces of one frame: the detector, then the mesh (:func:`find_faces`)."""

    def __init__(self, detector: Detector, landmarker: Landmarker | None):
        self.detector, self.landmarker = detector, landmarker

    def __call__(self, frame: np.ndarray, near=None) -> tuple[np.ndarray, list]:
        return find_faces(self.detector, self.landmarker, frame, near)


def _detect(info, n_frames, finder: _Finder, builder: TrackBuilder, interval: int, progress) -> int:
    """Feed every frame to ``builder`` (detected or interpolated); returns detector runs."""
    runs, reported = 0, 0
    pending: list[Callable[[], np.ndarray]] = []  # frames after the last keyframe, undecoded
    keys: list[tuple[int, np.ndarray]] = []  # (frame, followed box) at the last 2 keyframes
    frames = vio.read_lazily(info, range(n_frames), detection_size(info))
    for i, convert in enumerate(frames):
        if i % max(1, interval) and i != n_frames - 1:
            pending.append(convert)
            continue
        keyframe = convert()
        guess = _extrapolate(keys, i) if interval > 1 else None
        boxes, shapes = finder(keyframe, guess)
        runs += 1 + _segment(finder, builder, pending, keys, (i, boxes, guess))
        builder.add(boxes, shapes)
        box = builder.last_box
        keys = [] if box is None else [*keys[-1:], (i, box)]
        pending = []
        if i + 1 - reported >= REPORT_EVERY or i == n_frames - 1:
            progress(i + 1, n_frames)
            reported = i + 1
    return runs


def _extrapolate(keys: list[tuple[int, np.ndarray]], frame: int) -> np.ndarray | None:
    """(4,) box where the followed face should be at ``frame``, moving on as it did between
    the last two keyframes ``keys`` [(frame, box)]; None when no face is being followed."""
    if not keys:
        return None
    (t1, last) = keys[-1]
    if len(keys) < 2:
        return last
    t0, before = keys[0]
    return last + (last - before) * (frame - t1) / (t1 - t0)


def _segment(finder: _Finder, builder: TrackBuilder, pending: list, keys: list, key: tuple) -> int:
    """Feed the frames between the last keyframe and the next one, ``key`` = (frame, its
    (M, 4) detections, (4,) box where the face was expected or None); returns how many of
    them the detector ran on."""
    if not pending:
        return 0
    path = _path(keys, *key, len(pending))
    middle, checked = len(pending) // 2, None  # the middle frame's (boxes, shapes)
    if path is not None:
        frame = pending[middle]()
        checked = finder(frame, path[middle])
        found = checked[0]
        match = same_face(path[middle], found)
        tolerance = KEYFRAME_TOLERANCE * (path[middle, 2] - path[middle, 0])
        if match is not None and np.abs(found[match] - path[middle]).max() <= tolerance:
            for box in path:
                builder.add(box[None])
            return 1
    for k, convert in enumerate(pending):
        if checked is not None and k == middle:
            builder.add(*checked)
            continue
        builder.add(*finder(convert(), builder.last_box))
    return len(pending)


def _path(keys: list, end: int, key_boxes: np.ndarray, guess, count: int) -> np.ndarray | None:
    """(count, 4) boxes for the frames between the last keyframe in ``keys`` and frame
    ``end``, following the face among ``key_boxes`` (M, 4) that continues the track (nearest
    ``guess``): the parabola through the last two keyframes and this one (a line when only
    one is known). None when either end lacks the face."""
    if not keys or guess is None:
        return None
    match = same_face(guess, key_boxes)
    if match is None:
        return None
    times = np.array([t for t, _ in keys] + [end], np.float64)
    points = np.array([box for _, box in keys] + [key_boxes[match]], np.float64)
    frames = np.arange(times[-2] + 1, end, dtype=np.float64)
    path = np.zeros((count, 4))
    for j, (t_j, p_j) in enumerate(zip(times, points, strict=True)):  # Lagrange basis
        others = np.delete(times, j)
        weight = np.prod([(frames - t) / (t_j - t) for t in others], axis=0)
        path += weight[:, None] * p_j
    return path.astype(np.float32)
