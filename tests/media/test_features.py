"""The audio-feature seam: the whisper window rule, and a narration making any kind of
feature once, block by block, read back window by window (zeros outside the audio)."""

import math

import numpy as np
import pytest

from heygem.media import audio
from heygem.media.features import FeatureStore
from heygem.media.narration import WAV2LIP_MEL, Narration
from heygem.testing import synthetic


@pytest.mark.parametrize(
    "fps, expected",
    [
        (25.0, [-4, -2, 0, 2, 4, 6]),  # 2 rows a frame
        (30.0, [-4, -3, -1, 1, 2, 4]),
        (30000 / 1001, [-4, -3, -1, 1, 2, 4]),
    ],
)
def test_whisper_window_rule(fps, expected):
    rows = audio.whisper_window_rows(np.arange(6), fps)
    assert rows.shape == (6, 10) and rows.dtype == np.int64
    assert rows[:, 0].tolist() == expected
    assert (np.diff(rows, axis=1) == 1).all()  # 10 consecutive rows
    # upstream at 25 fps: zero-pad floor(50 / 25) * 2 = 4 rows in front, the window at
    # floor(i * 50 / 25) of the padded rows
    if fps == 25.0:
        assert rows[:, 0].tolist() == [math.floor(i * 50 / 25) - 4 for i in range(6)]
    # at 30 fps the same time (80 ms before the frame), where upstream pads only 2 rows
    assert (rows[:, 4] / 50 <= np.arange(6) / fps).all() and (
        np.arange(6) / fps - rows[:, 4] / 50 < 0.02
    ).all()


def test_whisper_window_rule_far_into_the_audio_and_shifted():
    fps = 30000 / 1001
    rows = audio.whisper_window_rows(np.array([9999]), fps, sync_offset=-1)
    # frame 9998 at 29.97 fps is at 333.59993 s: row 16679 (floor), the window 4 rows before it
    assert rows[0, 0] == 16679 - 4
    late = audio.whisper_window_rows(np.array([107_892]), 30000 / 1001)  # one hour in
    assert abs((late[0, 4] / 50) - 107_892 * 1001 / 30000) < 0.02  # within one row of the frame's time


def test_store_gathers_rows_and_zeros_outside():
    store = FeatureStore((2, 3))
    rows = np.arange(5 * 6, dtype=np.float32).reshape(5, 2, 3)
    store.append(rows[:2])
    store.append(rows[2:])
    store.done()
    got = store.gather(np.array([[-1, 0, 1], [3, 4, 5]]))
    assert got.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(got[0, 1:], rows[:2])
    np.testing.assert_array_equal(got[1, :2], rows[3:])
    assert not got[0, 0].any() and not got[1, 2].any()
    assert store.gather(np.array([[7, 8]])).shape == (1, 2, 2, 3)
    with pytest.raises(ValueError, match="do not match"):
        store.append(np.zeros((1, 3, 2), np.float32))
    store.close()


class Loudness:
    """A kind of feature of our own, through the same seam: the RMS of each 20 ms (320
    samples) of the signal, one value a row, windows of 3 rows centred on the frame."""

    key = "rms-20ms"
    row_shape = (1,)

    def __init__(self):
        self.streams = 0

    def stream(self):
        self.streams += 1
        owner = self

        class Stream:
            pending = np.zeros(0, np.float32)

            def feed(self, block):
                self.pending = np.concatenate([self.pending, block])
                whole = len(self.pending) // 320 * 320
                done, self.pending = self.pending[:whole], self.pending[whole:]
                return owner.rms(done)

            def finish(self):
                return owner.rms(np.pad(self.pending, (0, (-len(self.pending)) % 320)))

        return Stream()

    @staticmethod
    def rms(samples):
        return np.sqrt((samples.reshape(-1, 320) ** 2).mean(axis=1))[:, None].astype(np.float32)

    def window_rows(self, frames, fps, n_rows, sync_offset):
        return np.floor((frames + sync_offset) * 50 / fps).astype(np.int64)[:, None] + np.arange(-1, 2)

    def arrange(self, windows):
        return windows[..., 0]


def test_a_narration_makes_each_kind_once_and_reads_windows(tmp_path):
    path = synthetic.speech_wav(tmp_path / "voice.wav", 21.3, seed=2)  # blocks of 10 s, then 1.3 s
    narration = Narration(path)
    kind = Loudness()
    narration.prepare(kind)
    narration.prepare(kind)
    frames = np.array([0, 1, 250, 532])
    got = narration.windows_for(frames, 25.0, 0, kind)
    assert kind.streams == 1 and got.shape == (4, 3)
    samples = audio.load_audio(path)
    whole = Loudness.rms(np.pad(samples, (0, (-len(samples)) % 320)))[:, 0]
    expected = np.zeros((4, 3), np.float32)
    for k, start in enumerate(frames * 2 - 1):
        for j in range(3):
            if 0 <= start + j < len(whole):
                expected[k, j] = whole[start + j]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert got[0, 0] == 0  # before the audio: zeros
    # the mel is still there, unchanged, as the default kind
    assert narration.windows_for(frames, 25.0).shape == (4, 80, 16)
    np.testing.assert_array_equal(
        narration.windows_for(frames, 25.0), narration.windows_for(frames, 25.0, 0, WAV2LIP_MEL)
    )
    narration.close()
