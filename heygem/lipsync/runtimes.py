"""Where the Wav2Lip network runs: eager PyTorch, ONNX Runtime or OpenVINO, fp32 or lower.

- ``torch``: the eager model of :mod:`heygem.lipsync.model` (fp16 + channels_last on CUDA).
- ``onnx``: the same network exported once to ONNX with its pixel pre- and post-processing
  (uint8 NHWC faces in, uint8 NHWC faces out), run by ONNX Runtime's CPU provider with every
  graph optimisation (Conv+BatchNorm+ReLU fusion). Same output as ``torch`` within 1 level.
- ``onnx-int8``: that graph with its convolutions (but the first and the output block)
  statically quantised to int8 (QDQ, per-channel weights), activations calibrated on a real
  face and speech-like audio (:mod:`heygem.lipsync.calibration`). Opt-in.
- ``openvino``, ``openvino-bf16``, ``openvino-int8``: the same two graphs compiled by
  OpenVINO for the CPU (:mod:`heygem.lipsync.openvino_runtime`), in f32, bf16 and int8.
- ``auto``: ``torch`` on CUDA; on a CPU ``openvino-int8`` for weights that pass the int8 gate
  (:mod:`heygem.lipsync.gate`), else ``openvino-bf16`` on a CPU with native bf16 and
  ``openvino`` elsewhere (:func:`resolve_runtime`, the float choice). docs/performance.md has the
  figures behind the choice.

Exported models are cached on disk under ``<cache>/models`` keyed by the checkpoint's SHA-256,
so export (and calibration) happens once per checkpoint, not per process. The process's one
model cache is here: each runtime is loaded once per process, device and checkpoint
(:func:`load_runtime`).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np

from heygem.lipsync.calibration import CALIBRATION_FORMAT, calibration_batches
from heygem.machine import auto_runtime, usable_cores
from heygem.media.files import file_digest, replacing
from heygem.settings import RUNTIMES, default_cache_dir

log = logging.getLogger("heygem")

RUNTIME_NAMES = tuple(name for name in RUNTIMES if name != "auto")
# Convolutions left in fp32 by onnx-int8: the first (raw pixels in) and the output block
# (pixels out). Quantising them too was 5 % faster but up to 37 levels off (docs/performance.md).
INT8_FLOAT_LAYERS = ("face_encoder_blocks.0/", "output_block")
EXPORT_FORMAT = 1  # bump when the exported graph changes: cached files stop matching
ONNX_OPSET = 17
CALIBRATION_BATCHES = 4  # batches of 8 faces the int8 activation ranges are measured on

# The only module-level mutable state: loaded runtimes per (runtime, checkpoint path, mtime,
# device), so each is loaded once per process.
_loaded: dict[tuple[str, str, int, str], Runtime] = {}
_loaded_lock = threading.Lock()


class Runtime(Protocol):
    name: str  # one of RUNTIME_NAMES

    def predict(self, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """mels (B, 80, 16) float32, faces (B, 96, 96, 3) uint8 BGR -> (B, 96, 96, 3) uint8 BGR
        generated faces (see :func:`heygem.model.predict`)."""


class TorchRuntime:
    name = "torch"

    def __init__(self, model):
        self.model = model

    def predict(self, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
        from heygem.lipsync.model import predict

        return predict(self.model, mels, faces)


class OnnxRuntime:
    """An ONNX Runtime session on an exported pixels-in, pixels-out graph (CPU)."""

    def __init__(self, path: Path, name: str, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or usable_cores()
        options.inter_op_num_threads = 1
        # Idle pool threads would spin on the cores that decoding and encoding need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.name = name
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def predict(self, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
        from heygem.lipsync.model import check_batch

        if not check_batch(mels, faces):
            return np.empty((0, *faces.shape[1:]), np.uint8)
        feeds = {"mels": np.ascontiguousarray(mels, np.float32), "faces": np.ascontiguousarray(faces)}
        return self.session.run(None, feeds)[0]


def load_runtime(runtime: str, checkpoint: Path, device: str, cache_dir: Path | None = None) -> Runtime:
    """``runtime`` running ``checkpoint``, loaded (and exported) once per process."""
    runtime = resolve_runtime(runtime, device)
    if runtime != "torch" and device != "cpu":
        raise ValueError(f"runtime {runtime} runs on the CPU only; use torch on {device}")
    resolved = Path(checkpoint).resolve()
    if not resolved.is_file():
        from heygem.lipsync.checkpoint import ModelLoadError

        raise ModelLoadError(checkpoint, "file not found")
    key = (runtime, str(resolved), resolved.stat().st_mtime_ns, device)
    with _loaded_lock:
        if key not in _loaded:
            started = time.perf_counter()
            # A rewritten checkpoint replaces its older versions on this runtime and device.
            for stale in [k for k in _loaded if (k[0], k[1], k[3]) == (key[0], key[1], key[3])]:
                del _loaded[stale]
            _loaded[key] = _load(runtime, resolved, device, cache_dir)
            log.info("Wav2Lip runtime %s ready in %.1f s", runtime, time.perf_counter() - started)
        return _loaded[key]


def resolve_runtime(runtime: str, device: str) -> str:
    """``auto`` -> ``torch`` on CUDA (fp16); on the CPU the float runtime: ``openvino-bf16``
    where the CPU has native bf16, else ``openvino`` (f32), when OpenVINO is installed (torch
    otherwise). Both stay within 1 level of torch fp32 and are faster end to end
    (docs/performance.md, bench/); :func:`heygem.lipsync.gate.choose_runtime` may pick int8 over them for
    a checkpoint. Other names are checked and returned."""
    if runtime == "auto":
        return auto_runtime(device)
    if runtime not in RUNTIME_NAMES:
        raise ValueError(f"unknown runtime {runtime!r} (use {', '.join(RUNTIMES)})")
    return runtime


def clear_runtime_cache() -> None:
    """Forget every loaded model (tests; freeing GPU memory)."""
    with _loaded_lock:
        _loaded.clear()


def _load(runtime: str, checkpoint: Path, device: str, cache_dir: Path | None) -> Runtime:
    if runtime == "torch":
        from heygem.lipsync.checkpoint import read_model

        return TorchRuntime(read_model(checkpoint, device))
    graph = exported_graph(runtime, checkpoint, cache_dir)
    if runtime.startswith("openvino"):
        from heygem.lipsync.openvino_runtime import OpenVinoRuntime

        return OpenVinoRuntime(graph, runtime)
    return OnnxRuntime(graph, runtime)


def export_folder(cache_dir: Path | None = None) -> Path:
    """Where exported graphs (and the int8 gate's verdicts) are kept: ``<cache>/models``."""
    return Path(cache_dir or default_cache_dir()) / "models"


def export_stem(digest: str) -> str:
    """The file name stem of the exports of the checkpoint whose SHA-256 is ``digest``."""
    return f"wav2lip-{digest[:20]}-v{EXPORT_FORMAT}"


def exported_graph(runtime: str, checkpoint: Path, cache_dir: Path | None = None) -> Path:
    """The ONNX graph a non-torch ``runtime`` reads for ``checkpoint``: the fp32 export, or its
    int8 QDQ version for the ``-int8`` runtimes; exported (and calibrated) on first use."""
    stem = export_folder(cache_dir) / export_stem(file_digest(checkpoint))
    fp32 = stem.with_name(f"{stem.name}-fp32.onnx")
    if not fp32.exists():  # the only step that needs torch
        from heygem.lipsync.checkpoint import read_model

        export_onnx(read_model(checkpoint), fp32)
    if not runtime.endswith("-int8"):
        return fp32
    int8 = stem.with_name(f"{stem.name}-int8-c{CALIBRATION_FORMAT}.onnx")  # one for onnx and openvino
    if not int8.exists():
        quantize_int8(fp32, int8)
    return int8


def export_onnx(model, path: Path) -> Path:
    """Write ``model`` (a Wav2Lip) with pixel I/O as ONNX at ``path``, atomically."""
    import torch

    from heygem.lipsync.model import PixelWav2Lip

    started = time.perf_counter()
    wrapper = PixelWav2Lip(model).eval()
    example = (torch.zeros(2, 80, 16), torch.zeros(2, 96, 96, 3, dtype=torch.uint8))
    with replacing(path) as temp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            wrapper,
            example,
            str(temp),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["mels", "faces"],
            output_names=["pixels"],
            dynamic_axes={"mels": {0: "batch"}, "faces": {0: "batch"}, "pixels": {0: "batch"}},
        )
    log.info("exported Wav2Lip to %s in %.1f s", path, time.perf_counter() - started)
    return path


def quantize_int8(fp32: Path, path: Path, batches: int = CALIBRATION_BATCHES) -> Path:
    """Statically quantise the convolutions of the exported ``fp32`` graph to int8 (QDQ,
    per-channel weights), calibrated on ``batches`` batches of 8 astronaut face crops with
    speech-like mel windows; written atomically to ``path``."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    started = time.perf_counter()
    graph = onnx.load(str(fp32), load_external_data=False).graph
    keep_float = [node.name for node in graph.node if any(layer in node.name for layer in INT8_FLOAT_LAYERS)]
    with replacing(path) as temp:
        quantize_static(
            str(fp32),
            str(temp),
            _Calibration(batches),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["Conv", "ConvTranspose"],
            nodes_to_exclude=keep_float,
        )
    log.info("quantised Wav2Lip to int8 in %.1f s", time.perf_counter() - started)
    return path


class _Calibration:
    """onnxruntime CalibrationDataReader: batches of (mels, faces) like the pipeline feeds."""

    def __init__(self, batches: int):
        self._batches = iter(calibration_batches(batches))

    def get_next(self) -> dict | None:
        batch = next(self._batches, None)
        return None if batch is None else {"mels": batch[0], "faces": batch[1]}
