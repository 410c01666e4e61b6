"""The int8 gate: ``--runtime auto`` runs int8 on a CPU only for weights it proves itself on.

The first time a checkpoint is used with ``auto`` on a CPU (with OpenVINO installed), int8 is
calibrated as for ``openvino-int8`` and its faces are compared with OpenVINO f32's on
held-out inputs the calibration never saw (:mod:`heygem.lipsync.heldout`): the mean and the
99.9th percentile of the absolute pixel differences. Within :data:`MEAN_MAX` and
:data:`P99_9_MAX` levels, ``auto`` runs ``openvino-int8``; otherwise the best float runtime
(``openvino-bf16`` on a CPU with native bf16, ``openvino`` f32 elsewhere).

The verdict is written beside the exported graphs, one JSON file per checkpoint SHA-256 and
int8 instruction set (AVX2 machines add u8 x s8 pairs in 16 bits, VNNI ones do not, so their
int8 outputs may differ), and read back on every later use: measured once, not per process.
An explicit runtime never runs the gate.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from heygem.lipsync.heldout import HELD_OUT_FRAMES, differences, held_out_batch
from heygem.machine import auto_runtime, int8_isa
from heygem.media.files import file_digest, replacing

log = logging.getLogger("heygem")

MEAN_MAX = 0.5  # pixel levels: int8's mean absolute difference from f32 on held-out frames
P99_9_MAX = 3.0  # pixel levels: its 99.9th percentile
INT8 = "openvino-int8"
REFERENCE = "openvino"  # f32, within 1 level of torch fp32 (tests/lipsync/test_openvino.py)
VERDICT_FORMAT = 1  # bump when the measurement changes: verdicts on disk are measured again
MEASURE_BATCH = 16  # frames per call while measuring, the OpenVINO runtimes' default batch


@dataclass(frozen=True)
class Int8Verdict:
    """Whether int8 may run a checkpoint, and the figures that decided it."""

    checkpoint_sha256: str  # the weights judged
    passed: bool  # mean <= MEAN_MAX and p99_9 <= P99_9_MAX
    runtime: str  # what ``auto`` runs for these weights here: openvino-int8 or the float runtime
    mean: float  # mean absolute difference of int8's output pixels from f32's, levels
    p99_9: float  # 99.9th percentile of those differences, levels
    max: int  # largest difference, levels
    frames: int  # held-out frames compared
    mean_max: float  # the bars applied
    p99_9_max: float
    isa: str  # the int8 instruction set it was measured with (amx, avx512_vnni, avx_vnni, avx2)
    measured: str  # when, local time, ISO 8601
    seconds: float  # how long calibrating and measuring took

    def summary(self) -> str:
        """One line for the log, the System tab and the bench."""
        outcome = "passed" if self.passed else "failed"
        return (
            f"int8 gate {outcome} (mean {self.mean:.3f} <= {self.mean_max:g}, p99.9 {self.p99_9:.1f} "
            f"<= {self.p99_9_max:g} levels, max {self.max}, {self.frames} held-out frames, {self.isa}, "
            f"{self.measured}): runs {self.runtime}"
        )


def int8_verdict(checkpoint: Path, cache_dir: Path | None = None) -> Int8Verdict:
    """The gate's verdict on ``checkpoint`` for this CPU: read from the cache, or measured
    (int8 calibrated and exported first when needed) and written there."""
    digest = file_digest(checkpoint)
    isa, fallback = int8_isa(), auto_runtime("cpu")  # the float runtime: bf16 where native
    path = verdict_path(digest, isa, cache_dir)
    known = _read(path, digest)
    if known is not None:
        verdict = _with_runtime(known, fallback)
        log.info("%s (kept in %s)", verdict.summary(), path.name)
        return verdict
    verdict = _measure(Path(checkpoint), digest, isa, fallback, cache_dir)
    with replacing(path) as temp:
        temp.write_text(json.dumps({"format": VERDICT_FORMAT, **asdict(verdict)}, indent=2))
    log.info("%s (measured in %.1f s, kept in %s)", verdict.summary(), verdict.seconds, path.name)
    return verdict


def verdict_path(digest: str, isa: str, cache_dir: Path | None = None) -> Path:
    """Where the verdict on the checkpoint with SHA-256 ``digest`` is kept: beside its graphs."""
    from heygem.lipsync.runtimes import export_folder, export_stem

    return export_folder(cache_dir) / f"{export_stem(digest)}-int8-gate-{isa}.json"


def _measure(checkpoint: Path, digest: str, isa: str, fallback: str, cache_dir: Path | None) -> Int8Verdict:
    from heygem.lipsync.openvino_runtime import OpenVinoRuntime
    from heygem.lipsync.runtimes import exported_graph

    started = time.perf_counter()
    log.info("int8 gate: checking int8 against f32 on held-out frames (once per checkpoint)...")
    mels, faces = held_out_batch(HELD_OUT_FRAMES)
    batches = range(0, len(faces), MEASURE_BATCH)
    outputs = {}
    for name in (REFERENCE, INT8):  # compiled here and dropped: auto then loads the one it picks
        runtime = OpenVinoRuntime(exported_graph(name, checkpoint, cache_dir), name)
        parts = [runtime.predict(mels[k : k + MEASURE_BATCH], faces[k : k + MEASURE_BATCH]) for k in batches]
        outputs[name] = np.concatenate(parts)
    got = differences(outputs[INT8], outputs[REFERENCE])
    passed = got.mean <= MEAN_MAX and got.p99_9 <= P99_9_MAX
    return Int8Verdict(
        checkpoint_sha256=digest,
        passed=passed,
        runtime=INT8 if passed else fallback,
        mean=round(got.mean, 4),
        p99_9=round(got.p99_9, 2),
        max=got.max,
        frames=len(faces),
        mean_max=MEAN_MAX,
        p99_9_max=P99_9_MAX,
        isa=isa,
        measured=time.strftime("%Y-%m-%dT%H:%M:%S"),
        seconds=round(time.perf_counter() - started, 1),
    )


def _read(path: Path, digest: str) -> Int8Verdict | None:
    """The verdict kept at ``path``, None when there is none (or an older or broken one)."""
    try:
        data = json.loads(path.read_text())
        if data.pop("format") != VERDICT_FORMAT or data["checkpoint_sha256"] != digest:
            return None
        return Int8Verdict(**data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if path.exists():
            log.warning("int8 gate: ignoring %s (%s); measuring again", path, exc)
        return None


def _with_runtime(verdict: Int8Verdict, fallback: str) -> Int8Verdict:
    """A kept verdict's runtime for this machine (a failed one falls back to its float)."""
    from dataclasses import replace

    return verdict if verdict.passed else replace(verdict, runtime=fallback)


def choose_runtime(
    runtime: str, checkpoint: Path, device: str, cache_dir: Path | None = None
) -> tuple[str, Int8Verdict | None]:
    """The runtime that runs ``checkpoint`` on ``device`` for the setting ``runtime``, and the
    gate's verdict when it decided: ``auto`` on a CPU with OpenVINO goes through the gate;
    an explicit name (and ``auto`` elsewhere) is resolved as given, with no verdict. A gate
    that cannot measure (int8 failed to calibrate) leaves ``auto`` on the float runtime."""
    from heygem.lipsync.runtimes import resolve_runtime

    resolved = resolve_runtime(runtime, device)
    if runtime != "auto" or not resolved.startswith("openvino"):
        return resolved, None
    try:
        verdict = int8_verdict(checkpoint, cache_dir)
    except Exception as exc:  # the float runtime needs none of what failed
        log.warning("int8 gate could not measure (%s: %s): running %s", type(exc).__name__, exc, resolved)
        return resolved, None
    return verdict.runtime, verdict
