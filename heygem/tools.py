"""Where the external ffmpeg binary comes from."""

from __future__ import annotations

import functools
import os


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: $HEYGEM_FFMPEG when set, else imageio-ffmpeg's.

    imageio-ffmpeg ships a pinned static build with libx264 and aac, so a pip-only install
    behaves the same on every machine; a system ffmpeg may lack libx264.
    """
    explicit = os.environ.get("HEYGEM_FFMPEG")
    if explicit:
        return explicit
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
