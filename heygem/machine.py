"""What this machine offers a process: its cores, thread priorities, the CPU's instruction
sets, and so what runtime "auto" means here."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity mask, not the host's count (ffmpeg's
    and x264's "auto" count the host's, so a container given 2 of 64 cores ran 96 threads)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def lower_priority(steps: int, pid: int | None = None) -> None:
    """Run the calling thread, or every thread of process ``pid``, ``steps`` nicer than now
    (Linux niceness is per thread; a thread inherits its creator's). Where niceness cannot be
    set (another OS), nothing changes."""
    if steps <= 0 or not hasattr(os, "setpriority"):
        return
    if pid is None:
        import threading

        threads = [threading.get_native_id()]
    else:
        tasks = Path(f"/proc/{pid}/task")
        threads = [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [pid]
    for thread in threads:
        with contextlib.suppress(OSError):  # a thread that just ended
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + steps))


def native_bf16() -> bool:
    """Whether this CPU computes bf16 dot products in hardware (AVX512-BF16 or AMX), which is
    what makes the OpenVINO bf16 runtimes fast; elsewhere bf16 is emulated (slower than f32)."""
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


# The int8 dot-product instruction sets, best first, as /proc/cpuinfo names them.
INT8_ISAS = (("amx", "amx_int8"), ("avx512_vnni", "avx512_vnni"), ("avx_vnni", "avx_vnni"), ("avx2", "avx2"))


def int8_isa() -> str:
    """The best int8 instruction set of this CPU: amx, avx512_vnni, avx_vnni, avx2 (which adds
    u8 x s8 pairs in 16 bits, so int8 outputs may differ from the others') or "other"."""
    flags = _cpu_flags()
    return next((name for name, flag in INT8_ISAS if flag in flags), "other")


def _cpu_flags() -> set[str]:
    """The words of /proc/cpuinfo (its flags among them); empty where there is none."""
    try:
        return set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return set()


def auto_runtime(device: str) -> str:
    """What runtime "auto" means for a network on ``device`` (Wav2Lip and the face enhancer
    alike): torch on CUDA (fp16); on the CPU OpenVINO, in bf16 where the CPU has it natively
    and in f32 elsewhere, when OpenVINO is installed (torch otherwise). Measured faster than
    torch on these CPUs for both networks (docs/performance.md). For Wav2Lip on
    the CPU the int8 gate may run int8 instead (heygem.lipsync.gate)."""
    if device != "cpu" or importlib.util.find_spec("openvino") is None:
        return "torch"
    return "openvino-bf16" if native_bf16() else "openvino"
