"""Which pixels of the face crop the lip-synced face replaces: the mask, its modes, and a
drawing of it for tuning.

Wav2Lip redraws the lower half of its 96 x 96 crop (rows 48-95, the part hidden from it),
jaw included; the original pastes that whole box back with a hard edge. We blend instead,
with a mask in one of two modes (the ones users know from Easy-Wav2Lip and sd-wav2lip-uhq):

- ``face`` (default): the lower face the model redraws: the crop's lower half, bounded by the
  face outline (the mesh's jaw line, ear to ear round the chin), so a mouth that opens wider
  than the source's, or a chin that drops, is not cut off, while the neck and the background
  beside the cheeks keep their own pixels;
- ``mouth``: tighter, the lips and the jaw just under them (an ellipse), for faces where the
  model's cheeks or chin look worse than the source's.

Both are grown (or shrunk, when negative) by ``size`` and faded in over ``feather``, each a
percentage of the crop's width, and are exactly 0 outside their outline, on the crop's
border (no seam) and above the line the model redraws from (less half the feather, so the
fade is centred on it). Geometry arrives in frame pixels: the crop box (integer x1 y1 x2 y2), the
outer-lip box and the jaw line ((P, 2) x, y), either of which may be unknown (None).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from heygem.settings import DEFAULT_MASK_FEATHER, DEFAULT_MASK_SIZE

WORK_SIDE = 128  # px: masks are drawn at most this big, then resized to the crop (~0.1 ms)
REDRAWN_FROM = 0.5  # of the crop's height: the model redraws the rows below this line
# Where the lips sit in a Wav2Lip-style crop when the mesh did not find them (fractions of
# its width and height), measured on the astronaut with the default pads.
ESTIMATED_MOUTH = (0.32, 0.68, 0.68, 0.80)
# The mouth-mode ellipse around the lips, in lip widths: beyond each corner, above the upper
# lip, below the lower lip (room for the jaw to drop).
MOUTH_SIDE, MOUTH_ABOVE, MOUTH_BELOW = 0.15, 0.15, 0.35
NEVER_VISIBLE = 1 / 512  # an alpha this small cannot change a pixel (the paste rounds)
OUTLINE_BGR = (0, 255, 255)  # the mask's half-strength line in the overlay
OUTER_BGR = (0, 140, 255)  # its outer edge (where it starts)
BOX_BGR = (0, 255, 0)  # the crop box


@dataclass(frozen=True)
class MaskOptions:
    mode: str = "face"  # "face" (the lower face, to the jaw line) or "mouth" (the lips and under)
    size: float = DEFAULT_MASK_SIZE  # % of the crop width the region grows (+) or shrinks (-)
    feather: float = DEFAULT_MASK_FEATHER  # % of the crop width over which its edge fades in


def estimated_mouth(crop) -> tuple[float, float, float, float]:
    """Where the lips usually sit in a crop box (x1 y1 x2 y2), frame pixels."""
    x1, y1, x2, y2 = crop
    fx1, fy1, fx2, fy2 = ESTIMATED_MOUTH
    w, h = x2 - x1, y2 - y1
    return x1 + fx1 * w, y1 + fy1 * h, x1 + fx2 * w, y1 + fy2 * h


def face_mask(crop, mouth, jaw, options: MaskOptions) -> np.ndarray:
    """The blend mask of one face: crop (x1 y1 x2 y2 integer frame pixels), mouth (outer-lip
    box, frame pixels, or None), jaw ((P, 2) frame pixels, or None) -> (h, w) float32 in
    [0, 1] of the crop's size."""
    x1, y1, x2, y2 = (int(v) for v in crop)
    height, width = y2 - y1, x2 - x1
    scale = min(1.0, WORK_SIDE / max(height, width))
    work_hw = (max(2, round(height * scale)), max(2, round(width * scale)))
    sx, sy = work_hw[1] / width, work_hw[0] / height
    origin = np.float32([x1, y1])

    def to_work(points) -> np.ndarray:
        return (np.asarray(points, np.float32).reshape(-1, 2) - origin) * np.float32([sx, sy])

    outline = _outline_region(work_hw, None if jaw is None else to_work(jaw))
    if options.mode == "mouth":
        lips = to_work(mouth if mouth is not None else estimated_mouth(crop)).ravel()
        outline &= _mouth_region(work_hw, lips)
    grow, feather = (value / 100 * work_hw[1] for value in (options.size, options.feather))
    region = _grown(outline, grow)
    # The model redraws below REDRAWN_FROM; the fade is centred on that line (half strength
    # there) so that an upper lip just under it is replaced whole.
    region[: max(0, round(REDRAWN_FROM * work_hw[0] - feather / 2))] = 0
    region[[0, -1]] = 0
    region[:, [0, -1]] = 0  # the crop's border stays the frame's own: no seam
    alpha = _feathered(region, feather)
    if alpha.shape != (height, width):
        alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
        alpha[alpha < NEVER_VISIBLE] = 0  # resizing smears a little past the outline
    return alpha


def _outline_region(work_hw: tuple[int, int], jaw: np.ndarray | None) -> np.ndarray:
    """(h, w) uint8 1 inside the lower face outline: the jaw polygon (closed across at ear
    level), or without a jaw line the ellipse inscribed in the crop."""
    height, width = work_hw
    region = np.zeros(work_hw, np.uint8)
    if jaw is not None and np.isfinite(jaw).all():
        cv2.fillPoly(region, [np.round(jaw * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    else:
        cv2.ellipse(region, (width // 2, height // 2), (width // 2, height // 2), 0, 0, 360, 1, -1)
    return region


def _mouth_region(work_hw: tuple[int, int], lips: np.ndarray) -> np.ndarray:
    """(h, w) uint8 1 inside the mouth-mode ellipse around the lips (x1 y1 x2 y2, work px)."""
    lx1, ly1, lx2, ly2 = (float(v) for v in lips)
    lip_width = max(lx2 - lx1, 2.0)
    left, right = lx1 - MOUTH_SIDE * lip_width, lx2 + MOUTH_SIDE * lip_width
    top, bottom = ly1 - MOUTH_ABOVE * lip_width, ly2 + MOUTH_BELOW * lip_width
    region = np.zeros(work_hw, np.uint8)
    centre = (round((left + right) * 8), round((top + bottom) * 8))  # 1/16 px, shift 4
    axes = (round((right - left) * 8), round((bottom - top) * 8))
    cv2.ellipse(region, centre, axes, 0, 0, 360, 1, -1, cv2.LINE_8, 4)
    return region


def _grown(region: np.ndarray, pixels: float) -> np.ndarray:
    """(h, w) uint8 0/1 region dilated by ``pixels`` (eroded when negative)."""
    if abs(pixels) < 0.5:
        return region.copy()
    if pixels > 0:
        outside = cv2.distanceTransform(1 - region, cv2.DIST_L2, 5)
        return (outside <= pixels).astype(np.uint8)
    inside = cv2.distanceTransform(region, cv2.DIST_L2, 5)
    return (inside > -pixels).astype(np.uint8)


def _feathered(region: np.ndarray, feather: float) -> np.ndarray:
    """(h, w) uint8 0/1 -> float32 alpha: 0 outside, rising along a smoothstep to 1 at
    ``feather`` pixels inside the edge (a hard edge when feather < 1)."""
    if feather < 1:
        return region.astype(np.float32)
    # distanceTransform counts to the nearest outside pixel's centre; the edge is half a pixel nearer
    t = np.clip((cv2.distanceTransform(region, cv2.DIST_L2, 5) - 0.5) / feather, 0, 1)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def draw_outline(frame: np.ndarray, crop, mask: np.ndarray) -> None:
    """Draw the crop box and the mask's outline (outer edge and half strength) on ``frame``
    (H, W, 3) uint8 BGR in place: the debug view for tuning pads and the mask."""
    x1, y1, x2, y2 = (int(v) for v in crop)
    thickness = max(2, round(max(frame.shape[:2]) / 480))  # 2 px at least: 4:2:0 chroma halves colour
    for level, colour in ((0.02, OUTER_BGR), (0.5, OUTLINE_BGR)):
        contours, _ = cv2.findContours(
            (mask > level).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        cv2.drawContours(frame, contours, -1, colour, thickness, cv2.LINE_AA, offset=(x1, y1))
    cv2.rectangle(frame, (x1, y1), (x2 - 1, y2 - 1), BOX_BGR, thickness, cv2.LINE_AA)
