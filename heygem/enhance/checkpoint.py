"""The restorers' official weight files: read safely, checked key by key, and written (tests).

- GFPGAN v1.4 (``GFPGANv1.4.pth``): ``{"params_ema": state_dict}`` (a ``"params"`` beside
  it is the non-averaged copy, ignored); every key must match :class:`~heygem.enhance.gfpgan.GFPGAN`
  exactly, the decoder's stored noise included.
- RestoreFormer++ (``RestoreFormer++.ckpt``): a PyTorch Lightning checkpoint whose
  ``"state_dict"`` holds the network under ``vqvae.`` beside training-only parts (losses,
  discriminators), which are dropped; every key of
  :class:`~heygem.enhance.restoreformer.RestoreFormer` must be there with its shape.

Only tensors are read. A file that holds other objects (Lightning's callbacks, its
hyper-parameters) is read with an unpickler that builds tensors and replaces every other
class by an inert placeholder, so no code from the file ever runs.
"""

from __future__ import annotations

import logging
import pickle
import time
import types
import zipfile
from pathlib import Path

import torch

from heygem.enhance.gfpgan import GFPGAN, GfpganConfig
from heygem.enhance.restoreformer import RestoreFormer, RestoreFormerConfig
from heygem.errors import HeygemError

log = logging.getLogger("heygem")

RESTORERS = ("gfpgan", "restoreformer")  # the networks this module reads
LIGHTNING_PREFIX = "vqvae."  # RestoreFormer++'s network inside its Lightning checkpoint
_MAX_LISTED_KEYS = 8


class EnhancerLoadError(HeygemError):
    """A restorer checkpoint that cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot load face enhancer checkpoint {self.path}: {reason}")


def build(kind: str, config=None) -> torch.nn.Module:
    """A restorer network of ``kind`` (its released configuration unless ``config``)."""
    if kind == "gfpgan":
        return GFPGAN(config or GfpganConfig())
    if kind == "restoreformer":
        return RestoreFormer(config or RestoreFormerConfig())
    raise ValueError(f"unknown restorer {kind!r} (use {', '.join(RESTORERS)})")


def read_restorer(kind: str, path: str | Path, device: str = "cpu", config=None) -> torch.nn.Module:
    """The network of ``kind`` with the weights of the official file at ``path``, in eval mode
    on ``device`` (fp16 on CUDA). Raises :class:`EnhancerLoadError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise EnhancerLoadError(path, "file not found")
    started = time.perf_counter()
    state = _network_state(kind, path, _read(path))
    with torch.device("meta"):  # no memory, no initialisation: the file's tensors are taken as they are
        model = build(kind, config or config_of(kind, state))
    _load_strictly(model, state, path, kind)
    model = model.float().eval().to(torch.device(device))
    if torch.device(device).type == "cuda":
        model = model.half()
    log.info("read %s %s for %s in %.2f s", kind, path.name, device, time.perf_counter() - started)
    return model


def config_of(kind: str, state: dict):
    """The configuration whose network has the tensors of ``state`` (the released one for the
    official files; tests write smaller ones), or None when ``state`` does not say (the
    strict load then names what is wrong). RestoreFormer's heads do not show in the shapes:
    the released 4 is assumed, as is its 16 x 16 code."""
    try:
        if kind == "gfpgan":
            levels = len({k.split(".")[1] for k in state if k.startswith("conv_body_down.")}) + 2
            size = 2**levels
            constant = state["stylegan_decoder.constant_input.weight"].shape[1]
            top = state[f"stylegan_decoder.to_rgbs.{levels - 3}.modulated_conv.weight"].shape[2]
            return GfpganConfig(
                size=size,
                style_dim=state["stylegan_decoder.style_conv1.modulated_conv.modulation.weight"].shape[1],
                channel_multiplier=round(top * 512 * size / (16384 * constant)),
                narrow=constant / 512,
                mlp_layers=sum(
                    1 for k in state if k.startswith("stylegan_decoder.style_mlp.") and k.endswith(".weight")
                ),
            )
        channels = state["encoder.conv_in.weight"].shape[0]
        levels = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.down."))
        code = state["quantize.embedding.weight"]

        def attending(part: str, level_side) -> tuple[int, ...]:
            return tuple(
                sorted(
                    {
                        level_side(int(k.split(".")[2]))
                        for k in state
                        if k.startswith(f"{part}.") and ".attn." in k
                    }
                )
            )

        resolution = 16 * 2 ** (levels - 1)
        return RestoreFormerConfig(
            resolution=resolution,
            channels=channels,
            multipliers=tuple(
                state[f"encoder.down.{level}.block.0.conv1.weight"].shape[0] // channels
                for level in range(levels)
            ),
            res_blocks=len({k.split(".")[4] for k in state if k.startswith("encoder.down.0.block.")}),
            attention=attending("encoder.down", lambda level: resolution >> level),
            decoder_attention=attending("decoder.up", lambda level: resolution >> level),
            codebook=code.shape[0],
            code_dim=code.shape[1],
            z_channels=state["encoder.conv_out.weight"].shape[0],
        )
    except (KeyError, ValueError, AttributeError, IndexError, ZeroDivisionError):
        return None


def save_official(kind: str, model: torch.nn.Module, path: str | Path) -> Path:
    """Write ``model`` in its official file layout (what tests and benchmarks load)."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    if kind == "gfpgan":
        torch.save({"params_ema": state}, Path(path))
    else:
        lightning = {LIGHTNING_PREFIX + key: value for key, value in state.items()}
        lightning["loss.discriminator.main.0.weight"] = torch.zeros(4, 3, 4, 4)  # a training-only part
        torch.save({"state_dict": lightning, "epoch": 0, "global_step": 0}, Path(path))
    return Path(path)


def _network_state(kind: str, path: Path, checkpoint) -> dict[str, torch.Tensor]:
    if not isinstance(checkpoint, dict):
        raise EnhancerLoadError(path, f"expected a dict of weights, found {type(checkpoint).__name__}")
    if kind == "gfpgan":
        state = checkpoint.get("params_ema", checkpoint.get("params"))
        if not isinstance(state, dict):
            raise EnhancerLoadError(path, "no 'params_ema' inside: not a GFPGAN checkpoint")
        return state
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict):
        raise EnhancerLoadError(path, "no 'state_dict' inside: not a RestoreFormer++ checkpoint")
    network = {
        k.removeprefix(LIGHTNING_PREFIX): v for k, v in state.items() if k.startswith(LIGHTNING_PREFIX)
    }
    dropped = len(state) - len(network)
    if dropped:
        log.info("%s: %d training-only tensors beside the network, not used", path.name, dropped)
    return network


def _load_strictly(model: torch.nn.Module, state: dict, path: Path, kind: str) -> None:
    """Every key of the network from ``state`` with its shape; GFPGAN: nothing else either."""
    expected = model.state_dict()
    not_tensors = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    wrong_shape = [
        f"{key} {tuple(value.shape)} (network {tuple(expected[key].shape)})"
        for key, value in state.items()
        if key in expected and key not in not_tensors and value.shape != expected[key].shape
    ]
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    problems = []
    if not_tensors:
        problems.append("not tensors: " + _preview(not_tensors))
    if wrong_shape:
        problems.append("shape mismatch: " + _preview(wrong_shape))
    if missing:
        problems.append("missing keys: " + _preview(missing))
    if unexpected and kind == "gfpgan":
        problems.append("unexpected keys: " + _preview(unexpected))
    if problems:
        raise EnhancerLoadError(
            path, f"not a {kind} checkpoint of this configuration; " + "; ".join(problems)
        )
    if unexpected:  # RestoreFormer++: network keys beyond ours are logged, not fatal
        log.warning(
            "%s: %d keys not in the network, ignored: %s", path.name, len(unexpected), _preview(unexpected)
        )
    model.load_state_dict({key: state[key] for key in expected}, strict=True, assign=True)


def _read(path: Path):
    """The file's contents, tensors only (see the module docstring)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise EnhancerLoadError(path, _unreadable(error)) from None
    except Exception as error:
        raise EnhancerLoadError(path, _unreadable(error)) from None
    replaced: list[str] = []
    try:
        checkpoint = torch.load(
            path, map_location="cpu", weights_only=False, pickle_module=_inert_pickle(replaced)
        )
    except Exception as error:
        raise EnhancerLoadError(path, _unreadable(error)) from None
    log.info(
        "%s: objects other than tensors read as placeholders: %s", path.name, ", ".join(sorted(set(replaced)))
    )
    return checkpoint


def _unreadable(error: Exception) -> str:
    first_line = (str(error).strip().splitlines() or [""])[0][:120]
    return (
        f"not a readable torch checkpoint ({type(error).__name__}: {first_line}); if it was "
        "downloaded, `python -m heygem models verify` says whether it is complete"
    )


# What a checkpoint's pickle may build: tensors, their storages, and ordered dicts.
_ALLOWED = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "Size"),
}


class _Inert:
    """Stands in for any other class in a checkpoint: accepts whatever the pickle hands it."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


def _inert_pickle(replaced: list[str]) -> types.SimpleNamespace:
    """A ``pickle_module`` for torch.load whose unpickler builds only :data:`_ALLOWED` and
    torch storages, and an :class:`_Inert` for every other global (its name noted in ``replaced``)."""

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in _ALLOWED or (module == "torch" and name.endswith("Storage")):
                return super().find_class(module, name)
            replaced.append(f"{module}.{name}")
            return type(name, (_Inert,), {})

    def load(file, **kwargs):
        return Unpickler(file, **kwargs).load()

    return types.SimpleNamespace(Unpickler=Unpickler, load=load, __name__="heygem_inert_pickle")


def _preview(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED_KEYS])
    hidden = len(items) - _MAX_LISTED_KEYS
    return f"{shown} ... (+{hidden} more)" if hidden > 0 else shown
