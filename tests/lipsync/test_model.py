"""Wav2Lip network, checkpoint loading and predict(), on CPU with random weights."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from heygem.lipsync.checkpoint import ModelLoadError, read_model, save_checkpoint
from heygem.lipsync.model import Wav2Lip, model_device, predict
from heygem.lipsync.runtimes import clear_runtime_cache, load_runtime
from heygem.testing.models import random_wav2lip

# Counted from our definition; the published model is quoted as ~36.3 M parameters.
WAV2LIP_PARAMETERS = 36_298_035


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_runtime_cache()
    yield
    clear_runtime_cache()


@pytest.fixture(scope="module")
def random_model() -> Wav2Lip:
    """A random-weight model with non-trivial BatchNorm statistics, in eval mode."""
    return random_wav2lip(seed=0)


@pytest.fixture(scope="module")
def checkpoint(random_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "wav2lip.pth"
    save_checkpoint(random_model, path)
    return path


def random_inputs(batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    audio = torch.rand(batch, 1, 80, 16, generator=generator) * 8 - 4  # mel range [-4, 4]
    faces = torch.rand(batch, 6, 96, 96, generator=generator)
    faces[:, :3, 48:] = 0
    return audio, faces


def test_parameter_count():
    count = sum(p.numel() for p in Wav2Lip().parameters())
    assert count == WAV2LIP_PARAMETERS
    assert count == pytest.approx(36.3e6, rel=0.005)


def test_forward_shape_and_range(random_model):
    audio, faces = random_inputs()
    with torch.inference_mode():
        out = random_model(audio, faces)
    assert out.shape == (2, 3, 96, 96)
    assert out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("data_parallel_prefix", [False, True])
def test_saved_checkpoint_loads_and_matches(random_model, tmp_path, data_parallel_prefix):
    path = tmp_path / "model.pth"
    save_checkpoint(random_model, path, data_parallel_prefix=data_parallel_prefix)
    if data_parallel_prefix:
        keys = torch.load(path, weights_only=True)["state_dict"].keys()
        assert all(key.startswith("module.") for key in keys)

    loaded = read_model(path)
    assert not loaded.training
    assert model_device(loaded) == torch.device("cpu")
    audio, faces = random_inputs()
    with torch.inference_mode():
        expected = random_model(audio, faces)
        actual = loaded(audio, faces.contiguous(memory_format=torch.channels_last))
    # channels_last may pick a different CPU conv kernel: equal up to float rounding.
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


def test_bare_state_dict_loads(random_model, tmp_path):
    path = tmp_path / "bare.pth"
    torch.save(random_model.state_dict(), path)
    loaded = read_model(path)
    first_weight = "face_encoder_blocks.0.0.conv_block.0.weight"
    assert torch.equal(loaded.state_dict()[first_weight], random_model.state_dict()[first_weight])


def test_predict_shape_dtype(checkpoint):
    model = read_model(checkpoint)
    rng = np.random.default_rng(0)
    mels = rng.uniform(-4, 4, (3, 80, 16)).astype(np.float32)
    faces = rng.integers(0, 256, (3, 96, 96, 3), dtype=np.uint8)
    out = predict(model, mels, faces)
    assert out.shape == (3, 96, 96, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous
    assert predict(model, mels[:0], faces[:0]).shape == (0, 96, 96, 3)


def test_predict_rejects_bad_shapes(checkpoint):
    model = read_model(checkpoint)
    faces = np.zeros((2, 96, 96, 3), np.uint8)
    with pytest.raises(ValueError, match="mels"):
        predict(model, np.zeros((2, 80, 12), np.float32), faces)
    with pytest.raises(ValueError, match="faces"):
        predict(model, np.zeros((2, 80, 16), np.float32), faces.astype(np.float32))


def test_wrong_keys_name_missing_and_unexpected(random_model, tmp_path):
    state = dict(random_model.state_dict())
    del state["output_block.1.weight"]
    state["decoder.extra.weight"] = torch.zeros(1)
    path = tmp_path / "wrong.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(ModelLoadError) as caught:
        read_model(path)
    message = str(caught.value)
    assert "wrong.pth" in message
    assert "missing keys: output_block.1.weight" in message
    assert "unexpected keys: decoder.extra.weight" in message


def test_shape_mismatch_is_reported(random_model, tmp_path):
    state = dict(random_model.state_dict())
    state["output_block.1.bias"] = torch.zeros(4)
    path = tmp_path / "shapes.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(ModelLoadError, match=r"shape mismatch: output_block\.1\.bias \(4,\)"):
        read_model(path)


def test_text_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(ModelLoadError, match="notes.pth.*not a readable torch checkpoint"):
        read_model(path)


def test_truncated_checkpoint(checkpoint, tmp_path):
    path = tmp_path / "truncated.pth"
    path.write_bytes(checkpoint.read_bytes()[:100_000])
    with pytest.raises(ModelLoadError, match="truncated.pth"):
        read_model(path)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "objects.pth"
    torch.save({"state_dict": {}, "scheduler": ValueError("not a tensor")}, path)
    with pytest.raises(ModelLoadError, match="objects.pth.*refusing unsafe loading"):
        read_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="absent.pth: file not found"):
        read_model(tmp_path / "absent.pth")


def test_one_model_per_process_until_cleared_or_rewritten(checkpoint):
    first = load_runtime("torch", checkpoint, "cpu")
    assert load_runtime("torch", str(checkpoint), "cpu") is first
    clear_runtime_cache()
    second = load_runtime("torch", checkpoint, "cpu")
    assert second is not first and second.model is not first.model
    stat = checkpoint.stat()
    os.utime(checkpoint, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_runtime("torch", checkpoint, "cpu") is not second


@pytest.mark.cuda
def test_cuda_loads_fp16_and_predicts(checkpoint):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU available")
    model = read_model(checkpoint, device="cuda")
    parameter = next(model.parameters())
    assert parameter.is_cuda and parameter.dtype == torch.float16
    rng = np.random.default_rng(0)
    mels = rng.uniform(-4, 4, (4, 80, 16)).astype(np.float32)
    faces = rng.integers(0, 256, (4, 96, 96, 3), dtype=np.uint8)
    out = predict(model, mels, faces)
    assert out.shape == (4, 96, 96, 3) and out.dtype == np.uint8
    # fp16 on the GPU stays close to the fp32 CPU result.
    reference = predict(read_model(checkpoint), mels, faces)
    assert np.abs(out.astype(int) - reference.astype(int)).max() <= 3


def save_torchscript(model: Wav2Lip, path) -> None:
    """What the Wav2Lip README links to today: the whole network as TorchScript."""
    import warnings

    audio, faces = random_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated: the files exist all the same
        torch.jit.save(torch.jit.trace(model, (audio, faces)), str(path))


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_torchscript_gives_the_same_pixels_as_the_classic_checkpoint(
    random_model, checkpoint, tmp_path, runtime
):
    scripted = tmp_path / "Wav2Lip-SD-GAN.pt"
    save_torchscript(random_model, scripted)
    rng = np.random.default_rng(3)
    mels = rng.uniform(-4, 4, (4, 80, 16)).astype(np.float32)
    faces = rng.integers(0, 256, (4, 96, 96, 3), dtype=np.uint8)
    from_classic = load_runtime(runtime, checkpoint, "cpu", tmp_path / "cache").predict(mels, faces)
    from_torchscript = load_runtime(runtime, scripted, "cpu", tmp_path / "cache").predict(mels, faces)
    np.testing.assert_array_equal(from_torchscript, from_classic)


def test_torchscript_of_another_network_names_the_keys(tmp_path):
    import warnings

    path = tmp_path / "Wav2Lip-SD-NOGAN.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4, 2))), str(path))
    with pytest.raises(ModelLoadError) as caught:
        read_model(path)
    message = str(caught.value)
    assert "Wav2Lip-SD-NOGAN.pt: TorchScript of another network" in message
    assert "missing keys: face_encoder_blocks.0.0.conv_block.0.weight" in message
    assert "unexpected keys: 0.weight, 0.bias" in message


def test_a_damaged_torchscript_file_is_named(random_model, tmp_path):
    path = tmp_path / "Wav2Lip-SD-GAN.pt"
    save_torchscript(random_model, path)
    import zipfile

    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(tmp_path / "cut.pt", "w") as cut:
        for name in archive.namelist():
            if "/data/" not in name:  # the tensors' storage lost
                cut.writestr(name, archive.read(name))
    with pytest.raises(ModelLoadError, match="cut.pt: not a readable TorchScript file"):
        read_model(tmp_path / "cut.pt")
