"""The item runner: the process's flags are the defaults, a batch's own settings override them."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import handle_file

from heygem.testing import synthetic
from heygem.testing.processes import App, finished, wait_for


@pytest.fixture(scope="module")
def weights(tmp_path_factory, random_checkpoint):
    """A checkpoint folder holding a Wav2Lip and an S3FD, both random: enough for "auto" to
    pick wav2lip (and sfd on CUDA) were the process's flags dropped."""
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd

    folder = tmp_path_factory.mktemp("checkpoints")
    (folder / "wav2lip_gan.pth").write_bytes(Path(random_checkpoint).read_bytes())
    torch.manual_seed(0)
    torch.save(s3fd().state_dict(), folder / "s3fd.pth")
    return folder


def test_app_flags_are_the_defaults_and_a_batch_overrides_them(tmp_path, weights):
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.4)
    clip = synthetic.face_video(tmp_path / "clip.mp4", 0.4, size=(160, 96), face=80)
    # App passes --engine loudness; with wav2lip_gan.pth present, "auto" would be wav2lip.
    args = ("--detector", "sfd", "--checkpoint-dir", str(weights))
    with App(tmp_path / "ws", None, None, *args).wait_ready() as app:
        client = app.client()
        plain = client.predict(handle_file(audio), [handle_file(clip)], api_name="/submit_batch")
        own = client.predict(
            handle_file(audio),
            [handle_file(clip)],
            {"engine": "wav2lip", "detector": "blazeface"},
            api_name="/submit_batch",
        )
        first = wait_for(lambda: finished(client, plain), timeout=180)["items"][0]
        second = wait_for(lambda: finished(client, own), timeout=180)["items"][0]
        app.stop()
    assert (first["status"], first["engine"], first["detector"]) == ("done", "loudness", "sfd")
    assert (second["status"], second["engine"], second["detector"]) == ("done", "wav2lip", "blazeface")


def test_runtime_checkpoint_and_cache_flags_reach_the_models(tmp_path, random_checkpoint):
    from heygem.jobs import ItemRunner
    from heygem.lipsync import EngineSettings

    flags = EngineSettings(
        engine="wav2lip",
        checkpoint=random_checkpoint,
        checkpoint_dir=tmp_path / "empty",
        device="cpu",
        runtime="onnx",
        cache_dir=tmp_path / "cache",
    )
    status = ItemRunner(flags).load()
    assert (status.state, status.engine, status.runtime) == ("ready", "wav2lip", "onnx")
    assert status.checkpoint == str(random_checkpoint)
    assert list((tmp_path / "cache" / "models").glob("*-fp32.onnx"))  # exported into --cache-dir
