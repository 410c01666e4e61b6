"""The Wav2Lip network on OpenVINO's CPU plugin: the exported ONNX graphs, read as they are.

OpenVINO reads the pixels-in, pixels-out graph that :func:`heygem.lipsync.runtimes.export_onnx`
writes (and the int8 QDQ graph :func:`~heygem.lipsync.runtimes.quantize_int8` makes of it),
fuses it and compiles it for this CPU: no converter step, no second copy of the weights.

- ``openvino``: f32 everywhere (the precision is set, not left to the plugin, which picks
  bf16 on CPUs that have it); the same output as torch fp32 within 1 level;
- ``openvino-bf16``: bf16 convolutions with f32 accumulation, on CPUs with native bf16
  (AVX512-BF16 or AMX); on others the plugin runs f32 and :attr:`precision` says so;
- ``openvino-int8``: the QDQ graph, its convolutions run in int8 (u8 activations, per-channel
  s8 weights) by OpenVINO's low-precision kernels.

Measured side by side and tolerances: docs/performance.md and ``bench/``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from heygem.machine import usable_cores

log = logging.getLogger("heygem")

PRECISIONS = {"openvino": "f32", "openvino-bf16": "bf16", "openvino-int8": "f32"}  # float parts


class OpenVinoRuntime:
    """A graph compiled by OpenVINO for the CPU; ``predict`` is safe from several threads
    (each thread has infer requests of its own).

    Each batch is split across ``streams`` streams (by default as many as OpenVINO's
    THROUGHPUT hint picks for ``threads`` threads: on 2 cores, 2 streams of 1 thread), which
    run their parts side by side and meet only when the batch is done. ``streams=1`` is the
    LATENCY hint, every thread on one request, as before issue 23: those threads meet after
    every layer, so on a small machine a thread the scheduler lends to x264 or the decoder for
    a few milliseconds holds up the others (docs/performance.md).
    """

    def __init__(self, path: Path, name: str, threads: int | None = None, streams: int | None = None):
        import openvino as ov

        self.name = name
        self.path = path  # the graph compiled
        self.threads = threads or usable_cores()
        one_stream = streams == 1 or self.threads == 1
        config = {
            # THROUGHPUT: OpenVINO picks the streams for this CPU (on 2 cores: 2 of 1 thread)
            "PERFORMANCE_HINT": "LATENCY" if one_stream else "THROUGHPUT",
            **({"NUM_STREAMS": streams} if streams else {}),
            "INFERENCE_NUM_THREADS": self.threads,
            "INFERENCE_PRECISION_HINT": PRECISIONS[name],
            # Pinned threads would keep the decoder and encoder threads off their cores.
            "ENABLE_CPU_PINNING": False,
        }
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # as run
        self.streams = int(self.compiled.get_property("NUM_STREAMS"))  # as run
        self._requests = threading.local()
        log.info(
            "openvino %s: %s, %d threads in %d stream(s)", name, self.precision, self.threads, self.streams
        )

    def predict(self, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """mels (B, 80, 16) float32, faces (B, 96, 96, 3) uint8 BGR -> (B, 96, 96, 3) uint8 BGR."""
        from heygem.lipsync.model import check_batch

        if not check_batch(mels, faces):
            return np.empty((0, *faces.shape[1:]), np.uint8)
        requests = getattr(self._requests, "requests", None)
        if requests is None:
            requests = self._requests.requests = [
                self.compiled.create_infer_request() for _ in range(self.streams)
            ]
        bounds = np.linspace(0, len(faces), min(self.streams, len(faces)) + 1).round().astype(int)
        parts = list(zip(bounds[:-1], bounds[1:], strict=True))
        for request, (start, end) in zip(requests, parts, strict=False):
            feeds = {
                "mels": np.ascontiguousarray(mels[start:end], np.float32),
                "faces": np.ascontiguousarray(faces[start:end]),
            }
            request.start_async(feeds)
        outputs = []
        for request in requests[: len(parts)]:
            request.wait()
            outputs.append(request.get_output_tensor(0).data.copy())  # the request reuses its buffer
        return np.concatenate(outputs)

    def conv_precisions(self) -> dict[str, int]:
        """How many convolutions run in each precision, as compiled: {"bf16": 51} and so on."""
        counts: dict[str, int] = {}
        for op in self.compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            layer = info["layerType"].astype(str) if "layerType" in info else ""
            if layer in ("Convolution", "Deconvolution"):
                precision = info["runtimePrecision"].astype(str)
                counts[precision] = counts.get(precision, 0) + 1
        return counts
