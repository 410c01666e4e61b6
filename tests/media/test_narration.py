"""A narration streamed into a mel made block by block: the same mel as the whole signal's."""

from __future__ import annotations

import numpy as np
import pytest

from heygem.errors import MediaError
from heygem.media import audio
from heygem.media.narration import MelBlocks, Narration
from heygem.testing import synthetic

MEL_TOLERANCE = 1e-4  # of the [-4, 4] mel range: float32 rounding, far below one mel step


def blocked(samples: np.ndarray, sizes: list[int]) -> np.ndarray:
    """(80, T) mel of ``samples`` fed in blocks of the given sizes (cycled), then finished."""
    blocks, frames, at, k = MelBlocks(), [], 0, 0
    while at < samples.size:
        frames.append(blocks.feed(samples[at : at + sizes[k % len(sizes)]]))
        at += sizes[k % len(sizes)]
        k += 1
    frames.append(blocks.finish())
    return np.concatenate(frames).T


@pytest.mark.parametrize("sizes", [[1, 199, 200, 201, 799, 801, 4000], [16000], [3]])
def test_blocks_of_any_size_give_the_whole_signal_mel(sizes):
    samples = synthetic.speech_like(1.3, seed=3)[:20_777]  # not a whole number of hops
    whole = audio.mel_spectrogram(samples)
    got = blocked(samples, sizes)
    assert got.shape == whole.shape == (80, 1 + samples.size // audio.HOP_LENGTH)
    np.testing.assert_allclose(got, whole, atol=MEL_TOLERANCE, rtol=0)


def test_a_ten_minute_narration_has_the_whole_signal_mel(tmp_path):
    path = synthetic.speech_wav(tmp_path / "lecture.wav", 600.0, seed=4)
    narration = Narration(path)
    samples = audio.load_audio(path)
    whole = audio.mel_spectrogram(audio.with_silent_tail(samples))
    assert narration.n_samples == samples.size and narration.seconds == pytest.approx(600.0, abs=0.01)
    assert narration.mel_frames == whole.shape[1]
    np.testing.assert_allclose(narration.whole_mel(), whole, atol=MEL_TOLERANCE, rtol=0)
    frames = np.array([0, 1, 7, 4_000, 14_999, 15_000])  # 25 fps: the first, middle and last
    np.testing.assert_array_equal(
        narration.windows_for(frames, 25.0, sync_offset=-1),
        audio.mel_windows(narration.whole_mel(), audio.mel_window_starts(frames, 25.0, whole.shape[1], -1)),
    )
    assert narration.windows_for(frames[:0], 25.0).shape == (0, 80, 16)
    narration.close()


def test_a_preview_decodes_only_its_start(tmp_path):
    path = synthetic.speech_wav(tmp_path / "speech.wav", 30.0, seed=2)
    narration = Narration(path, max_seconds=2.0)
    assert narration.seconds == 2.0
    assert narration.n_samples == round(2.2 * audio.SAMPLE_RATE)  # with its last window's 0.2 s
    start = audio.mel_spectrogram(audio.with_silent_tail(audio.load_audio(path, max_seconds=2.2)))
    np.testing.assert_allclose(narration.whole_mel(), start, atol=MEL_TOLERANCE, rtol=0)


def test_bad_narrations_are_named_with_their_reason(tmp_path, face_clip):
    with pytest.raises(MediaError, match="face clip.mp4: no readable audio"):
        Narration(face_clip)
    empty = synthetic.write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(MediaError, match="empty.wav: the audio is empty"):
        Narration(empty)
    with pytest.raises(MediaError, match="missing.wav: file not found"):
        Narration(tmp_path / "missing.wav")
