"""Where a restorer runs: eager PyTorch (fp32 on the CPU, fp16 on CUDA) or OpenVINO (f32, bf16).

Every runtime takes and gives pixels: (B, 512, 512, 3) uint8 BGR aligned faces in, restored
faces out. The colour conversion and scaling around the network live in one place,
:class:`PixelRestorer`, which is also the graph exported to ONNX for OpenVINO (cached under
``<cache>/models`` keyed by the checkpoint's SHA-256, so the export happens once).

- ``torch``: the network as defined here; on CUDA in fp16.
- ``openvino``: the exported graph compiled for the CPU in f32 (the precision is set, not left
  to the plugin).
- ``openvino-bf16``: the same in bf16 with f32 accumulation; fast only where the CPU has
  native bf16 (AVX512-BF16 or AMX): on an AVX2-only CPU the plugin emulates it (slow).
- ``auto``: torch on CUDA; on the CPU ``openvino-bf16`` with native bf16, else ``openvino``
  (torch when OpenVINO is not installed).

Each (restorer, runtime, checkpoint, device) is loaded once per process (:func:`load_restorer`).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np

from heygem.enhance.align import ALIGNED_SIDE
from heygem.machine import auto_runtime, usable_cores
from heygem.media.files import file_digest, replacing
from heygem.settings import ENHANCER_RUNTIMES, default_cache_dir

log = logging.getLogger("heygem")

EXPORT_FORMAT = 1  # bump when the exported graph changes: cached files stop matching
ONNX_OPSET = 17
OPENVINO_PRECISION = {"openvino": "f32", "openvino-bf16": "bf16"}

# The process's loaded restorers per (restorer, runtime, checkpoint path, mtime, device).
_loaded: dict[tuple[str, str, str, int, str], Restorer] = {}
_loaded_lock = threading.Lock()


class Restorer(Protocol):
    name: str  # the runtime: one of ENHANCER_RUNTIMES but auto
    side: int  # px of the aligned faces it takes and gives (512 for the released weights)

    def restore(self, faces: np.ndarray) -> np.ndarray:
        """(B, side, side, 3) uint8 BGR aligned faces -> the same, restored."""


def pixel_restorer(net):
    """``net`` (RGB in [-1, 1] in and out) wrapped to take and give uint8 BGR pixels, the way
    upstream's helpers convert (``/127.5 - 1``; clamp, scale, round)."""
    import torch

    class PixelRestorer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, faces: torch.Tensor) -> torch.Tensor:
            """(B, S, S, 3) uint8 BGR -> (B, S, S, 3) uint8 BGR."""
            dtype = next(self.net.parameters()).dtype
            rgb = faces.permute(0, 3, 1, 2)[:, [2, 1, 0]].to(dtype) / 127.5 - 1
            out = self.net(rgb).float().clamp(-1, 1)
            pixels = ((out + 1) * 127.5).round().to(torch.uint8)
            return pixels[:, [2, 1, 0]].permute(0, 2, 3, 1)

    return PixelRestorer().eval()


class TorchRestorer:
    name = "torch"

    def __init__(self, net, device: str):
        self.device = device
        self.side = side_of(net)
        self.module = pixel_restorer(net)

    def restore(self, faces: np.ndarray) -> np.ndarray:
        import torch

        if not len(faces):
            return np.empty_like(faces)
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(faces)).to(self.device)
            return self.module(batch).cpu().numpy()


class OpenVinoRestorer:
    """An exported restorer compiled by OpenVINO for the CPU; safe from several threads."""

    def __init__(self, path: Path, name: str, threads: int | None = None):
        import openvino as ov

        self.name, self.path = name, path
        config = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads or usable_cores(),
            "INFERENCE_PRECISION_HINT": OPENVINO_PRECISION[name],
            "ENABLE_CPU_PINNING": False,  # pinned threads would keep decoding and encoding off their cores
        }
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # as run
        self.side = self.compiled.input(0).get_partial_shape()[1].get_length()  # (batch, side, side, 3)
        self._requests = threading.local()
        log.info("restorer on openvino %s: %s", name, self.precision)

    def restore(self, faces: np.ndarray) -> np.ndarray:
        if not len(faces):
            return np.empty_like(faces)
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self.compiled.create_infer_request()
        request.infer({"faces": np.ascontiguousarray(faces)})
        return request.get_output_tensor(0).data.copy()  # the request reuses its buffer


def resolve_runtime(runtime: str, device: str) -> str:
    """``auto`` -> torch on CUDA; on the CPU openvino-bf16 (native bf16) or openvino, when
    OpenVINO is installed (torch otherwise). Other names are checked and returned."""
    if runtime == "auto":
        return auto_runtime(device)
    if runtime not in ENHANCER_RUNTIMES:
        raise ValueError(f"unknown enhancer runtime {runtime!r} (use {', '.join(ENHANCER_RUNTIMES)})")
    if runtime != "torch" and device != "cpu":
        raise ValueError(f"enhancer runtime {runtime} runs on the CPU only; use torch on {device}")
    return runtime


def load_restorer(
    kind: str, checkpoint: Path, device: str, runtime: str = "auto", cache_dir: Path | None = None
) -> Restorer:
    """Restorer ``kind`` with the weights of ``checkpoint`` on ``runtime``, loaded (and
    exported) once per process. Raises EnhancerLoadError for a bad file."""
    from heygem.enhance.checkpoint import EnhancerLoadError

    runtime = resolve_runtime(runtime, device)
    resolved = Path(checkpoint).resolve()
    if not resolved.is_file():
        raise EnhancerLoadError(checkpoint, "file not found")
    key = (kind, runtime, str(resolved), resolved.stat().st_mtime_ns, device)
    with _loaded_lock:
        if key not in _loaded:
            started = time.perf_counter()
            for stale in [k for k in _loaded if k[:3] == key[:3] and k[4] == device]:
                del _loaded[stale]  # a rewritten checkpoint replaces its older versions
            _loaded[key] = _load(kind, resolved, device, runtime, cache_dir)
            log.info("%s restorer on %s ready in %.1f s", kind, runtime, time.perf_counter() - started)
        return _loaded[key]


def clear_restorers() -> None:
    """Forget every loaded restorer (tests; freeing GPU memory)."""
    with _loaded_lock:
        _loaded.clear()


def _load(kind: str, checkpoint: Path, device: str, runtime: str, cache_dir: Path | None) -> Restorer:
    from heygem.enhance.checkpoint import read_restorer

    if runtime == "torch":
        return TorchRestorer(read_restorer(kind, checkpoint, device), device)
    folder = Path(cache_dir or default_cache_dir()) / "models"
    graph = folder / f"{kind}-{file_digest(checkpoint)[:20]}-v{EXPORT_FORMAT}-fp32.onnx"
    if not graph.exists():
        export_onnx(read_restorer(kind, checkpoint), graph)
    return OpenVinoRestorer(graph, runtime)


def side_of(net) -> int:
    """The side (px) of the faces a restorer network takes."""
    return getattr(net.config, "size", None) or getattr(net.config, "resolution", ALIGNED_SIDE)


def export_onnx(net, path: Path) -> Path:
    """Write ``net`` with pixel I/O (:func:`pixel_restorer`) as ONNX at ``path``, atomically."""
    import torch

    started = time.perf_counter()
    side = side_of(net)
    example = torch.zeros(1, side, side, 3, dtype=torch.uint8)
    with replacing(path) as temp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            pixel_restorer(net),
            (example,),
            str(temp),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["faces"],
            output_names=["pixels"],
            dynamic_axes={"faces": {0: "batch"}, "pixels": {0: "batch"}},
        )
    log.info("exported the restorer to %s in %.1f s", path, time.perf_counter() - started)
    return path
