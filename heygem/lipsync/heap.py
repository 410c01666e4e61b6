"""Keep the process's memory flat over long videos (glibc's allocator; a no-op elsewhere).

Decoded 720p frames are 2.7 MB each and come and go by the thousand, from several threads
(decode, model, encode; new ones every chunk). glibc gives threads heaps of their own, up to
8 per core, and the holes left between frames in each make the resident size creep up with
the video's length (measured, torch on 2 cores: 938 MB for 20 s, 1071 MB for 60 s). Two heaps
and a trim after each chunk keep it flat at no measured cost in speed. (Serving such buffers
from ``mmap`` instead was flatter still but 28 % slower: every torch activation paid for
fresh pages.)
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger("heygem")

M_ARENA_MAX = -8  # mallopt parameter number in glibc's malloc.h
ARENAS = 2  # heaps shared by all threads (glibc's default: 8 per core)


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def keep_heap_flat() -> None:
    """Cap the number of heaps for the rest of the process (idempotent). Call it before the
    worker threads start: a thread keeps the heap it was first given."""
    libc = _libc()
    if libc is not None and libc.mallopt(M_ARENA_MAX, ARENAS) != 1:
        log.debug("mallopt(M_ARENA_MAX) refused; heap left as it is")


def release_freed_memory() -> None:
    """Give the heaps' free pages back to the system (after a chunk, between videos)."""
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(OSError):
            libc.malloc_trim(0)
