"""Refuse a video up front when its output cannot fit on the disk.

A video needs room for its chunk segments and, while they are joined, for the finished file
beside them: about twice the output. The output's size is estimated generously from its
pixel rate (x264 at the CRFs we use stays well under 0.15 bits per pixel for talking heads).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from heygem.errors import HeygemError

BITS_PER_PIXEL = 0.15  # generous x264 rate for a presenter video at CRF 18-28
AUDIO_BYTES_PER_SECOND = 192_000 // 8
MARGIN_BYTES = 200 * 1024 * 1024  # never fill the disk to the last byte


class DiskFullError(HeygemError):
    """Not enough free space for a video's output."""


def needed_bytes(width: int, height: int, fps: float, seconds: float) -> int:
    video = width * height * fps * seconds * BITS_PER_PIXEL / 8
    return int(2 * (video + AUDIO_BYTES_PER_SECOND * seconds) + MARGIN_BYTES)


def check_free_space(folder: Path, width: int, height: int, fps: float, seconds: float, name: str) -> None:
    """Raise DiskFullError naming the video when ``folder``'s disk has less room than it needs."""
    folder.mkdir(parents=True, exist_ok=True)
    need = needed_bytes(width, height, fps, seconds)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise DiskFullError(
            f"{name}: not enough free disk space in {folder} "
            f"(needs about {need / 1e9:.2f} GB, {free / 1e9:.2f} GB free)"
        )
