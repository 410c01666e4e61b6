"""RestoreFormer++, defined here: the second face restorer (Apache-2.0, weights included).

A VQ autoencoder whose decoder looks back at the degraded face: the encoder's 16 x 16 code is
snapped to the nearest entries of a learnt dictionary of high-quality face features (1,024 of
them), and the decoder's multi-head attention takes its queries from the encoder's features
of the degraded face and its keys and values from the decoder's own (at 16 and, the "++", 32
px), so the output keeps the input's identity. Nothing in it is random: the same face always
gives the same output.

The parameter names and shapes are those of the official ``RestoreFormer++.ckpt`` once its
``vqvae.`` prefix is removed (:mod:`heygem.enhance.checkpoint`). I/O as upstream: (B, 3,
512, 512) RGB in [-1, 1] in, the same out (not clamped).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

GROUPS = 32  # GroupNorm groups everywhere
NORM_EPS = 1e-6


@dataclass(frozen=True)
class RestoreFormerConfig:
    """The released RestoreFormer++ configuration by default; tests build smaller ones."""

    resolution: int = 512  # input and output side in pixels
    channels: int = 64  # channels at full resolution; level l has channels * multipliers[l]
    multipliers: tuple[int, ...] = (1, 2, 2, 4, 4, 8)  # one level per entry, each half the last's side
    res_blocks: int = 2  # residual blocks per encoder level (the decoder has one more)
    attention: tuple[int, ...] = (16,)  # sides (px) where the encoder attends to itself
    decoder_attention: tuple[int, ...] = (16, 32)  # sides where the decoder attends to the encoder
    heads: int = 4  # attention heads
    codebook: int = 1024  # dictionary entries
    code_dim: int = 256  # length of each entry
    z_channels: int = 256  # channels of the encoder's output


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(GROUPS, channels, eps=NORM_EPS)


class _ResBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int):
        super().__init__()
        self.norm1 = _norm(channels_in)
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, 1, 1)
        self.norm2 = _norm(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1)
        if channels_in != channels_out:
            self.nin_shortcut = nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class _Attention(nn.Module):
    """Multi-head attention over all positions, added to ``x``: keys and values from ``x``,
    queries from ``context`` (the encoder's features of the same size), or from ``x`` itself."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = _norm(channels), _norm(channels)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(channels, channels, 1) for _ in range(4))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        own = self.norm1(x)
        asking = own if context is None else self.norm2(context)
        b, c, h, w = x.shape
        width = c // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, heads, width, H*W)
            return t.reshape(b, self.heads, width, h * w)

        queries = split(self.q(asking)).transpose(2, 3) * width**-0.5  # (B, heads, HW, width)
        weights = torch.softmax(queries @ split(self.k(own)), dim=-1)  # (B, heads, HW, HW)
        out = (weights @ split(self.v(own)).transpose(2, 3)).transpose(2, 3)  # (B, heads, width, HW)
        return x + self.proj_out(out.reshape(b, c, h, w))


class _Down(nn.Module):
    """Halves the side: pad right and bottom by one, then a stride-2 convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class _Up(nn.Module):
    """Doubles the side: nearest neighbour, then a convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _level(blocks: list[nn.Module], attention: list[nn.Module]) -> nn.Module:
    level = nn.Module()
    level.block, level.attn = nn.ModuleList(blocks), nn.ModuleList(attention)
    return level


def _middle(channels: int, heads: int) -> nn.Module:
    middle = nn.Module()
    middle.block_1, middle.attn_1 = _ResBlock(channels, channels), _Attention(channels, heads)
    middle.block_2 = _ResBlock(channels, channels)
    return middle


class _Encoder(nn.Module):
    def __init__(self, config: RestoreFormerConfig):
        super().__init__()
        widths = [config.channels * m for m in config.multipliers]
        self.conv_in = nn.Conv2d(3, config.channels, 3, 1, 1)
        self.down = nn.ModuleList()
        channels, side = config.channels, config.resolution
        for index, width in enumerate(widths):
            blocks = [_ResBlock(channels if b == 0 else width, width) for b in range(config.res_blocks)]
            attends = side in config.attention
            level = _level(blocks, [_Attention(width, config.heads) for _ in blocks] if attends else [])
            if index < len(widths) - 1:
                level.downsample = _Down(width)
                side //= 2
            self.down.append(level)
            channels = width
        self.mid = _middle(channels, config.heads)
        self.norm_out = _norm(channels)
        self.conv_out = nn.Conv2d(channels, config.z_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """-> (the code (B, z, s, s), each level's features before it is halved, and at the
        deepest level the features after the middle's first block), then the middle's output."""
        h = self.conv_in(x)
        levels = []
        for level in self.down:
            for k, block in enumerate(level.block):
                h = block(h)
                if len(level.attn):
                    h = level.attn[k](h)
            levels.append(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid.block_1(h)
        levels[-1] = h  # the deepest level is looked back at after the middle's first block
        middle = h = self.mid.block_2(self.mid.attn_1(h))
        return self.conv_out(F.silu(self.norm_out(h))), levels, middle


class _Decoder(nn.Module):
    def __init__(self, config: RestoreFormerConfig):
        super().__init__()
        widths = [config.channels * m for m in config.multipliers]
        channels = widths[-1]
        side = config.resolution // 2 ** (len(widths) - 1)
        self.conv_in = nn.Conv2d(config.z_channels, channels, 3, 1, 1)
        self.mid = _middle(channels, config.heads)
        levels = []
        for index in reversed(range(len(widths))):
            width = widths[index]
            blocks = [_ResBlock(channels if b == 0 else width, width) for b in range(config.res_blocks + 1)]
            attends = side in config.decoder_attention
            level = _level(blocks, [_Attention(width, config.heads) for _ in blocks] if attends else [])
            if index > 0:
                level.upsample = _Up(width)
                side *= 2
            levels.insert(0, level)
            channels = width
        self.up = nn.ModuleList(levels)  # indexed by level, as the encoder's
        self.norm_out = _norm(channels)
        self.conv_out = nn.Conv2d(channels, 3, 3, 1, 1)

    def forward(self, z: torch.Tensor, levels: list[torch.Tensor], middle: torch.Tensor) -> torch.Tensor:
        h = self.mid.block_1(self.conv_in(z))
        h = self.mid.block_2(self.mid.attn_1(h, middle))
        for index in reversed(range(len(self.up))):
            level = self.up[index]
            for k, block in enumerate(level.block):
                h = block(h)
                if len(level.attn):
                    h = level.attn[k](h, levels[index])
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class _Codebook(nn.Module):
    def __init__(self, entries: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(entries, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D, s, s) -> each position replaced by its nearest entry (squared distance, the
        upstream formula, so near ties break the same way)."""
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        table = self.embedding.weight
        distance = (flat * flat).sum(1, keepdim=True) + (table * table).sum(1) - 2 * flat @ table.t()
        nearest = table[torch.argmin(distance, dim=1)]
        return nearest.reshape(b, h, w, d).permute(0, 3, 1, 2)


class RestoreFormer(nn.Module):
    """RestoreFormer++: (B, 3, S, S) RGB in [-1, 1] -> the restored face, same shape."""

    def __init__(self, config: RestoreFormerConfig | None = None):
        super().__init__()
        config = config or RestoreFormerConfig()
        self.config = config
        self.encoder = _Encoder(config)
        self.decoder = _Decoder(config)
        self.quantize = _Codebook(config.codebook, config.code_dim)
        self.quant_conv = nn.Conv2d(config.z_channels, config.code_dim, 1)
        self.post_quant_conv = nn.Conv2d(config.code_dim, config.z_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code, levels, middle = self.encoder(x)
        entries = self.quantize(self.quant_conv(code))
        return self.decoder(self.post_quant_conv(entries), levels, middle)
