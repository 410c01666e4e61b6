"""Steady boxes: a still face keeps ONE box for the whole video, a moving face is followed
without lag and without the detector's frame-to-frame noise.

A detector's box moves by a pixel or two between frames even when the face does not, and
every such move shifts the 96 x 96 crop the model sees: with real weights, mouth shimmer on
exactly the clips users record most (a presenter on a tripod). So the track is first averaged
over a few frames (:func:`smooth`), then *held* (:func:`hold`): a value moves only when the
averaged input leaves a band of :data:`HOLD_BAND` box sides around it, and then just far
enough to keep it inside (a backlash or "play" operator, the hysteresis of a gear with slack).
Run forward alone it would trail a moving face by the band; run backward it would lead by as
much; their mean follows steady motion exactly, eases in and out where motion starts and
stops, and is constant wherever the input stays within the band.

Arrays are (N, K) float with NaN rows where there is no face; smoothing and holding work
within each *segment* (a run of frames with a face, cut where the box jumps: a scene cut) and
never across a gap or a cut.
"""

from __future__ import annotations

import numpy as np

HOLD_BAND = 0.01  # of the box side: detector noise within +- this never moves the box
HOLD_START = 25  # frames whose median the held value starts from
CUT_JUMP = 0.25  # of the box side: a box edge moving this far in one frame is a cut


def runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """(N,) bool -> [(start, stop)] of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def segments(boxes: np.ndarray) -> list[tuple[int, int]]:
    """(N, 4) boxes with NaN rows -> [(start, stop)] of each run of complete rows, split
    where an edge jumps by CUT_JUMP of the box side from one frame to the next."""
    valid = ~np.isnan(boxes).any(axis=1)
    side = boxes[:, 2] - boxes[:, 0]
    with np.errstate(invalid="ignore"):
        jump = (np.abs(np.diff(boxes, axis=0)) > CUT_JUMP * side[1:, None]).any(axis=1)
    cuts = np.flatnonzero(jump & valid[1:] & valid[:-1]) + 1
    out = []
    for start, stop in runs(valid):
        inner = [int(c) for c in cuts if start < c < stop]
        out += list(zip([start, *inner], [*inner, stop], strict=True))
    return out


def smooth(values: np.ndarray, window: int, parts: list[tuple[int, int]] | None = None) -> np.ndarray:
    """(N, K) float32 with NaN rows -> centred moving average over ``window`` frames inside
    each of ``parts`` [(start, stop)] (default: each run of complete rows). Near a part's ends
    the window shrinks symmetrically (the end frames keep their own value), so steady motion
    is not lagged and no gap or cut is crossed."""
    out = values.copy()
    radius = window // 2
    if radius < 1:
        return out
    for start, stop in runs(~np.isnan(values).any(axis=1)) if parts is None else parts:
        run = values[start:stop].astype(np.float64)
        sums = np.concatenate([np.zeros((1, run.shape[1])), np.cumsum(run, axis=0)])
        index = np.arange(stop - start)
        reach = np.minimum(radius, np.minimum(index, stop - start - 1 - index))
        out[start:stop] = (sums[index + reach + 1] - sums[index - reach]) / (2 * reach + 1)[:, None]
    return out


def hold(values: np.ndarray, band: np.ndarray) -> np.ndarray:
    """(N, K) float64, one run without NaN; band (N, 1) or (N, K) half-widths, same units ->
    (N, K) float64: the mean of the play operator run forward and run backward."""
    forward = _play(values, band)
    backward = _play(values[::-1], band[::-1])[::-1]
    return (forward + backward) / 2


def _play(values: np.ndarray, band: np.ndarray) -> np.ndarray:
    """The play operator: out[t] = out[t - 1] clamped to values[t] +- band[t], starting from
    the median of the first HOLD_START frames (the first frame alone is the noisiest: the
    averaging window shrinks to nothing there)."""
    out = np.empty_like(values)
    lows, highs = values - band, values + band
    current = np.median(values[:HOLD_START], axis=0)
    for t in range(len(values)):
        current = np.minimum(np.maximum(current, lows[t]), highs[t])
        out[t] = current
    return out


def steady_boxes(boxes: np.ndarray, window: int, band: float = HOLD_BAND) -> np.ndarray:
    """(N, 4) float32 x1 y1 x2 y2 with NaN rows -> the steady track, same shape: averaged
    over ``window`` frames, then centre and size held within ``band`` of the segment's median
    box size, in each of :func:`segments`."""
    parts = segments(boxes)
    out = smooth(boxes, window, parts)
    for start, stop in parts:
        run = out[start:stop].astype(np.float64)
        centre, size = (run[:, :2] + run[:, 2:]) / 2, run[:, 2:] - run[:, :2]
        half_band = np.full((len(run), 1), band * np.median(size))  # constant: noise-free bounds
        centre, size = hold(centre, half_band), hold(size, half_band)
        out[start:stop] = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    return out


def steady_points(points: np.ndarray, boxes: np.ndarray, window: int, band: float = HOLD_BAND) -> np.ndarray:
    """(N, P, 2) float32 landmark points of the faces in ``boxes`` (N, 4), same pixels, NaN
    exactly where the boxes are -> the points averaged and held like the boxes (same
    segments), the band measured in the segment's median box side."""
    parts = segments(boxes)
    flat = smooth(points.reshape(len(points), -1), window, parts)
    side = (boxes[:, 2] - boxes[:, 0]).astype(np.float64)
    for start, stop in parts:
        half_band = np.full((stop - start, 1), band * np.median(side[start:stop]))
        flat[start:stop] = hold(flat[start:stop].astype(np.float64), half_band)
    return flat.reshape(points.shape)
