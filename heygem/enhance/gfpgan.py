"""GFPGAN v1.4, the "clean" architecture (no compiled CUDA ops), defined here.

A U-Net reads the degraded 512 x 512 face: its bottleneck becomes one style vector per
decoder layer (16 of them), and each of its upsampling levels becomes a scale and a shift
(SFT, spatial feature transform) for half of the channels of a StyleGAN2 decoder, which draws
the restored face. The parameter names and shapes are those of the official
``GFPGANv1.4.pth`` (``{"params_ema": state_dict}``), so it loads with a strict key match.

Two deliberate differences from the upstream code, neither changing the result:

- the decoder's per-layer noise is the one stored in the checkpoint (buffers
  ``stylegan_decoder.noises.noise<k>``), always: upstream's ``GFPGANer`` draws fresh random
  noise on every call, so the same face came out differently each frame (jitter);
- a modulated convolution scales the input channels by the style and the output channels by
  the demodulation factor around one ordinary convolution, instead of building a weight per
  sample for a grouped convolution. It is the same arithmetic, runs in batches, and exports
  to ONNX with a dynamic batch (what OpenVINO runs).

I/O as upstream: RGB in [-1, 1], (B, 3, 512, 512) float in, the same out (not clamped).
Pre- and post-processing live in :mod:`heygem.enhance.runtimes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

LEAK = 0.2  # negative slope of every leaky ReLU
STYLE_GAIN = math.sqrt(2)  # StyleGAN2's gain after a modulated convolution


@dataclass(frozen=True)
class GfpganConfig:
    """The v1.4 configuration by default; tests build smaller ones of the same class."""

    size: int = 512  # input and output side in pixels (a power of two)
    style_dim: int = 512  # length of each style vector
    channel_multiplier: int = 2  # StyleGAN2's "large network" factor above 32 px
    narrow: float = 1.0  # scales every channel count (tests use a fraction)
    mlp_layers: int = 8  # the StyleGAN2 mapping network's layers: stored, never run (v1.4 feeds w)

    @property
    def levels(self) -> int:
        return int(math.log2(self.size))

    @property
    def latents(self) -> int:
        """Style vectors the U-Net produces: one per decoder convolution and per to-RGB."""
        return 2 * self.levels - 2

    def channels(self, resolution: int) -> int:
        """Decoder channels at ``resolution`` px (StyleGAN2's table, scaled by ``narrow``)."""
        return int(self._base(resolution) * self.narrow)

    def unet_channels(self, resolution: int) -> int:
        """U-Net channels at ``resolution`` px: half the decoder's."""
        return int(self._base(resolution) * (self.narrow * 0.5))

    def _base(self, resolution: int) -> int:
        return 512 if resolution <= 32 else 16384 * self.channel_multiplier // resolution


class _Resample(nn.Module):
    """Residual block that halves (``factor`` 0.5) or doubles (2) the resolution, bilinearly."""

    def __init__(self, channels_in: int, channels_out: int, factor: float):
        super().__init__()
        self.factor = factor
        self.conv1 = nn.Conv2d(channels_in, channels_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels_in, channels_out, 3, 1, 1)
        self.skip = nn.Conv2d(channels_in, channels_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = _resize(F.leaky_relu(self.conv1(x), LEAK), self.factor)
        out = F.leaky_relu(self.conv2(out), LEAK)
        return out + self.skip(_resize(x, self.factor))


def _resize(x: torch.Tensor, factor: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


def _condition(channels: int, out_channels: int) -> nn.Sequential:
    """Two convolutions making an SFT scale (or shift) map from a U-Net level."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1), nn.LeakyReLU(LEAK), nn.Conv2d(channels, out_channels, 3, 1, 1)
    )


class _ModulatedConv(nn.Module):
    """StyleGAN2's modulated convolution (no bias): input channels scaled by the style, the
    output demodulated to unit variance, optionally after a bilinear 2x upsampling."""

    def __init__(self, channels_in, channels_out, kernel, style_dim, demodulate=True, upsample=False):
        super().__init__()
        self.demodulate, self.upsample, self.padding = demodulate, upsample, kernel // 2
        self.modulation = nn.Linear(style_dim, channels_in)
        self.weight = nn.Parameter(torch.zeros(1, channels_out, channels_in, kernel, kernel))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        scale = self.modulation(style)  # (B, C_in)
        if self.upsample:
            x = _resize(x, 2)
        out = F.conv2d(x * scale[:, :, None, None], self.weight[0], padding=self.padding)
        if self.demodulate:
            # sum over inputs and taps of (weight * scale)^2, per sample and output channel
            energy = (scale * scale) @ self.weight[0].pow(2).sum((2, 3)).t()  # (B, C_out)
            out = out * torch.rsqrt(energy + 1e-8)[:, :, None, None]
        return out


class _StyleLayer(nn.Module):
    """A decoder convolution: modulated conv, stored noise (scaled), bias, leaky ReLU."""

    def __init__(self, channels_in, channels_out, style_dim, upsample):
        super().__init__()
        self.modulated_conv = _ModulatedConv(channels_in, channels_out, 3, style_dim, upsample=upsample)
        self.weight = nn.Parameter(torch.zeros(1))  # the noise's strength
        self.bias = nn.Parameter(torch.zeros(1, channels_out, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        out = self.modulated_conv(x, style) * STYLE_GAIN + self.weight * noise
        return F.leaky_relu(out + self.bias, LEAK)


class _ToRGB(nn.Module):
    """Features -> RGB, added to the previous level's image upsampled bilinearly."""

    def __init__(self, channels_in, style_dim, upsample=True):
        super().__init__()
        self.upsample = upsample
        self.modulated_conv = _ModulatedConv(channels_in, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x, style, previous=None) -> torch.Tensor:
        out = self.modulated_conv(x, style) + self.bias
        if previous is None:
            return out
        return out + (_resize(previous, 2) if self.upsample else previous)


class _NormStyle(nn.Module):
    """The mapping network's first step (kept for its place in the parameter names)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)


class _Constant(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 4, 4))


class _StyleDecoder(nn.Module):
    """The StyleGAN2 generator with channel-split SFT: draws the face from the style vectors,
    modulated level by level by the U-Net's scale and shift maps."""

    def __init__(self, config: GfpganConfig):
        super().__init__()
        dim = config.style_dim
        mapping = [_NormStyle()]
        for _ in range(config.mlp_layers):
            mapping += [nn.Linear(dim, dim), nn.LeakyReLU(LEAK)]
        self.style_mlp = nn.Sequential(*mapping)
        low = config.channels(4)
        self.constant_input = _Constant(low)
        self.style_conv1 = _StyleLayer(low, low, dim, upsample=False)
        self.to_rgb1 = _ToRGB(low, dim, upsample=False)
        self.style_convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        channels = low
        for level in range(3, config.levels + 1):
            out = config.channels(2**level)
            self.style_convs.append(_StyleLayer(channels, out, dim, upsample=True))
            self.style_convs.append(_StyleLayer(out, out, dim, upsample=False))
            self.to_rgbs.append(_ToRGB(out, dim))
            channels = out
        self.noises = nn.Module()
        for k in range(2 * config.levels - 3):  # one per style layer: 4 px, then two per level
            side = 2 ** ((k + 5) // 2)
            self.noises.register_buffer(f"noise{k}", torch.zeros(1, 1, side, side))

    def forward(self, latents: torch.Tensor, conditions: list[torch.Tensor]) -> torch.Tensor:
        """latents (B, n_latents, style_dim); conditions [scale, shift] per level, low to high."""
        noise = [getattr(self.noises, f"noise{k}") for k in range(2 * len(self.to_rgbs) + 1)]
        batch = latents.shape[0]
        out = self.constant_input.weight.expand(batch, -1, -1, -1)
        out = self.style_conv1(out, latents[:, 0], noise[0])
        image = self.to_rgb1(out, latents[:, 1])
        for level, to_rgb in enumerate(self.to_rgbs):
            k = 2 * level + 1  # this level's first latent and noise
            out = self.style_convs[2 * level](out, latents[:, k], noise[k])
            kept, modulated = torch.split(out, out.shape[1] // 2, dim=1)
            scale, shift = conditions[2 * level], conditions[2 * level + 1]
            out = torch.cat([kept, modulated * scale + shift], dim=1)
            out = self.style_convs[2 * level + 1](out, latents[:, k + 1], noise[k + 1])
            image = to_rgb(out, latents[:, k + 2], image)
        return image


class GFPGAN(nn.Module):
    """GFPGAN v1.4 (clean): (B, 3, S, S) RGB in [-1, 1] -> the restored face, same shape."""

    def __init__(self, config: GfpganConfig | None = None):
        super().__init__()
        config = config or GfpganConfig()
        self.config = config
        top, unet = config.levels, config.unet_channels
        self.conv_body_first = nn.Conv2d(3, unet(config.size), 1)
        self.conv_body_down = nn.ModuleList(
            _Resample(unet(2**level), unet(2 ** (level - 1)), 0.5) for level in range(top, 2, -1)
        )
        self.final_conv = nn.Conv2d(unet(4), unet(4), 3, 1, 1)
        ups = range(3, top + 1)
        self.conv_body_up = nn.ModuleList(
            _Resample(unet(2 ** (level - 1)), unet(2**level), 2) for level in ups
        )
        # The U-Net's own RGB outputs, trained as side losses: stored in the checkpoint, never run.
        self.toRGB = nn.ModuleList(nn.Conv2d(unet(2**level), 3, 1) for level in ups)
        self.final_linear = nn.Linear(unet(4) * 16, config.latents * config.style_dim)
        self.stylegan_decoder = _StyleDecoder(config)
        # Each SFT map covers half of the decoder's channels, which is the U-Net's width.
        self.condition_scale = nn.ModuleList(_condition(unet(2**lv), unet(2**lv)) for lv in ups)
        self.condition_shift = nn.ModuleList(_condition(unet(2**lv), unet(2**lv)) for lv in ups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.leaky_relu(self.conv_body_first(x), LEAK)
        skips = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.insert(0, feat)  # deepest first, the order the way back meets them
        feat = F.leaky_relu(self.final_conv(feat), LEAK)
        latents = self.final_linear(feat.flatten(1)).view(x.shape[0], -1, self.config.style_dim)
        conditions = []
        for skip, up, scale, shift in zip(
            skips, self.conv_body_up, self.condition_scale, self.condition_shift, strict=True
        ):
            feat = up(feat + skip)
            conditions += [scale(feat), shift(feat)]
        return self.stylegan_decoder(latents, conditions)
