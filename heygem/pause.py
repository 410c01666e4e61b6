"""Pause points, for tests that must act at an exact moment (kill during the mux, cancel in a
given chunk) instead of racing a poll.

A point is a name passed to :func:`pause_point` at a place worth stopping: ``load`` (before
the models load), ``video<N>:<stage>:<chunk>`` (a video of a batch reaching a stage or a
chunk, N from 1), ``mux`` (the finished output written, not yet given its name). Only when
``$HEYGEM_TEST_PAUSE_AT`` holds a matching pattern (comma-separated, shell wildcards) does
one pause: it creates ``<name>.paused`` in ``$HEYGEM_TEST_PAUSE_DIR`` and waits until that
file is deleted (by the test: :class:`heygem.testing.processes.Pauses`), for at most
:data:`PAUSE_LIMIT` seconds. Unset, a point costs one environment lookup.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tempfile
import time
from pathlib import Path

PAUSE_LIMIT = 600.0  # seconds: a test that never lets go does not hang the process for ever


def marker_for(name: str, folder: str | Path | None = None) -> Path:
    """The file whose existence holds the point ``name``."""
    folder = folder or os.environ.get("HEYGEM_TEST_PAUSE_DIR") or tempfile.gettempdir()
    return Path(folder) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.paused"


def pause_point(name: str) -> None:
    """Wait here while a test holds ``name`` (see the module docstring); else return at once."""
    patterns = os.environ.get("HEYGEM_TEST_PAUSE_AT")
    if not patterns or not any(fnmatch.fnmatchcase(name, p.strip()) for p in patterns.split(",")):
        return
    marker = marker_for(name)
    marker.write_text(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_LIMIT
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
