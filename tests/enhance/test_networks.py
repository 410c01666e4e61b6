"""The restorer networks against the upstream forward passes restated, and their official files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from heygem.enhance.checkpoint import EnhancerLoadError, config_of, read_restorer, save_official
from heygem.enhance.gfpgan import GFPGAN, GfpganConfig
from heygem.enhance.restoreformer import RestoreFormer, RestoreFormerConfig
from heygem.testing.restorers import (
    SMALL_GFPGAN,
    SMALL_RESTOREFORMER,
    gfpgan_reference,
    random_restorer,
    random_restorer_file,
    restoreformer_reference,
)

REFERENCES = {
    "gfpgan": (SMALL_GFPGAN, gfpgan_reference, 64),
    "restoreformer": (SMALL_RESTOREFORMER, restoreformer_reference, 64),
}


@pytest.mark.parametrize("kind", sorted(REFERENCES))
def test_the_network_computes_the_upstream_forward(kind):
    """Random weights (the stored noise too), a small configuration of the released class:
    ours and the plain restatement agree to float rounding, on a batch of three."""
    config, reference, side = REFERENCES[kind]
    model = random_restorer(kind, config, seed=3, gain=8.0)
    x = torch.rand(3, 3, side, side, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ours, theirs = model(x), reference(model.state_dict(), x, config)
    assert ours.shape == x.shape and ours.std() > 0.1  # an output that spans a range
    assert (ours - theirs).abs().max() <= 2e-4 * ours.abs().max()
    # The same check catches a restatement that differs: a decoder noise swapped for another.
    if kind == "gfpgan":
        state = dict(model.state_dict())
        state["stylegan_decoder.noises.noise3"] = torch.roll(state["stylegan_decoder.noises.noise3"], 1, -1)
        with torch.no_grad():
            assert (ours - reference(state, x, config)).abs().max() > 1e-2


def test_gfpgan_uses_its_stored_noise_every_call():
    model = random_restorer("gfpgan", SMALL_GFPGAN, seed=2, gain=8.0)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        first, second = model(x), model(x)
        torch.manual_seed(123)  # no random draw anywhere
        third = model(x)
    assert torch.equal(first, second) and torch.equal(first, third)


def test_the_released_configurations_have_the_official_files_tensors(tmp_path):
    """Both classes build their released configuration with no arguments, write the official
    layout (every tensor), and the real loader reads it back strictly and infers the same
    configuration. RestoreFormer++'s tensor and parameter counts are those of the official
    checkpoint (441, 73,472,579); GFPGAN's tensors fill GFPGANv1.4.pth but for its container."""
    with torch.device("meta"):  # shapes only
        gfpgan, restoreformer = GFPGAN(), RestoreFormer()
    assert gfpgan.config == GfpganConfig() and restoreformer.config == RestoreFormerConfig()
    values = sum(t.numel() for t in restoreformer.state_dict().values())
    assert (len(restoreformer.state_dict()), values) == (441, 73_472_579)
    gfpgan_bytes = 4 * sum(t.numel() for t in gfpgan.state_dict().values())
    assert 0 < 348_632_874 - gfpgan_bytes < 100 * len(gfpgan.state_dict()) * 3  # headers only
    shapes = gfpgan.state_dict()
    assert tuple(shapes["final_linear.weight"].shape) == (16 * 512, 256 * 16)  # a w per layer
    assert tuple(shapes["stylegan_decoder.noises.noise14"].shape) == (1, 1, 512, 512)
    assert tuple(shapes["condition_scale.6.2.weight"].shape) == (32, 32, 3, 3)  # SFT on half of 64
    for kind, model, name in (
        ("gfpgan", gfpgan, "GFPGANv1.4.pth"),
        ("restoreformer", restoreformer, "RestoreFormer++.ckpt"),
    ):
        state = {key: torch.zeros(t.shape) for key, t in model.state_dict().items()}
        key = next(iter(state))
        state[key] = torch.arange(state[key].numel(), dtype=torch.float32).reshape(state[key].shape)
        path = tmp_path / name
        if kind == "gfpgan":
            torch.save({"params_ema": state}, path)
        else:
            torch.save({"state_dict": {f"vqvae.{k}": v for k, v in state.items()}, "epoch": 1}, path)
        loaded = read_restorer(kind, path)
        assert loaded.config == model.config and loaded.state_dict().keys() == state.keys()
        assert torch.equal(loaded.state_dict()[key], state[key])
        path.unlink()


def test_config_is_read_from_the_tensors():
    assert config_of("gfpgan", GFPGAN(SMALL_GFPGAN).state_dict()) == SMALL_GFPGAN
    assert config_of("restoreformer", RestoreFormer(SMALL_RESTOREFORMER).state_dict()) == SMALL_RESTOREFORMER
    assert config_of("gfpgan", {"something": torch.zeros(1)}) is None


def test_bad_files_are_refused_naming_the_file_and_the_reason(tmp_path, random_checkpoint):
    garbage = tmp_path / "GFPGANv1.4.pth"
    garbage.write_bytes(b"not a checkpoint at all" * 100)
    with pytest.raises(EnhancerLoadError, match=r"GFPGANv1\.4\.pth: not a readable torch checkpoint"):
        read_restorer("gfpgan", garbage)
    with pytest.raises(EnhancerLoadError, match=r"wav2lip_random\.pth: no 'params_ema' inside"):
        read_restorer("gfpgan", random_checkpoint)
    with pytest.raises(EnhancerLoadError, match="file not found"):
        read_restorer("restoreformer", tmp_path / "absent.ckpt")
    state = random_restorer("gfpgan", SMALL_GFPGAN).state_dict()
    del state["stylegan_decoder.noises.noise2"]
    torch.save({"params_ema": state}, tmp_path / "no noise.pth")
    with pytest.raises(
        EnhancerLoadError, match=r"no noise\.pth.*missing keys: stylegan_decoder\.noises\.noise2"
    ):
        read_restorer("gfpgan", tmp_path / "no noise.pth")
    gfpgan = random_restorer_file("gfpgan", tmp_path / "g.pth", SMALL_GFPGAN)
    with pytest.raises(EnhancerLoadError, match=r"g\.pth: no 'state_dict' inside: not a RestoreFormer"):
        read_restorer("restoreformer", gfpgan)


class LightningCallback:
    """Stands for an object a Lightning checkpoint pickles beside its tensors; unpickling it
    for real would run this code."""

    ran = None

    def __setstate__(self, state):
        type(self).ran = state
        (state["where"]).write_text("code from the checkpoint ran")


def test_a_lightning_checkpoint_is_read_without_running_its_objects(tmp_path, monkeypatch):
    model = random_restorer("restoreformer", SMALL_RESTOREFORMER, seed=4)
    path = save_official("restoreformer", model, tmp_path / "RestoreFormer++.ckpt")
    checkpoint = torch.load(path, weights_only=True)
    callback = LightningCallback()
    callback.__dict__["where"] = tmp_path / "ran.txt"
    checkpoint["callbacks"] = {LightningCallback: callback}
    monkeypatch.setattr(
        LightningCallback, "__reduce__", lambda self: (LightningCallback, (), dict(self.__dict__))
    )
    torch.save(checkpoint, path)
    with pytest.raises(pickle.UnpicklingError):  # what torch alone says
        torch.load(path, weights_only=True)
    loaded = read_restorer("restoreformer", path)
    assert not (tmp_path / "ran.txt").exists() and LightningCallback.ran is None
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
