"""The flags that say which face a video follows, which of its pixels the lip-synced face
replaces, and the face enhancer after the lip-sync (``batch``'s; README "Face enhancer")."""

from __future__ import annotations

import argparse

from heygem.settings import (
    DEFAULT_ENHANCER_BLEND,
    DEFAULT_MASK_FEATHER,
    DEFAULT_MASK_SIZE,
    ENHANCERS,
    MASK_MODES,
)


def add_face_options(parser: argparse.ArgumentParser) -> None:
    """Which face, and which of its pixels the lip-synced face replaces."""
    parser.add_argument(
        "--face-point",
        type=float,
        nargs=2,
        metavar=("X", "Y"),
        help="follow the face at this point (source pixels) instead of the largest, most central one",
    )
    parser.add_argument(
        "--mask",
        default="face",
        choices=MASK_MODES,
        help="face: the lower face to the jaw line (default); mouth: the lips and just under them",
    )
    parser.add_argument(
        "--mask-size",
        type=float,
        default=DEFAULT_MASK_SIZE,
        help="%% of the face width the mask grows (- shrinks)",
    )
    parser.add_argument(
        "--mask-feather",
        type=float,
        default=DEFAULT_MASK_FEATHER,
        help="%% of the face width its edge fades over",
    )
    parser.add_argument(
        "--overlay", action="store_true", help="draw the face box and the mask outline (tuning)"
    )


def add_enhancer_options(parser: argparse.ArgumentParser) -> None:
    """The face enhancer after the lip-sync (README "Face enhancer")."""
    parser.add_argument(
        "--enhancer",
        default="auto",
        choices=ENHANCERS,
        help="face restorer after the lip-sync (auto: gfpgan on a CUDA GPU with its weights, for faces "
        "scaled up 2x or more; off on the CPU, where it costs seconds per frame)",
    )
    parser.add_argument(
        "--enhancer-blend",
        type=float,
        default=DEFAULT_ENHANCER_BLEND,
        help="%% of the restored face painted in, inside the lip-sync mask (0-100)",
    )
