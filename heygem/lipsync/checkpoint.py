"""Official Wav2Lip checkpoint files: read strictly (tensors only) and written.

Two formats are read, told apart by their content, not their name:

- classic: ``{"state_dict": {name: tensor}}`` as the official training script saves it
  (``wav2lip_gan.pth``), names possibly prefixed ``module.`` (DataParallel). Only tensors
  are unpickled;
- TorchScript: what the Wav2Lip README links to today (``Wav2Lip-SD-GAN.pt``,
  ``Wav2Lip-SD-NOGAN.pt``), which classic loaders reject at ``checkpoint["state_dict"]``.
  It is opened with ``torch.jit.load`` on the CPU and only its ``state_dict()`` is kept (its
  forward is never run); the tensors go into our definition like a classic checkpoint's.
  TorchScript is not Python, but loading it does run a module's own ``__setstate__``, so such
  files should come from a source one trusts (a download is checked against its SHA-256).

Either way every key must match our :class:`~heygem.lipsync.model.Wav2Lip` exactly, so the
weights run on every runtime (torch, ONNX, int8, CUDA fp16), and a file of another network
is refused with its missing and unexpected keys named.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
import zipfile
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
    """Read an official Wav2Lip checkpoint (classic or TorchScript) into a new model.

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
        kind = "TorchScript of another network" if is_torchscript(path) else "not a Wav2Lip checkpoint"
        raise ModelLoadError(path, f"{kind}; " + "; ".join(problems))
    model = model.eval().to(device=device, memory_format=torch.channels_last)
    return model.half() if device.type == "cuda" else model


def is_torchscript(path: Path) -> bool:
    """A TorchScript archive (``torch.jit.save``) carries code and constants beside its
    tensors; a ``torch.save`` archive does not."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        inside = [name.partition("/")[2] for name in archive.namelist()]  # below the archive's folder
    return "constants.pkl" in inside or any(name.startswith("code/") for name in inside)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors keyed by parameter name, ``module.`` prefixes stripped."""
    if is_torchscript(path):
        return _strip_prefix(_read_torchscript(path))
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
            reason = (
                f"not a readable torch checkpoint ({type(error).__name__}: {first_line}); if it was "
                "downloaded, `python -m heygem models verify` says whether it is complete"
            )
        raise ModelLoadError(path, reason) from error
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict) or not all(
        isinstance(value, torch.Tensor) for value in checkpoint.values()
    ):
        raise ModelLoadError(path, "no state_dict of tensors inside")
    return _strip_prefix(checkpoint)


def _read_torchscript(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a TorchScript module, loaded on the CPU; its forward is never run."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, still read
            module = torch.jit.load(str(path), map_location="cpu")
        return {key: value.detach() for key, value in module.state_dict().items()}
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0][:120]
        raise ModelLoadError(
            path, f"not a readable TorchScript file ({type(error).__name__}: {first_line})"
        ) from None


def _strip_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key.removeprefix(_DP_PREFIX): value for key, value in state.items()}


def _preview(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED_KEYS])
    hidden = len(items) - _MAX_LISTED_KEYS
    return f"{shown} ... (+{hidden} more)" if hidden > 0 else shown
