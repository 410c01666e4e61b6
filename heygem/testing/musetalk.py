"""Random-weight MuseTalk 1.5 files in the official layout (upstream's ``models/`` folder), for
tests and benchmarks: each network is written the way its own project writes it.

- ``musetalkV15/unet.pth`` + ``musetalk.json``: ``torch.save(unet.state_dict())`` as MuseTalk's
  training saves it, and the UNet's configuration;
- ``sd-vae/``: ``AutoencoderKL.save_pretrained`` (config.json + safetensors), optionally with
  the attention names of diffusers before 0.14 (``query``, ``proj_attn``) that old files carry;
- ``whisper/``: ``WhisperForConditionalGeneration.save_pretrained`` (config.json +
  model.safetensors, decoder included).

``size="small"`` uses small configurations of the same classes (seconds on a CPU);
``size="published"`` the real ones (3.4 GB of UNet: benchmarks only).
"""

from __future__ import annotations

import json
from pathlib import Path

SMALL_UNET = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [16, 32],
    "cross_attention_dim": 32,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],  # attention at 16 x 16: cheap
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 8,
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "out_channels": 4,
    "sample_size": 32,
    "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
}
SMALL_VAE = {
    "block_out_channels": [4, 8, 8, 8],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "latent_channels": 4,
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "sample_size": 256,
}
SMALL_WHISPER = {
    "d_model": 32,
    "encoder_layers": 2,
    "encoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_layers": 1,
    "decoder_attention_heads": 2,
    "decoder_ffn_dim": 64,
    "vocab_size": 51865,
    "num_mel_bins": 80,
    "max_source_positions": 1500,
    "max_target_positions": 16,
}


def random_musetalk(folder: Path, seed: int = 0, size: str = "small", old_vae_names: bool = False) -> Path:
    """Write random MuseTalk weights into ``folder`` (created) and return it."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    from heygem.lipsync.musetalk.networks import UNET_PUBLISHED, VAE_PUBLISHED, VAE_SCALING, WHISPER_PUBLISHED

    small = size == "small"
    folder = Path(folder)
    torch.manual_seed(seed)
    unet_config = SMALL_UNET if small else UNET_PUBLISHED
    (folder / "musetalkV15").mkdir(parents=True, exist_ok=True)
    (folder / "musetalkV15" / "musetalk.json").write_text(json.dumps(unet_config, indent=2))
    unet = UNet2DConditionModel(**unet_config)
    with torch.no_grad():  # a freshly made UNet outputs zeros (its last conv starts at 0)
        unet.conv_out.weight.normal_(0, 0.05)
    torch.save(unet.state_dict(), folder / "musetalkV15" / "unet.pth")
    del unet

    vae = AutoencoderKL(**(SMALL_VAE if small else VAE_PUBLISHED), scaling_factor=VAE_SCALING)
    vae.save_pretrained(folder / "sd-vae")
    if old_vae_names:
        _rename_attention(folder / "sd-vae" / "diffusion_pytorch_model.safetensors")

    whisper = WhisperConfig(**(SMALL_WHISPER if small else {**WHISPER_PUBLISHED, "decoder_layers": 4}))
    model = WhisperForConditionalGeneration(whisper)
    model.save_pretrained(folder / "whisper")
    return folder


def _rename_attention(path: Path) -> None:
    """Rewrite a VAE file with diffusers' pre-0.14 attention names."""
    from safetensors.torch import load_file, save_file

    new_to_old = {".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."}
    state = load_file(str(path))
    renamed = {}
    for key, value in state.items():
        for new, old in new_to_old.items():
            if ".attentions." in key and new in key:
                key = key.replace(new, old)
        renamed[key] = value
    save_file(renamed, str(path), metadata={"format": "pt"})
