"""From a frame to the restorer's 512 x 512 face and back: the similarity transform from five
steady points, the warp, and the restorer's change brought back onto the face crop.

The five points (eye centres, nose tip, mouth corners; frame pixels) come from the face track
(:mod:`heygem.faces.track`), which holds them as steadily as the crop box, so a still
presenter gets the very same transform on every frame. The transform is the least-squares
similarity (scale, rotation, shift; no shear, no mirror) onto FFHQ's template, a smooth
function of the points: facexlib's ``estimateAffinePartial2D(method=LMEDS)`` keeps whichever
subset of points fits best, which can switch from one frame to the next (a jump).

What goes back onto the crop is the restorer's *change* (restored minus aligned input), warped
back, with its low frequencies removed, added to the lip-synced crop: where the restorer
changes nothing the crop keeps its pixels (a face larger than 512 px keeps its own fine
detail, which a round trip through 512 px would blur), colour and shading stay the frame's
(no tint, no seam), and the detail the restorer draws (teeth, lip edges) is added.

Frames and faces are (H, W, 3) uint8 BGR; the restorer's colour order is its runtime's concern.
"""

from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIDE = 512  # px: the restorers' input and output side
# facexlib's FFHQ template for a 512 px face: left eye, right eye, nose tip, left and right
# mouth corner (image left and right), x y pixels.
FFHQ_TEMPLATE = np.array(
    [
        [192.98138, 239.94708],
        [318.90277, 240.1936],
        [256.63416, 314.01935],
        [201.26117, 371.41043],
        [313.08905, 371.15118],
    ]
)
COLOUR_SIGMA = 0.04  # of the crop width: the restorer's changes finer than this are added; coarser
# ones (colour, shading, the mouth's shape) stay the lip-synced frame's, so no seam and no tint shows


def similarity(points: np.ndarray, side: int = ALIGNED_SIDE) -> np.ndarray:
    """(5, 2) points, frame pixels -> (2, 3) float64 affine of the least-squares similarity
    taking them onto FFHQ's template for a ``side`` px face (aligned pixels)."""
    template = FFHQ_TEMPLATE * (side / ALIGNED_SIDE)
    source = np.asarray(points, np.float64)
    source_mean, target_mean = source.mean(0), template.mean(0)
    z = (source - source_mean) @ np.array([1, 1j])  # points as complex numbers
    w = (template - target_mean) @ np.array([1, 1j])
    a = np.vdot(z, w) / np.vdot(z, z).real  # scale * e^(i angle) minimising |a z - w|^2
    linear = np.array([[a.real, -a.imag], [a.imag, a.real]])
    return np.hstack([linear, (target_mean - linear @ source_mean)[:, None]])


def aligned_face(frame: np.ndarray, matrix: np.ndarray, side: int = ALIGNED_SIDE) -> np.ndarray:
    """frame (H, W, 3) uint8 BGR, matrix (2, 3) frame -> aligned -> (side, side, 3) uint8 BGR,
    bilinear, the frame's edge repeated where the face reaches past it."""
    return cv2.warpAffine(
        frame, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def to_crop(aligned: np.ndarray, matrix: np.ndarray, crop) -> tuple[np.ndarray, np.ndarray]:
    """An aligned image back onto the crop box (x1 y1 x2 y2 integer frame pixels): aligned
    (side, side, C) uint8 or float32, matrix (2, 3) frame -> aligned -> ((h, w, C) float32,
    bilinear, 0 outside the square; (h, w) float32 coverage: 1 where the crop's pixel lies
    inside the aligned square, falling to 0 over its last pixel)."""
    x1, y1, x2, y2 = (int(v) for v in crop)
    size = (x2 - x1, y2 - y1)
    # crop pixel (u, v) is frame pixel (u + x1, v + y1): shift, then the forward transform
    shifted = matrix.copy()
    shifted[:, 2] += matrix[:, :2] @ np.array([x1, y1], np.float64)
    inverse = cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR
    back = cv2.warpAffine(
        aligned.astype(np.float32), shifted, size, flags=inverse, borderMode=cv2.BORDER_CONSTANT
    )
    inside = np.ones(aligned.shape[:2], np.float32)
    coverage = cv2.warpAffine(inside, shifted, size, flags=inverse, borderMode=cv2.BORDER_CONSTANT)
    return back, coverage


def restored_crop(
    crop_pixels: np.ndarray, aligned: np.ndarray, restored: np.ndarray, matrix: np.ndarray, crop
) -> tuple[np.ndarray, np.ndarray]:
    """The lip-synced crop with the restorer's detail added: crop_pixels (h, w, 3) uint8 BGR
    (the frame's crop box), aligned and restored (side, side, 3) uint8 BGR (the restorer's
    input and output), matrix (2, 3) frame -> aligned, crop x1 y1 x2 y2 -> ((h, w, 3) uint8
    BGR, (h, w) float32 coverage of the aligned square)."""
    change, coverage = to_crop(restored.astype(np.float32) - aligned, matrix, crop)
    return np.clip(crop_pixels + detail(change, coverage) + 0.5, 0, 255).astype(np.uint8), coverage


def detail(change: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """``change`` (h, w, 3) float32 without its low frequencies: less its Gaussian average
    (sigma :data:`COLOUR_SIGMA` of the width) over ``coverage`` (h, w) float32, where the
    change is defined."""
    sigma = max(1.0, COLOUR_SIGMA * change.shape[1])
    spread = cv2.GaussianBlur(change * coverage[:, :, None], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    reach = cv2.GaussianBlur(coverage, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)[:, :, None]
    return change - spread / np.maximum(reach, 1e-3)
