"""Runtimes: ONNX fp32 and int8 against torch, on the model and end to end."""

from __future__ import annotations

import numpy as np
import pytest

from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
from heygem.lipsync.calibration import calibration_batches
from heygem.lipsync.heldout import differences, held_out_batch
from heygem.lipsync.runtimes import clear_runtime_cache, load_runtime
from heygem.media import video
from heygem.media.encode import EncodeOptions
from heygem.media.narration import Narration

LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")


@pytest.fixture(autouse=True)
def fresh_runtimes():
    """No runtime loaded before each test, none left loaded after it (a runtime loaded here
    would stand in for a later test's, exported elsewhere)."""
    clear_runtime_cache()
    yield
    clear_runtime_cache()


def test_onnx_runtimes_stay_within_tolerance(spread_model):
    spread, cache = spread_model
    mels, faces = held_out_batch(16)
    calibrated = calibration_batches(4)  # what onnx-int8 is calibrated on (CALIBRATION_BATCHES)
    assert not any((faces[:, None] == f[None]).all(axis=(2, 3, 4)).any() for _, f in calibrated)
    plain = load_runtime("torch", spread, "cpu").predict(mels, faces).astype(int)
    assert plain.std() > 40 and plain.min() < 30 and plain.max() > 225  # faces span the pixel range
    onnx = load_runtime("onnx", spread, "cpu", cache)  # exported once, kept
    assert load_runtime("onnx", spread, "cpu", cache) is onnx  # loaded once per process
    assert np.abs(onnx.predict(mels, faces).astype(int) - plain).max() <= 1
    assert onnx.predict(mels[:0], faces[:0]).shape == (0, 96, 96, 3)
    int8 = load_runtime("onnx-int8", spread, "cpu", cache)  # calibrated as shipped
    got = differences(int8.predict(mels, faces), plain)
    assert got.p99 <= 2 and got.mean <= 0.5  # as openvino-int8's (tests/lipsync/test_openvino.py)


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
