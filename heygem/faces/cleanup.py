"""Cleaning a raw face track before it is smoothed: single-frame outliers, detector misses,
faces too brief to be real, and landmarks for the frames the mesh did not run on.

Boxes are (N, 4) float32 x1 y1 x2 y2 with NaN rows where there is no face; landmark points
are (N, P, 2) float32 x, y in the same pixels, NaN where unknown.
"""

from __future__ import annotations

import numpy as np

from heygem.faces.steady import runs

OUTLIER_JUMP = 0.25  # box-side fraction an edge may jump from both neighbours before rejection
MAX_FILLED_GAP = 2  # frames: a shorter miss between two agreeing boxes is a detector miss
MIN_FACE_FRAMES = 6  # frames (0.24 s at 25 fps): a shorter run of faces is not painted


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
    """Copy where a single-frame box far from both neighbours, while the neighbours agree,
    is replaced by the neighbours' mean."""
    out = boxes.copy()
    before, current, after = boxes[:-2], boxes[1:-1], boxes[2:]
    size = (before[:, 2] - before[:, 0] + after[:, 2] - after[:, 0]) / 2
    outlier = _agree(before, after) & _far(current, before, size) & _far(current, after, size)
    out[1:-1][outlier] = (before[outlier] + after[outlier]) / 2
    return out


def fill_short_gaps(boxes: np.ndarray) -> np.ndarray:
    """Copy with gaps of up to MAX_FILLED_GAP NaN rows interpolated when the boxes on both
    sides agree: a detector miss, not a face leaving, and a frame left unsynced there would
    flash the original mouth."""
    out = boxes.copy()
    for start, stop in runs(np.isnan(boxes).any(axis=1)):
        if start == 0 or stop == len(boxes) or stop - start > MAX_FILLED_GAP:
            continue
        before, after = boxes[start - 1], boxes[stop]
        if _agree(before[None], after[None])[0]:
            weights = (np.arange(start, stop) - (start - 1))[:, None] / (stop - start + 1)
            out[start:stop] = before + weights * (after - before)
    return out


def drop_short_runs(boxes: np.ndarray, min_frames: int = MIN_FACE_FRAMES) -> np.ndarray:
    """Copy with every run of faces shorter than ``min_frames`` (or than the whole track,
    for a track that short) set to NaN: an isolated detection is not a presenter."""
    out = boxes.copy()
    shortest = min(min_frames, len(boxes))
    for start, stop in runs(~np.isnan(boxes).any(axis=1)):
        if stop - start < shortest:
            out[start:stop] = np.nan
    return out


def fill_points(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points unknown where a face is known get their position relative to the face box
    interpolated from the frames that have them (and NaN where there is no face):
    (N, 4) boxes, (N, P, 2) points -> (N, P, 2) float32."""
    has_face = ~np.isnan(boxes).any(1)
    known = has_face & ~np.isnan(points).any(axis=(1, 2))
    out = points.copy()
    out[~has_face] = np.nan
    missing = has_face & ~known
    if not known.any() or not missing.any():
        return out
    origin, size = boxes[:, None, :2], boxes[:, None, 2:] - boxes[:, None, :2]
    relative = ((points - origin) / size).reshape(len(boxes), -1)
    frames = np.arange(len(boxes))
    for k in range(relative.shape[1]):
        relative[missing, k] = np.interp(frames[missing], frames[known], relative[known, k])
    out[missing] = relative[missing].reshape(-1, *points.shape[1:]) * size[missing] + origin[missing]
    return out
