"""This process's own peak memory, for the benches.

``getrusage(RUSAGE_SELF).ru_maxrss`` is not it: Linux carries the high-water mark across
``execve`` (and a child made with vfork, as ``subprocess`` does, starts from its parent's
memory), so a measurement run in a fresh process reported at least its parent's peak: a bench
that had made a 15-minute narration in memory saw every later child "peak" at 1.5 GB.
``VmHWM`` in ``/proc/self/status`` belongs to the process's own address space, which exec
replaces.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """The peak resident size of this process's own address space, MB (MiB); where there is
    no /proc (not Linux), ru_maxrss, which may include a parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
