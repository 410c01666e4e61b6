"""MuseTalk 1.5's per-frame step: 256 x 256 face crops and whisper windows in, new faces out.

Per frame, as upstream's inference does (``scripts/inference.py``, ``musetalk/models/vae.py``):

1. the crop, BGR -> RGB, scaled to [-1, 1]; a copy with its lower half (rows 128-255, the
   mouth and jaw) set to -1 (black), the part the model redraws;
2. both through the VAE encoder -> two (4, 32, 32) latents x 0.18215, concatenated
   (masked first, then the reference: the same crop unmasked) into the 8-channel input;
3. the whisper window (50, 384) plus the sinusoidal position table (upstream's
   ``PositionalEncoding``) as the cross-attention sequence; one UNet pass at timestep 0
   (MuseTalk inpaints in one step; it is not a diffusion sampler);
4. the predicted latent / 0.18215 through the VAE decoder -> RGB in [-1, 1] -> uint8 BGR.

One deliberate difference: upstream draws a sample of the VAE's posterior for each encoded
crop (``latent_dist.sample()``, fresh noise per call); here its mean is used (as upstream's
training code does, ``latent_dist.mode()``), so the same frame always gives the same face and
a resumed chunk matches the one it replaces. The posterior's spread of sd-vae-ft-mse is tiny
next to the latents, so the two differ by far less than the model's own error.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from heygem.lipsync.musetalk.networks import VAE_SCALING

CROP_SIZE = 256  # pixels: MuseTalk's face crop
LATENT_SIZE = CROP_SIZE // 8  # the VAE's 8x downsampling
AUDIO_SEQUENCE = 50  # cross-attention tokens per frame: 10 whisper rows x 5 layers


def position_table(length: int, width: int) -> torch.Tensor:
    """(length, width) float32: upstream's PositionalEncoding table (sin on even, cos on odd
    columns, wavelengths 2 pi .. 10000 * 2 pi), of which the first 50 rows are used."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)
    return table


class MuseTalkModel:
    """The UNet and the VAE, loaded once, on one device: fp32 on the CPU, fp16 on CUDA."""

    def __init__(self, unet, vae, device: str = "cpu"):
        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.unet = unet.to(self.device)  # diffusers UNet2DConditionModel, eval mode
        self.vae = vae.to(self.device)  # diffusers AutoencoderKL (sd-vae-ft-mse), eval mode
        if self.dtype == torch.float16:
            self.unet, self.vae = self.unet.half(), self.vae.half()
        width = unet.config.cross_attention_dim
        self.positions = position_table(AUDIO_SEQUENCE, width).to(self.device, self.dtype)
        self.timestep = torch.zeros(1, device=self.device, dtype=torch.long)

    def predict(self, audio: np.ndarray, crops: np.ndarray) -> np.ndarray:
        """audio (B, 50, 384) float32 whisper windows, crops (B, 256, 256, 3) uint8 BGR ->
        (B, 256, 256, 3) uint8 BGR generated faces."""
        if not len(crops):
            return np.empty((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)
        with torch.inference_mode():
            latents = self.latents(crops)
            condition = torch.from_numpy(np.ascontiguousarray(audio)).to(self.device, self.dtype)
            condition = condition + self.positions[: condition.shape[1]]  # upstream: pe[:, :seq_len]
            predicted = self.unet(latents, self.timestep, encoder_hidden_states=condition).sample
            return self.pixels(predicted)

    def latents(self, crops: np.ndarray) -> torch.Tensor:
        """crops (B, 256, 256, 3) uint8 BGR -> (B, 8, 32, 32): masked crop's latent, then the
        crop's own (the reference), each the posterior mean x 0.18215."""
        pixels = vae_pixels(crops).to(self.device, self.dtype)
        masked = pixels.clone()
        masked[:, :, CROP_SIZE // 2 :, :] = -1.0
        both = self.vae.encode(torch.cat([masked, pixels])).latent_dist.mean * VAE_SCALING
        return torch.cat(both.chunk(2), dim=1)

    def pixels(self, latents: torch.Tensor) -> np.ndarray:
        """(B, 4, 32, 32) predicted latents -> (B, 256, 256, 3) uint8 BGR."""
        image = self.vae.decode(latents / VAE_SCALING).sample
        image = (image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()
        return np.ascontiguousarray((image * 255).round().astype(np.uint8)[..., ::-1])


def vae_pixels(crops: np.ndarray) -> torch.Tensor:
    """(B, 256, 256, 3) uint8 BGR -> (B, 3, 256, 256) float32 RGB in [-1, 1], computed as
    upstream does (x / 255 in float64, then (x - 0.5) / 0.5 in float32)."""
    rgb = np.ascontiguousarray(crops[..., ::-1].transpose(0, 3, 1, 2)) / 255.0
    return (torch.from_numpy(rgb).float() - 0.5) / 0.5
