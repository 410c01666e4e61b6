"""Runtimes: ONNX fp32 and int8 against torch, on the model and end to end."""

from __future__ import annotations

import numpy as np

from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
from heygem.media import video
from heygem.media.encode import EncodeOptions
from heygem.media.narration import Narration

LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")


def test_onnx_runtimes_stay_within_tolerance(random_checkpoint, tmp_path, _private_cache):
    from heygem.lipsync.calibration import calibration_batches
    from heygem.lipsync.runtimes import OnnxRuntime, clear_runtime_cache, load_runtime, quantize_int8

    clear_runtime_cache()
    mels, faces = calibration_batches(1)[0]
    plain = load_runtime("torch", random_checkpoint, "cpu").predict(mels, faces).astype(int)
    onnx = load_runtime("onnx", random_checkpoint, "cpu")  # exported to the session's cache
    assert load_runtime("onnx", random_checkpoint, "cpu") is onnx  # loaded once per process
    assert np.abs(onnx.predict(mels, faces).astype(int) - plain).max() <= 1
    assert onnx.predict(mels[:0], faces[:0]).shape == (0, 96, 96, 3)
    (fp32,) = (_private_cache / "models").glob("*-fp32.onnx")  # exported once, kept
    int8 = OnnxRuntime(quantize_int8(fp32, tmp_path / "w8.onnx", batches=1), "onnx-int8")
    difference = np.abs(int8.predict(mels, faces).astype(int) - plain)
    assert difference.max() <= 4 and difference.mean() <= 0.5  # the README's tolerance


def test_wav2lip_runtimes_give_the_same_video(random_checkpoint, tmp_path, speech, face_clip):
    outputs = {}
    for runtime in ("torch", "onnx"):
        settings = EngineSettings(
            engine="wav2lip", checkpoint=random_checkpoint, device="cpu", runtime=runtime
        )
        syncer = load_syncer(settings, SyncOptions(encode=LOSSLESS))
        assert syncer.engine.runtime.name == runtime
        result = syncer.run(
            Narration(speech), face_clip, tmp_path / f"{runtime}.mp4", tmp_path / f"w-{runtime}"
        )
        info = video.probe(result.output)
        outputs[runtime] = np.stack(list(video.read_frames(info, range(info.n_frames))))
    difference = np.abs(outputs["torch"].astype(int) - outputs["onnx"])
    assert difference.max() <= 2 and difference.mean() < 0.01
