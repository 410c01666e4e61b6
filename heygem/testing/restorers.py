"""Random-weight restorers in their official file layouts, small configurations of the same
classes, and the upstream forward passes restated plainly (for parity tests).

The restatements follow the published code step by step (TencentARC/GFPGAN
``gfpganv1_clean_arch.py`` + ``stylegan2_clean_arch.py`` with ``randomize_noise=False``;
wzhouxiff/RestoreFormerPlusPlus ``vqvae_arch.py``), reading the weights by their checkpoint
names from a state dict: a modulated convolution as one grouped convolution with a weight per
sample, attention with upstream's reshapes. They share no code with :mod:`heygem.enhance`.
"""

from __future__ import annotations

import math
from pathlib import Path

from heygem.enhance.gfpgan import GfpganConfig
from heygem.enhance.restoreformer import RestoreFormerConfig

# Small configurations of the released classes: a forward takes milliseconds on a CPU.
SMALL_GFPGAN = GfpganConfig(size=64, style_dim=32, narrow=1 / 16)
SMALL_RESTOREFORMER = RestoreFormerConfig(
    resolution=64, channels=32, multipliers=(1, 1, 2), codebook=16, code_dim=32, z_channels=32
)


def random_restorer(kind: str, config=None, seed: int = 0, gain: float = 1.0):
    """A restorer of ``kind`` with random weights (every parameter and buffer, the stored
    noise included) in eval mode; ``gain`` scales the last layers so outputs span the range."""
    import torch

    from heygem.enhance.checkpoint import build

    torch.manual_seed(seed)
    model = build(kind, config)
    with torch.no_grad():
        for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
            fan_in = math.prod(tensor.shape[1:]) if tensor.dim() > 1 else 1
            if name.endswith(("norm1.weight", "norm2.weight", "norm_out.weight")):
                tensor.copy_(1 + 0.1 * torch.randn_like(tensor))
            elif "embedding" in name or "noise" in name or "constant_input" in name:
                tensor.normal_()
            elif tensor.dim() == 1 or name.endswith(".bias"):
                tensor.normal_(0, 0.05)
            else:
                tensor.normal_(0, 1 / math.sqrt(fan_in))
        last = model.decoder.conv_out if kind == "restoreformer" else model.stylegan_decoder.to_rgbs[-1]
        for parameter in last.parameters():
            parameter.mul_(gain)
    return model.eval()


def random_restorer_file(kind: str, path: Path, config=None, seed: int = 0) -> Path:
    """:func:`random_restorer` written in the official layout of ``kind``."""
    from heygem.enhance.checkpoint import save_official

    return save_official(kind, random_restorer(kind, config, seed), path)


def gfpgan_reference(state: dict, x, config: GfpganConfig):
    """Upstream GFPGANv1Clean.forward (v1.4 arguments: different_w, input_is_latent, sft_half,
    stored noise), on the weights ``state`` (checkpoint names) -> the image."""
    import torch
    from torch.nn import functional as F

    def conv(prefix, t, padding=0):
        return F.conv2d(t, state[f"{prefix}.weight"], state.get(f"{prefix}.bias"), padding=padding)

    def resize(t, factor):
        return F.interpolate(t, scale_factor=factor, mode="bilinear", align_corners=False)

    def res_block(prefix, t, factor):
        out = F.leaky_relu(conv(f"{prefix}.conv1", t, 1), 0.2)
        out = resize(out, factor)
        out = F.leaky_relu(conv(f"{prefix}.conv2", out, 1), 0.2)
        return out + conv(f"{prefix}.skip", resize(t, factor))

    def modulated(prefix, t, style, demodulate, upsample):
        b, c, _, _ = t.shape
        weight = state[f"{prefix}.weight"]  # (1, out, in, k, k)
        out_channels, k = weight.shape[1], weight.shape[-1]
        s = F.linear(style, state[f"{prefix}.modulation.weight"], state[f"{prefix}.modulation.bias"])
        weight = weight * s.view(b, 1, c, 1, 1)
        if demodulate:
            demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)
            weight = weight * demod.view(b, out_channels, 1, 1, 1)
        weight = weight.view(b * out_channels, c, k, k)
        if upsample:
            t = resize(t, 2)
        _, _, h, w = t.shape
        out = F.conv2d(t.view(1, b * c, h, w), weight, padding=k // 2, groups=b)
        return out.view(b, out_channels, *out.shape[2:4])

    def style_conv(prefix, t, style, noise, upsample):
        out = modulated(f"{prefix}.modulated_conv", t, style, True, upsample) * 2**0.5
        out = out + state[f"{prefix}.weight"] * noise + state[f"{prefix}.bias"]
        return F.leaky_relu(out, 0.2)

    def to_rgb(prefix, t, style, skip, upsample):
        out = modulated(f"{prefix}.modulated_conv", t, style, False, False) + state[f"{prefix}.bias"]
        if skip is not None:
            out = out + (resize(skip, 2) if upsample else skip)
        return out

    levels = int(math.log2(config.size))
    feat = F.leaky_relu(conv("conv_body_first", x), 0.2)
    skips = []
    for i in range(levels - 2):
        feat = res_block(f"conv_body_down.{i}", feat, 0.5)
        skips.insert(0, feat)
    feat = F.leaky_relu(conv("final_conv", feat, 1), 0.2)
    style_code = F.linear(
        feat.view(feat.size(0), -1), state["final_linear.weight"], state["final_linear.bias"]
    )
    latent = style_code.view(style_code.size(0), -1, config.style_dim)
    conditions = []
    for i in range(levels - 2):
        feat = res_block(f"conv_body_up.{i}", feat + skips[i], 2)
        for name in ("condition_scale", "condition_shift"):
            hidden = F.leaky_relu(conv(f"{name}.{i}.0", feat, 1), 0.2)
            conditions.append(conv(f"{name}.{i}.2", hidden, 1))
    d = "stylegan_decoder"
    noise = [state[f"{d}.noises.noise{k}"] for k in range((levels - 2) * 2 + 1)]
    out = state[f"{d}.constant_input.weight"].repeat(latent.shape[0], 1, 1, 1)
    out = style_conv(f"{d}.style_conv1", out, latent[:, 0], noise[0], False)
    skip = to_rgb(f"{d}.to_rgb1", out, latent[:, 1], None, False)
    i = 1
    for level in range(levels - 2):
        out = style_conv(f"{d}.style_convs.{2 * level}", out, latent[:, i], noise[2 * level + 1], True)
        if i < len(conditions):
            out_same, out_sft = torch.split(out, int(out.size(1) // 2), dim=1)
            out = torch.cat([out_same, out_sft * conditions[i - 1] + conditions[i]], dim=1)
        out = style_conv(
            f"{d}.style_convs.{2 * level + 1}", out, latent[:, i + 1], noise[2 * level + 2], False
        )
        skip = to_rgb(f"{d}.to_rgbs.{level}", out, latent[:, i + 2], skip, True)
        i += 2
    return skip


def restoreformer_reference(state: dict, x, config: RestoreFormerConfig):
    """Upstream VQVAEGANMultiHeadTransformer.forward's image (RestoreFormer++ arguments), on
    the weights ``state`` (checkpoint names without ``vqvae.``)."""
    import torch
    from torch.nn import functional as F

    def conv(prefix, t, stride=1, padding=0):
        return F.conv2d(t, state[f"{prefix}.weight"], state[f"{prefix}.bias"], stride, padding)

    def norm(prefix, t):
        return F.group_norm(t, 32, state[f"{prefix}.weight"], state[f"{prefix}.bias"], 1e-6)

    def swish(t):
        return t * torch.sigmoid(t)

    def resnet(prefix, t):
        h = conv(f"{prefix}.conv1", swish(norm(f"{prefix}.norm1", t)), padding=1)
        h = conv(f"{prefix}.conv2", swish(norm(f"{prefix}.norm2", h)), padding=1)
        if f"{prefix}.nin_shortcut.weight" in state:
            t = conv(f"{prefix}.nin_shortcut", t)
        return t + h

    def attention(prefix, t, y=None):
        h_ = norm(f"{prefix}.norm1", t)
        y = h_ if y is None else norm(f"{prefix}.norm2", y)
        q, k, v = conv(f"{prefix}.q", y), conv(f"{prefix}.k", h_), conv(f"{prefix}.v", h_)
        b, c, h, w = q.shape
        heads = config.heads
        att = c // heads
        q = q.reshape(b, heads, att, h * w).permute(0, 3, 1, 2)
        k = k.reshape(b, heads, att, h * w).permute(0, 3, 1, 2)
        v = v.reshape(b, heads, att, h * w).permute(0, 3, 1, 2)
        q, v, k = q.transpose(1, 2), v.transpose(1, 2), k.transpose(1, 2).transpose(2, 3)
        w_ = F.softmax(torch.matmul(q * int(att) ** (-0.5), k), dim=3).matmul(v)
        w_ = w_.transpose(1, 2).contiguous().view(b, h, w, -1).permute(0, 3, 1, 2)
        return t + conv(f"{prefix}.proj_out", w_)

    n_levels = len(config.multipliers)
    hs = {}
    h = conv("encoder.conv_in", x, padding=1)
    side = config.resolution
    for level in range(n_levels):
        for block in range(config.res_blocks):
            h = resnet(f"encoder.down.{level}.block.{block}", h)
            if side in config.attention:
                h = attention(f"encoder.down.{level}.attn.{block}", h)
        if level != n_levels - 1:
            hs[f"block_{level}"] = h
            h = conv(f"encoder.down.{level}.downsample.conv", F.pad(h, (0, 1, 0, 1)), stride=2)
            side //= 2
    h = resnet("encoder.mid.block_1", h)
    hs[f"block_{n_levels - 1}_atten"] = h
    h = resnet("encoder.mid.block_2", attention("encoder.mid.attn_1", h))
    hs["mid_atten"] = h
    h = conv("encoder.conv_out", swish(norm("encoder.norm_out", h)), padding=1)
    z = conv("quant_conv", h).permute(0, 2, 3, 1).contiguous()
    flat = z.view(-1, config.code_dim)
    table = state["quantize.embedding.weight"]
    d = (
        torch.sum(flat**2, dim=1, keepdim=True)
        + torch.sum(table**2, dim=1)
        - 2 * torch.matmul(flat, table.t())
    )
    z_q = table[torch.argmin(d, dim=1)].view(z.shape).permute(0, 3, 1, 2)
    h = conv("decoder.conv_in", conv("post_quant_conv", z_q), padding=1)
    h = resnet(
        "decoder.mid.block_2",
        attention("decoder.mid.attn_1", resnet("decoder.mid.block_1", h), hs["mid_atten"]),
    )
    side = config.resolution // 2 ** (n_levels - 1)
    for level in reversed(range(n_levels)):
        for block in range(config.res_blocks + 1):
            h = resnet(f"decoder.up.{level}.block.{block}", h)
            if side in config.decoder_attention:
                context = hs.get(f"block_{level}_atten", hs.get(f"block_{level}"))
                h = attention(f"decoder.up.{level}.attn.{block}", h, context)
        if level != 0:
            h = conv(
                f"decoder.up.{level}.upsample.conv",
                F.interpolate(h, scale_factor=2.0, mode="nearest"),
                padding=1,
            )
            side *= 2
    return conv("decoder.conv_out", swish(norm("decoder.norm_out", h)), padding=1)
