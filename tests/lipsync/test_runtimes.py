"""Runtimes: ONNX fp32 and int8 against torch, on the model and end to end."""

from __future__ import annotations

import numpy as np

from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
from heygem.media import video
from heygem.media.encode import EncodeOptions
from heygem.media.narration import Narration

LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")


def held_out_batch(size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(mels (size, 80, 16) float32, faces (size, 96, 96, 3) uint8 BGR) that int8 was not
    calibrated on: the astronaut's face at offsets and scales outside the calibration's sway,
    with the mel windows of other speech-like audio (another seed)."""
    import cv2

    from heygem.lipsync.calibration import FACE_CROP, FPS, HEAD_SIZE, astronaut_bgr, speech_like
    from heygem.media import audio

    head = astronaut_bgr(HEAD_SIZE)
    x1, y1, x2, y2 = FACE_CROP
    faces = []
    for i in range(size):
        grow = 4 + 3 * (i % 4)  # px added round the crop: 4-13, the calibration adds none
        dx, dy = (-8, -4, 6, 0)[i % 4], (3, -6, 0, 8)[i // 4 % 4]
        crop = head[y1 - grow + dy : y2 + grow + dy, x1 - grow + dx : x2 + grow + dx]
        faces.append(cv2.resize(crop, (96, 96), interpolation=cv2.INTER_AREA))
    mel = audio.mel_spectrogram(speech_like(size / FPS + 0.5, seed=11))
    mels = audio.mel_windows(mel, audio.mel_window_starts(np.arange(size), FPS, mel.shape[1]))
    return mels, np.stack(faces)


def test_onnx_runtimes_stay_within_tolerance(tmp_path):
    from heygem.lipsync.calibration import calibration_batches
    from heygem.lipsync.runtimes import clear_runtime_cache, load_runtime
    from heygem.testing.models import random_checkpoint

    clear_runtime_cache()
    spread = random_checkpoint(tmp_path / "spread.pth", seed=1, output_gain=30)
    mels, faces = held_out_batch()
    calibrated = calibration_batches(4)  # what onnx-int8 is calibrated on (CALIBRATION_BATCHES)
    assert not any((faces[:, None] == f[None]).all(axis=(2, 3, 4)).any() for _, f in calibrated)
    plain = load_runtime("torch", spread, "cpu").predict(mels, faces).astype(int)
    assert plain.std() > 40 and plain.min() < 30 and plain.max() > 225  # faces span the pixel range
    onnx = load_runtime("onnx", spread, "cpu", tmp_path / "cache")  # exported once, kept
    assert load_runtime("onnx", spread, "cpu", tmp_path / "cache") is onnx  # loaded once per process
    assert np.abs(onnx.predict(mels, faces).astype(int) - plain).max() <= 1
    assert onnx.predict(mels[:0], faces[:0]).shape == (0, 96, 96, 3)
    int8 = load_runtime("onnx-int8", spread, "cpu", tmp_path / "cache")  # calibrated as shipped
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
