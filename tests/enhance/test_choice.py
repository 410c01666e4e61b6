"""On or off, per video: the setting, the device, the weights, how far the patch is scaled up."""

from __future__ import annotations

import pytest

from heygem.enhance.choice import AUTO_MIN_UPSCALE, EnhancerUnavailable, choose, cost_text


@pytest.fixture
def installed(tmp_path):
    (tmp_path / "GFPGANv1.4.pth").write_bytes(b"weights")
    return tmp_path


def test_auto_turns_gfpgan_on_only_on_cuda_with_weights_for_a_face_scaled_up_twice(installed, tmp_path):
    on = choose("auto", "cuda", installed, None, 2.5, 100)
    assert (on.restorer, on.checkpoint) == ("gfpgan", installed / "GFPGANv1.4.pth")
    assert choose("auto", "cuda:1", installed, None, AUTO_MIN_UPSCALE, 100).restorer == "gfpgan"
    small = choose("auto", "cuda", installed, None, 1.9, 100)
    assert small.restorer is None and "scaled up 1.9x" in small.reason
    assert choose("auto", "cuda", installed, None, None, 0).restorer is None  # no face at all
    missing = choose("auto", "cuda", tmp_path / "empty", None, 3.0, 100)
    assert missing.restorer is None and "GFPGANv1.4.pth is not installed" in missing.reason


def test_auto_is_off_on_the_cpu_and_says_what_it_would_cost(installed):
    off = choose("auto", "cpu", installed, None, 4.0, 250)
    assert off.restorer is None and off.checkpoint is None
    assert "off on the CPU" in off.reason and cost_text("gfpgan", 250) in off.reason
    assert "per frame" in off.reason and "250 frames" in off.reason


def test_a_named_enhancer_runs_anywhere_its_weights_are(installed, tmp_path):
    assert choose("gfpgan", "cpu", installed, None, 1.0, 10).restorer == "gfpgan"
    explicit = tmp_path / "mine.ckpt"
    explicit.write_bytes(b"x")
    picked = choose("restoreformer", "cpu", tmp_path / "elsewhere", explicit, 1.0, 10)
    assert (picked.restorer, picked.checkpoint) == ("restoreformer", explicit)
    with pytest.raises(
        EnhancerUnavailable,
        match=r"RestoreFormer\+\+\.ckpt: run `python -m heygem models download restoreformer_pp`",
    ):
        choose("restoreformer", "cuda", installed, None, 3.0, 10)
    assert choose("none", "cuda", installed, None, 3.0, 10).restorer is None
