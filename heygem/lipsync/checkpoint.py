"""Official Wav2Lip checkpoint files: read strictly (tensors only) and written.

A checkpoint is ``{"state_dict": {name: tensor}}`` as the official training script saves it,
names possibly prefixed ``module.`` (DataParallel). Only tensors are unpickled.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import torch

from heygem.errors import HeygemError
from heygem.lipsync.model import Wav2Lip

log = logging.getLogger("heygem")

_DP_PREFIX = "module."  # what torch.nn.DataParallel puts before every key
_MAX_LISTED_KEYS = 8  # keys shown in an error message before "... (+N more)"


class ModelLoadError(HeygemError):
    """A checkpoint that cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot load Wav2Lip checkpoint {self.path}: {reason}")


def save_checkpoint(model: Wav2Lip, path: str | Path, *, data_parallel_prefix=False) -> None:
    """Write ``{"state_dict": ...}`` as the official training script does (CPU tensors).

    ``data_parallel_prefix`` puts ``module.`` before every key, as a DataParallel model would.
    """
    prefix = _DP_PREFIX if data_parallel_prefix else ""
    state = {prefix + key: value.detach().cpu() for key, value in model.state_dict().items()}
    torch.save({"state_dict": state}, Path(path))


def read_model(path: str | Path, device: str | torch.device = "cpu") -> Wav2Lip:
    """Read an official Wav2Lip checkpoint into a new model.

    Returns it in eval mode, on ``device``, channels_last, fp16 on CUDA (fp32 otherwise).
    Raises :class:`ModelLoadError` for a missing, unreadable or mismatched file. Not cached:
    the process keeps its one loaded model per runtime in :func:`heygem.lipsync.runtimes.load_runtime`.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(path, "file not found")
    started = time.perf_counter()
    model = _build_from_file(path.resolve(), torch.device(device))
    log.info("read Wav2Lip %s for %s in %.2f s", path, device, time.perf_counter() - started)
    return model


def _build_from_file(path: Path, device: torch.device) -> Wav2Lip:
    state = _read_state_dict(path)
    model = Wav2Lip()
    expected = model.state_dict()
    mismatched = [
        f"{key} {tuple(value.shape)} (model {tuple(expected[key].shape)})"
        for key, value in state.items()
        if key in expected and value.shape != expected[key].shape
    ]
    if mismatched:
        raise ModelLoadError(path, "shape mismatch: " + _preview(mismatched))
    result = model.load_state_dict(state, strict=False)
    problems = []
    if result.missing_keys:
        problems.append("missing keys: " + _preview(result.missing_keys))
    if result.unexpected_keys:
        problems.append("unexpected keys: " + _preview(result.unexpected_keys))
    if problems:
        raise ModelLoadError(path, "not a Wav2Lip checkpoint; " + "; ".join(problems))
    model = model.eval().to(device=device, memory_format=torch.channels_last)
    return model.half() if device.type == "cuda" else model


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors keyed by parameter name, ``module.`` prefixes stripped."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        message = str(error)
        if "Weights only load failed" in message:
            # Unpickling arbitrary objects can run code; official checkpoints never need it.
            found = re.search(r"Unsupported global: GLOBAL (\S+)", message)
            culprit = f" ({found.group(1)})" if found else ""
            reason = f"it holds objects other than tensors{culprit}; refusing unsafe loading"
        else:
            first_line = message.strip().splitlines()[0][:120] if message.strip() else ""
            reason = f"not a readable torch checkpoint ({type(error).__name__}: {first_line})"
        raise ModelLoadError(path, reason) from error
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict) or not all(
        isinstance(value, torch.Tensor) for value in checkpoint.values()
    ):
        raise ModelLoadError(path, "no state_dict of tensors inside")
    return {key.removeprefix(_DP_PREFIX): value for key, value in checkpoint.items()}


def _preview(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED_KEYS])
    hidden = len(items) - _MAX_LISTED_KEYS
    return f"{shown} ... (+{hidden} more)" if hidden > 0 else shown
