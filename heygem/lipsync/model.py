"""The Wav2Lip generator (Prajwal et al. 2020) and a numpy inference helper.

The network is our own definition of the published 96x96 architecture; module and parameter
names match the official ``wav2lip.pth`` / ``wav2lip_gan.pth`` so those files load strictly
(see :mod:`heygem.lipsync.checkpoint`).

Colour order: the original was trained on OpenCV frames, so every image here is BGR.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

FACE_SIZE = 96  # px, square face crop the model sees
MASK_START_ROW = FACE_SIZE // 2  # rows 48..95 (the mouth half) are hidden from the model
MEL_BANDS = 80  # mel channels per window
MEL_STEPS = 16  # mel frames per window (0.2 s)


class ConvBlock(nn.Module):
    """Conv2d + BatchNorm, optionally plus the input (same shape), then ReLU."""

    def __init__(self, cin, cout, kernel_size, stride, padding, residual=False):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size, stride, padding), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class UpConvBlock(nn.Module):
    """ConvTranspose2d + BatchNorm + ReLU: the decoder's upsampling step."""

    def __init__(self, cin, cout, kernel_size, stride, padding, output_padding=0):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding),
            nn.BatchNorm2d(cout),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _down(cin: int, cout: int, stride, n_residual: int) -> list[nn.Module]:
    """A strided 3x3 conv from cin to cout, then ``n_residual`` residual 3x3 convs."""
    blocks = [ConvBlock(cin, cout, 3, stride, 1)]
    blocks += [ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(n_residual)]
    return blocks


def _up(cin: int, cout: int, n_residual: int, stride: int = 2) -> nn.Sequential:
    """An upsampling block doubling the size (stride 2) or 1x1 -> 3x3 (stride 1)."""
    if stride == 2:
        first = UpConvBlock(cin, cout, 3, 2, 1, output_padding=1)
    else:
        first = UpConvBlock(cin, cout, 3, 1, 0)
    rest = [ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(n_residual)]
    return nn.Sequential(first, *rest)


class Wav2Lip(nn.Module):
    """U-Net that repaints the lower half of a face to match a 0.2 s mel window."""

    def __init__(self):
        super().__init__()
        # Face encoder: 96 -> 48 -> 24 -> 12 -> 6 -> 3 -> 1; each output is a skip connection.
        self.face_encoder_blocks = nn.ModuleList(
            [
                nn.Sequential(ConvBlock(6, 16, 7, 1, 3)),
                nn.Sequential(*_down(16, 32, 2, 2)),
                nn.Sequential(*_down(32, 64, 2, 3)),
                nn.Sequential(*_down(64, 128, 2, 2)),
                nn.Sequential(*_down(128, 256, 2, 2)),
                nn.Sequential(*_down(256, 512, 2, 1)),
                nn.Sequential(ConvBlock(512, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0)),
            ]
        )
        # Audio encoder: 1x80x16 mel -> 512x1x1 embedding.
        self.audio_encoder = nn.Sequential(
            *_down(1, 32, 1, 2),  # 80x16
            *_down(32, 64, (3, 1), 2),  # 27x16
            *_down(64, 128, 3, 2),  # 9x6
            *_down(128, 256, (3, 2), 1),  # 3x3
            ConvBlock(256, 512, 3, 1, 0),  # 1x1
            ConvBlock(512, 512, 1, 1, 0),
        )
        # Decoder: input channels = previous output + the matching encoder skip (deepest first).
        self.face_decoder_blocks = nn.ModuleList(
            [
                nn.Sequential(ConvBlock(512, 512, 1, 1, 0)),  # 1
                _up(1024, 512, 1, stride=1),  # 3
                _up(1024, 512, 2),  # 6
                _up(768, 384, 2),  # 12
                _up(512, 256, 2),  # 24
                _up(320, 128, 2),  # 48
                _up(160, 64, 2),  # 96
            ]
        )
        self.output_block = nn.Sequential(ConvBlock(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid())

    def forward(self, audio: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """Generate faces whose mouths follow the audio.

        audio: (B, 1, 80, 16) float mel windows (normalised to [-4, 4] by heygem.media.audio).
        faces: (B, 6, 96, 96) float in [0, 1], BGR: channels 0-2 the target face with rows
            48..95 zeroed, channels 3-5 an unmasked reference face.
        Returns (B, 3, 96, 96) in [0, 1], BGR, same dtype as the inputs.
        """
        skips = []
        x = faces
        for block in self.face_encoder_blocks:
            x = block(x)
            skips.append(x)

        x = self.audio_encoder(audio)  # (B, 512, 1, 1)
        for block, skip in zip(self.face_decoder_blocks, reversed(skips), strict=True):
            x = torch.cat((block(x), skip), dim=1)
        return self.output_block(x)


def model_device(model: nn.Module) -> torch.device:
    """The device holding the model's parameters."""
    return next(model.parameters()).device


def predict(model: Wav2Lip, mels: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Lip-sync a batch of face crops to a batch of mel windows.

    mels: (B, 80, 16) float32 mel windows, one per face.
    faces: (B, 96, 96, 3) uint8 BGR face crops. Each is used twice: with rows 48..95 zeroed
        (the part to repaint) and whole as the reference for identity and pose.
    Returns (B, 96, 96, 3) uint8 BGR generated faces (rounded, clipped to 0..255).
    Runs under ``torch.inference_mode`` on the model's device and dtype.
    """
    if not check_batch(mels, faces):
        return np.empty((0, FACE_SIZE, FACE_SIZE, 3), np.uint8)

    masked = faces.copy()
    masked[:, MASK_START_ROW:] = 0
    stacked = np.concatenate([masked, faces], axis=3)  # (B, 96, 96, 6): masked first
    parameter = next(model.parameters())
    device, dtype = parameter.device, parameter.dtype
    with torch.inference_mode():
        # Permuting NHWC to NCHW gives channels_last strides, the layout the model is in.
        face_input = torch.from_numpy(stacked).to(device).permute(0, 3, 1, 2).to(dtype) / 255
        audio_input = torch.from_numpy(np.ascontiguousarray(mels, np.float32)).to(device, dtype)
        generated = model(audio_input.unsqueeze(1), face_input)  # (B, 3, 96, 96) in [0, 1]
        pixels = (generated.float() * 255).round().clamp(0, 255).to(torch.uint8)
        return np.ascontiguousarray(pixels.permute(0, 2, 3, 1).cpu().numpy())


def check_batch(mels: np.ndarray, faces: np.ndarray) -> int:
    """Raise ValueError unless mels is (B, 80, 16) and faces (B, 96, 96, 3) uint8; returns B."""
    batch = len(faces)
    if faces.shape != (batch, FACE_SIZE, FACE_SIZE, 3) or faces.dtype != np.uint8:
        raise ValueError(f"faces must be (B, 96, 96, 3) uint8, got {faces.shape} {faces.dtype}")
    if mels.shape != (batch, MEL_BANDS, MEL_STEPS):
        raise ValueError(f"mels must be ({batch}, 80, 16), got {mels.shape}")
    return batch


class PixelWav2Lip(nn.Module):
    """Wav2Lip with the pixel handling of :func:`predict` inside: the graph exported to ONNX,
    so that runtime gets pixels in and pixels out exactly as ``predict`` does."""

    def __init__(self, net: Wav2Lip):
        super().__init__()
        self.net = net

    def forward(self, mels: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """mels (B, 80, 16) float32; faces (B, 96, 96, 3) uint8 BGR -> (B, 96, 96, 3) uint8 BGR."""
        whole = faces.permute(0, 3, 1, 2).float() / 255
        top, bottom = whole[:, :, :MASK_START_ROW], whole[:, :, MASK_START_ROW:]
        masked = torch.cat([top, torch.zeros_like(bottom)], dim=2)
        generated = self.net(mels.unsqueeze(1), torch.cat([masked, whole], dim=1))
        pixels = (generated * 255).round().clamp(0, 255).to(torch.uint8)
        return pixels.permute(0, 2, 3, 1)
