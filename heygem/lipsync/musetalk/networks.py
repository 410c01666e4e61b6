"""MuseTalk 1.5's three networks, read strictly from their official files.

The folder is upstream's ``models/`` layout, so an existing MuseTalk install can be pointed
at (``--checkpoint``); ``python -m heygem models download musetalk`` fills
``checkpoints/musetalk/`` the same way::

    musetalkV15/unet.pth      + musetalk.json   the lip-sync UNet (diffusers UNet2DConditionModel)
    sd-vae/diffusion_pytorch_model.safetensors (or .bin) + config.json   sd-vae-ft-mse (AutoencoderKL)
    whisper/model.safetensors (or pytorch_model.bin)      + config.json  whisper-tiny (its encoder)

A configuration file beside the weights is used when present, else the published one below
(the files' own, copied). Every tensor's name and shape must match the network built from it
(``load_state_dict(strict=True)``), so a file of another network is refused with its missing
and unexpected keys named. Weights are read with ``weights_only`` / safetensors: tensors only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from heygem.errors import HeygemError

log = logging.getLogger("heygem")

UNET_FILES = ("musetalkV15/unet.pth",)
UNET_CONFIG = "musetalkV15/musetalk.json"
VAE_FILES = ("sd-vae/diffusion_pytorch_model.safetensors", "sd-vae/diffusion_pytorch_model.bin")
VAE_CONFIG = "sd-vae/config.json"
WHISPER_FILES = ("whisper/model.safetensors", "whisper/pytorch_model.bin")
WHISPER_CONFIG = "whisper/config.json"

# musetalk.json of MuseTalk (v1 and v1.5 alike): Stable Diffusion 1.4's UNet with 8 input
# channels (masked crop latent + reference latent) and 384-wide cross-attention (whisper-tiny).
UNET_PUBLISHED = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 384,
    "down_block_types": [
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 8,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}
# stabilityai/sd-vae-ft-mse config.json
VAE_PUBLISHED = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 256,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}
# openai/whisper-tiny config.json, the encoder's part (the decoder is never built)
WHISPER_PUBLISHED = {
    "d_model": 384,
    "encoder_layers": 4,
    "encoder_attention_heads": 6,
    "encoder_ffn_dim": 1536,
    "num_mel_bins": 80,
    "max_source_positions": 1500,
    "activation_function": "gelu",
    "scale_embedding": False,
}
VAE_SCALING = 0.18215  # sd-vae-ft-mse's latent scaling factor (its config's default)
_OLD_ATTENTION_NAMES = {
    ".query.": ".to_q.",
    ".key.": ".to_k.",
    ".value.": ".to_v.",
    ".proj_attn.": ".to_out.0.",
}
_MAX_LISTED_KEYS = 8


class MuseTalkLoadError(HeygemError):
    """A MuseTalk weights file that cannot be used; names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"cannot load MuseTalk weights {self.path}: {reason}")


@dataclass(frozen=True)
class MuseTalkFiles:
    """Where each network's weights (and configuration, if the folder has one) are."""

    unet: Path  # musetalkV15/unet.pth
    vae: Path  # sd-vae/diffusion_pytorch_model.safetensors or .bin
    whisper: Path  # whisper/model.safetensors or pytorch_model.bin
    unet_config: Path | None  # musetalkV15/musetalk.json; None: UNET_PUBLISHED
    vae_config: Path | None  # sd-vae/config.json; None: VAE_PUBLISHED
    whisper_config: Path | None  # whisper/config.json; None: WHISPER_PUBLISHED

    def weights(self) -> tuple[Path, Path, Path]:
        return self.unet, self.vae, self.whisper


def find_files(folder: Path) -> MuseTalkFiles:
    """The MuseTalk files under ``folder`` (upstream's ``models/`` layout); raises
    MuseTalkLoadError naming what is missing."""
    folder = Path(folder)

    def first(names: tuple[str, ...]) -> Path | None:
        return next((folder / n for n in names if (folder / n).is_file()), None)

    wanted = {"unet": UNET_FILES, "vae": VAE_FILES, "whisper": WHISPER_FILES}
    found = {key: first(names) for key, names in wanted.items()}
    missing = [names[0] for key, names in wanted.items() if found[key] is None]
    if missing:
        raise MuseTalkLoadError(
            folder,
            f"missing {', '.join(missing)} (run `python -m heygem models download musetalk`, "
            "or give --checkpoint the models/ folder of a MuseTalk install)",
        )

    def config(name: str) -> Path | None:
        return folder / name if (folder / name).is_file() else None

    return MuseTalkFiles(
        found["unet"],
        found["vae"],
        found["whisper"],
        config(UNET_CONFIG),
        config(VAE_CONFIG),
        config(WHISPER_CONFIG),
    )


def read_config(path: Path | None, published: dict) -> dict:
    """A configuration JSON (its keys that the published one has, private ``_`` keys
    dropped), or the published one when there is no file."""
    if path is None:
        return dict(published)
    try:
        given = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MuseTalkLoadError(path, f"not a readable configuration ({exc})") from None
    return {k: v for k, v in given.items() if k in published}


def build_unet(config: dict):
    """A diffusers UNet2DConditionModel of ``config`` (random weights; on the current
    default device, so ``torch.device("meta")`` builds one without memory)."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(**config)


def build_vae(config: dict):
    from diffusers import AutoencoderKL

    return AutoencoderKL(**config, scaling_factor=VAE_SCALING)


def build_whisper_encoder(config: dict):
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    return WhisperEncoder(WhisperConfig(**config))


def read_unet(files: MuseTalkFiles, device: str = "cpu"):
    """The UNet of ``files`` on ``device`` (fp32), its weights memory-mapped from unet.pth."""
    state = _torch_state(files.unet)
    config = read_config(files.unet_config, UNET_PUBLISHED)
    return assemble(build_on_meta(build_unet, config), state, files.unet, device)


def read_vae(files: MuseTalkFiles, device: str = "cpu"):
    """sd-vae-ft-mse as an AutoencoderKL on ``device`` (fp32)."""
    state = _state(files.vae)
    state = {_new_attention_name(k): v for k, v in state.items()}  # diffusers < 0.14 names
    config = read_config(files.vae_config, VAE_PUBLISHED)
    return assemble(build_on_meta(build_vae, config), state, files.vae, device)


def read_whisper_encoder(files: MuseTalkFiles, device: str = "cpu"):
    """whisper-tiny's encoder on ``device`` (fp32), from a WhisperForConditionalGeneration
    (``model.encoder.*``) or WhisperModel (``encoder.*``) file; the decoder is not read."""
    encoder = whisper_encoder_state(_state(files.whisper), files.whisper)
    config = read_config(files.whisper_config, WHISPER_PUBLISHED)
    return assemble(build_on_meta(build_whisper_encoder, config), encoder, files.whisper, device)


def whisper_encoder_state(state: dict, path: Path) -> dict:
    """The encoder's tensors of a whisper file's ``state``, named as WhisperEncoder names them."""
    for prefix in ("model.encoder.", "encoder."):
        encoder = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if encoder:
            return encoder
    raise MuseTalkLoadError(path, "no whisper encoder in it (no model.encoder.* or encoder.* keys)")


def build_on_meta(build, config: dict):
    """``build(config)`` without allocating its weights (they are assigned by :func:`assemble`)."""
    try:
        with torch.device("meta"):
            return build(config)
    except (TypeError, ValueError) as exc:
        raise MuseTalkLoadError("(configuration)", f"not a valid configuration: {exc}") from None


def assemble(model, state: dict, path: Path, device: str = "cpu"):
    """Put ``state`` (every key and shape of ``model``, nothing else) into ``model`` built
    on the meta device; returns it in eval mode on ``device`` ("meta": only checked), float32."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise MuseTalkLoadError(path, _key_report(missing, unexpected))
    wrong = [k for k in expected if tuple(state[k].shape) != tuple(expected[k].shape)]
    if wrong:
        k = wrong[0]
        raise MuseTalkLoadError(
            path,
            f"{len(wrong)} tensor(s) of the wrong shape, e.g. {k}: {tuple(state[k].shape)}, "
            f"expected {tuple(expected[k].shape)} (another configuration?)",
        )
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    unset = [name for name, buffer in model.named_buffers() if buffer.is_meta]
    if unset and device != "meta":  # none in these networks: every tensor is in the file
        raise MuseTalkLoadError(path, f"tensors not in the file: {', '.join(unset[:_MAX_LISTED_KEYS])}")
    return model.to(device).eval().requires_grad_(False)


def _torch_state(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # a torn download, not a torch zip, a pickled object
        raise MuseTalkLoadError(
            path, f"not a readable PyTorch weights file ({type(exc).__name__}: {exc})"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MuseTalkLoadError(path, "expected a dictionary of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _state(path: Path) -> dict:
    """Tensors of a .safetensors file, or of a PyTorch file otherwise."""
    if Path(path).suffix != ".safetensors":
        return _torch_state(path)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise MuseTalkLoadError(path, f"not a readable safetensors file ({exc})") from None


def _new_attention_name(key: str) -> str:
    for old, new in _OLD_ATTENTION_NAMES.items():
        if old in key and ".attentions." in key:
            return key.replace(old, new)
    return key


def _key_report(missing: list[str], unexpected: list[str]) -> str:
    def listed(keys: list[str]) -> str:
        more = f" ... (+{len(keys) - _MAX_LISTED_KEYS} more)" if len(keys) > _MAX_LISTED_KEYS else ""
        return ", ".join(keys[:_MAX_LISTED_KEYS]) + more

    parts = []
    if missing:
        parts.append(f"missing {len(missing)} key(s): {listed(missing)}")
    if unexpected:
        parts.append(f"unexpected {len(unexpected)} key(s): {listed(unexpected)}")
    return "not the expected network: " + "; ".join(parts)
