"""The external ffmpeg: where its binary comes from, and its command lines as argv lists.

:func:`command` is a pure builder (no process is run), so a test checks a command line
without running ffmpeg; options are dicts, so each flag stays beside its value.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

Options = Mapping[str, object]  # {"c:v": "libx264", "map": ["0:v:0", "1:a:0"], "vn": None}

# The one audio timeline: samples placed where their timestamps say, from the start of their
# file (a narration whose audio stream starts late, an .mp4 made with -itsoffset 0.3, gets
# that much silence first, as a player plays it). The mel (load_audio) and the muxed audio
# (mux) are both decoded through it, so they cannot drift apart.
AUDIO_TIMELINE = "aresample=async=1:first_pts=0"


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


def command(
    inputs: list[tuple[Options, str | Path]], output_options: Options, output: str | Path
) -> list[str]:
    """The argv of one quiet, non-interactive ffmpeg run that overwrites ``output``: each
    input's options then ``-i PATH``, then the output's options and its path ("-" is a pipe).

    An option's value may be a list (the flag repeats) or None (a flag without a value).
    """
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", "-y"]
    for options, path in inputs:
        argv += [*flags(options), "-i", str(path)]
    return [*argv, *flags(output_options), str(output)]


def flags(options: Options) -> list[str]:
    """{"f": "mp4", "map": ["0:v:0", "1:a:0"], "vn": None} -> -f mp4 -map 0:v:0 -map 1:a:0 -vn"""
    argv = []
    for name, value in options.items():
        for one in value if isinstance(value, (list, tuple)) else [value]:
            argv += [f"-{name}"] if one is None else [f"-{name}", str(one)]
    return argv
