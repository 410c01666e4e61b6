"""Where a restorer runs: pixels in and out, the same faces on every runtime."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from heygem.enhance.runtimes import load_restorer, pixel_restorer, resolve_runtime
from heygem.machine import native_bf16
from heygem.testing.restorers import SMALL_GFPGAN, SMALL_RESTOREFORMER, random_restorer_file
from heygem.testing.synthetic import astronaut_bgr

CONFIGS = {"gfpgan": SMALL_GFPGAN, "restoreformer": SMALL_RESTOREFORMER}


class RedEverywhere(torch.nn.Module):
    """A "restorer" that returns its input's first (red) channel in all three."""

    config = SMALL_GFPGAN

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, rgb):
        return rgb[:, :1].repeat(1, 3, 1, 1) * self.scale


def test_pixels_go_in_as_rgb_in_minus_one_to_one_and_come_back_as_bgr():
    faces = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), np.uint8)
    with torch.no_grad():
        out = pixel_restorer(RedEverywhere())(torch.from_numpy(faces)).numpy()
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, faces[..., 2:3].repeat(3, -1))  # BGR's red, exactly


@pytest.fixture(scope="module")
def faces():
    head = astronaut_bgr(64)
    return np.stack([head, head[:, ::-1], np.roll(head, 5, 0)])


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_openvino_gives_torchs_faces(kind, faces, tmp_path_factory):
    """f32 within 1 level of torch fp32; bf16 within a few (OpenVINO runs f32 where the CPU
    has no native bf16, and says so).

    RestoreFormer's dictionary lookup is a step: bf16's rounding in the encoder flips the
    nearest entry where two entries are nearly as near, and a random dictionary has many such
    ties (1 % of the positions here flip, and the decoder's attention spreads each flip over the
    face: 16 levels on average; with the lookup pinned to fp32's entries, 1.3). So bf16 is held
    to torch on a one-entry dictionary, where the lookup cannot flip and the rest of the network
    is what is compared."""
    folder = tmp_path_factory.mktemp(kind)
    path = random_restorer_file(kind, folder / f"{kind}.pth", CONFIGS[kind], seed=5)
    torch_faces = load_restorer(kind, path, "cpu", "torch").restore(faces)
    assert torch_faces.std() > 10  # faces, not a flat output
    f32 = load_restorer(kind, path, "cpu", "openvino", folder)
    assert f32.side == 64 and f32.precision == "f32"
    assert np.abs(f32.restore(faces).astype(int) - torch_faces).max() <= 1
    if kind == "restoreformer":
        config = dataclasses.replace(CONFIGS[kind], codebook=1)
        path = random_restorer_file(kind, folder / "one-entry.pth", config, seed=5)
        torch_faces = load_restorer(kind, path, "cpu", "torch").restore(faces)
        assert torch_faces.std() > 10
    bf16 = load_restorer(kind, path, "cpu", "openvino-bf16", folder)
    assert bf16.precision == ("bf16" if native_bf16() else "f32")
    assert np.abs(bf16.restore(faces).astype(int) - torch_faces).mean() <= 3
    assert load_restorer(kind, path, "cpu", "torch").restore(faces[:0]).shape == (0, 64, 64, 3)


def test_runtime_auto_and_the_cpu_only_runtimes():
    assert resolve_runtime("auto", "cuda") == "torch"
    assert resolve_runtime("auto", "cpu") == ("openvino-bf16" if native_bf16() else "openvino")
    with pytest.raises(ValueError, match="CPU only"):
        resolve_runtime("openvino", "cuda")
    with pytest.raises(ValueError, match="unknown enhancer runtime"):
        resolve_runtime("onnx-int8", "cpu")
