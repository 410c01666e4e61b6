"""The heap cap that keeps memory flat over long videos (glibc only)."""

import ctypes
import ctypes.util
import subprocess
import sys

import pytest

# Run in a fresh interpreter: heaps, once created, stay. Eight threads allocate at once, then
# glibc's own report (malloc_info) says how many heaps the process has.
PROBE = """
import ctypes, ctypes.util, re, sys, tempfile, threading
from heygem.lipsync.heap import keep_heap_flat, release_freed_memory
if sys.argv[1] == "flat":
    keep_heap_flat()
barrier = threading.Barrier(8)
def run():
    barrier.wait()
    blobs = [bytearray(64 * 1024) for _ in range(50)]
    barrier.wait()
    del blobs
threads = [threading.Thread(target=run) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
release_freed_memory()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
print(len(re.findall(r'<heap nr="[0-9]+">', open(path).read())))
"""


def _glibc() -> bool:
    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_info")
    except OSError:
        return False


def heaps(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return int(out.stdout.strip())


@pytest.mark.env
@pytest.mark.skipif(not _glibc(), reason="the heap cap is glibc's (malloc_info not found)")
def test_threads_share_two_heaps():
    """Capped, eight threads share at most two heaps, against the baseline measured here (what
    glibc does on its own depends on the machine's cores and its build)."""
    baseline = heaps("default")
    if baseline <= 2:
        pytest.skip(f"this glibc keeps {baseline} heap(s) for eight threads on its own: nothing to cap here")
    assert heaps("flat") <= 2 < baseline
