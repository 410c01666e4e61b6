import numpy as np
import pytest

from heygem.lipsync import engines
from heygem.lipsync.engines import EngineError, FaceRegion
from heygem.lipsync.loudness import LoudnessEngine, mouth_openness
from heygem.media import audio
from heygem.testing import synthetic


def test_openness_is_zero_in_silence_and_grows_with_speech_energy():
    silent = np.full((1, 80, 16), -4.0, np.float32)
    assert mouth_openness(silent)[0] == 0.0
    levels = np.linspace(-4, 2, 13, dtype=np.float32)
    mels = np.broadcast_to(levels[:, None, None], (13, 80, 16)).copy()
    opening = mouth_openness(mels)
    assert np.all(np.diff(opening) >= 0) and opening[-1] == 1.0


def test_openness_follows_the_narration():
    wav = synthetic.speech_like(4.0)
    mel = audio.mel_spectrogram(wav)
    frames = np.arange(100)
    opening = mouth_openness(audio.mel_windows(mel, audio.mel_window_starts(frames, 25, mel.shape[1])))
    rms = np.array([np.sqrt(np.mean(wav[i * 640 : (i + 1) * 640] ** 2)) for i in frames])
    silent = rms < 1e-4
    pauses = silent & np.roll(silent, 1) & np.roll(silent, -1)  # a frame and its neighbours
    assert pauses.sum() > 10 and opening[pauses].max() == 0.0  # closed in the pauses
    assert np.corrcoef(opening, rms)[0, 1] > 0.7


def test_loudness_opens_the_mouth_only_inside_the_face():
    frame = next(synthetic.face_frames(1, (640, 360), face=200, move=False))
    before = frame.copy()
    crop = (260, 110, 380, 250)
    loud = np.full((1, 80, 16), 1.0, np.float32)
    LoudnessEngine().render([frame], [FaceRegion(crop, None)], loud)
    changed = np.any(frame != before, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 200
    assert xs.min() >= crop[0] and xs.max() < crop[2] and ys.min() >= crop[1] and ys.max() < crop[3]
    quiet = before.copy()
    LoudnessEngine().render([quiet], [FaceRegion(crop, None)], np.full((1, 80, 16), -4.0, np.float32))
    np.testing.assert_array_equal(quiet, before)


def test_loudness_leaves_frames_without_a_face():
    frame = np.full((100, 100, 3), 7, np.uint8)
    LoudnessEngine().render([frame], [None], np.ones((1, 80, 16), np.float32))
    assert np.all(frame == 7)


def test_resolve_engine(tmp_path):
    assert engines.resolve_engine("auto", None, tmp_path) == ("loudness", None)
    assert engines.resolve_engine("loudness", None, tmp_path) == ("loudness", None)
    assert engines.resolve_engine("preview", None, tmp_path) == ("loudness", None)  # its name up to 0.2
    with pytest.raises(EngineError, match="needs a checkpoint.*wav2lip_gan.pth"):
        engines.resolve_engine("wav2lip", None, tmp_path)
    (tmp_path / "wav2lip.pth").write_bytes(b"x")
    assert engines.resolve_engine("auto", None, tmp_path) == ("wav2lip", tmp_path / "wav2lip.pth")
    (tmp_path / "wav2lip_gan.pth").write_bytes(b"x")
    assert engines.resolve_engine("auto", None, tmp_path)[1].name == "wav2lip_gan.pth"


def test_auto_looks_for_classic_then_torchscript_files_in_order(tmp_path):
    order = ["wav2lip_gan.pth", "Wav2Lip-SD-GAN.pt", "wav2lip.pth", "Wav2Lip-SD-NOGAN.pt"]
    found = []
    for name in reversed(order):  # each new file is preferred over those before it
        (tmp_path / name).write_bytes(b"x")
        found.append(engines.resolve_engine("auto", None, tmp_path)[1].name)
    assert found == list(reversed(order))
    with pytest.raises(EngineError, match="unknown engine"):
        engines.resolve_engine("sadtalker", None, tmp_path)


def test_wav2lip_engine_changes_only_the_face(random_checkpoint):
    engine = engines.create_engine("wav2lip", random_checkpoint, "cpu", batch_size=4)
    frames = list(synthetic.face_frames(3, (320, 180), face=120, move=False))
    before = [f.copy() for f in frames]
    crop = (120, 40, 200, 140)
    mels = np.zeros((3, 80, 16), np.float32)
    engine.render(frames, [FaceRegion(crop, None), None, FaceRegion(crop, None)], mels)
    assert not np.array_equal(frames[0], before[0])
    np.testing.assert_array_equal(frames[1], before[1])
    outside = np.ones((180, 320), bool)
    outside[crop[1] : crop[3], crop[0] : crop[2]] = False
    np.testing.assert_array_equal(frames[2][outside], before[2][outside])


def test_bad_checkpoint_is_an_engine_error(tmp_path):
    bad = tmp_path / "wav2lip.pth"
    bad.write_text("not a checkpoint")
    with pytest.raises(EngineError, match="wav2lip.pth"):
        engines.create_engine("wav2lip", bad, "cpu", None)


def test_gpu_out_of_memory_halves_the_batch(random_checkpoint):
    """CUDA OOM injected for batches over 2 frames: the engine splits, remembers, and the
    frames come out exactly as from the plain runner."""
    import torch

    engine = engines.create_engine("wav2lip", random_checkpoint, "cpu", batch_size=8, runtime="torch")
    plain = engine.runtime

    class TightGpu:
        calls: list[int] = []

        def predict(self, mels, faces):
            TightGpu.calls.append(len(faces))
            if len(faces) > 2:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return plain.predict(mels, faces)

    frames = list(synthetic.face_frames(8, (320, 180), face=120, move=False))
    expected = [f.copy() for f in frames]
    crop = (120, 40, 200, 140)
    faces = [FaceRegion(crop, None)] * 8
    mels = np.random.default_rng(0).uniform(-4, 4, (8, 80, 16)).astype(np.float32)
    engine.render(expected, faces, mels)
    engine.runtime = TightGpu()
    engine.render(frames, faces, mels)
    assert engine.batch_size == 2
    assert TightGpu.calls[0] == 8 and max(TightGpu.calls[-4:]) <= 2
    for got, want in zip(frames, expected, strict=True):
        assert np.abs(got.astype(int) - want).max() <= 1

    class NoGpuAtAll:
        def predict(self, mels, faces):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    engine.runtime = NoGpuAtAll()
    with pytest.raises(EngineError, match="out of GPU memory even for a single frame"):
        engine.render(frames[:2], faces[:2], mels[:2])


def test_pasting_in_the_pool_gives_the_frames_of_one_thread(random_checkpoint):
    """Crop and paste run in a pool of one thread per usable core; one core runs them inline."""
    import os

    engine = engines.create_engine("wav2lip", random_checkpoint, "cpu", batch_size=8, runtime="torch")
    source = list(synthetic.face_frames(8, (320, 180), face=120))
    regions = [
        FaceRegion((110 + k, 30 + k, 210 + k, 150 + k), (140.0, 110.0, 180.0, 130.0)) for k in range(8)
    ]
    mels = synthetic_mels(8)
    pooled = [f.copy() for f in source]
    engine.render(pooled, regions, mels)
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        inline = [f.copy() for f in source]
        engines.create_engine("wav2lip", random_checkpoint, "cpu", batch_size=8, runtime="torch").render(
            inline, regions, mels
        )
    finally:
        os.sched_setaffinity(0, allowed)
    for a, b, before in zip(pooled, inline, source, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, before)


def synthetic_mels(n: int) -> np.ndarray:
    """(n, 80, 16) float32 mel windows of speech-like audio."""
    mel = audio.mel_spectrogram(synthetic.speech_like(1.0, seed=9))
    return audio.mel_windows(mel, audio.mel_window_starts(np.arange(n), 25.0, mel.shape[1]))
