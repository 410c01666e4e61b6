import subprocess

import numpy as np
import pytest

from heygem.errors import MediaError
from heygem.media import audio
from heygem.media.ffmpeg import ffmpeg_exe
from heygem.media.narration import Narration
from heygem.testing import synthetic
from heygem.testing.reference import original_mel
from heygem.testing.signals import lag_ms

SR = audio.SAMPLE_RATE


def tone(freq: float, seconds: float, amplitude: float = 0.5, rate: int = SR) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mel_shape_range_and_silence():
    mel = audio.mel_spectrogram(tone(440, 1.0))
    assert mel.shape == (80, 1 + SR // audio.HOP_LENGTH)
    assert mel.dtype == np.float32
    assert mel.min() >= -4 and mel.max() <= 4
    silent = audio.mel_spectrogram(np.zeros(SR, np.float32))
    assert np.all(silent == -4.0)


def test_the_mel_is_the_originals_librosa_front_end():
    """Ours is numpy alone; the original's is scipy and librosa (heygem.testing.reference)."""
    import librosa

    basis = librosa.filters.mel(
        sr=SR, n_fft=audio.N_FFT, n_mels=audio.N_MELS, fmin=audio.FMIN, fmax=audio.FMAX
    )
    np.testing.assert_allclose(audio.mel_filters(), basis, rtol=1e-5, atol=1e-9)
    for wav in (synthetic.speech_like(4.0, seed=3), tone(440, 0.73), np.zeros(audio.N_FFT - 1, np.float32)):
        ours, expected = audio.mel_spectrogram(wav), original_mel(wav)
        assert ours.shape == expected.shape
        np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_mel_tone_lands_in_its_band_and_db_scale_is_right():
    import librosa

    centres = librosa.mel_frequencies(n_mels=82, fmin=audio.FMIN, fmax=audio.FMAX)[1:-1]
    for freq in (300.0, 1000.0, 3000.0):
        mel = audio.mel_spectrogram(tone(freq, 1.0, 0.1))
        peak_band = int(mel[:, 20:-20].mean(axis=1).argmax())
        assert abs(centres[peak_band] - freq) / freq < 0.08
    # Doubling the amplitude adds 6.02 dB; the normalisation maps 100 dB onto 8 units.
    quiet = audio.mel_spectrogram(tone(1000, 1.0, 0.05))[:, 20:-20].max()
    loud = audio.mel_spectrogram(tone(1000, 1.0, 0.10))[:, 20:-20].max()
    assert loud - quiet == pytest.approx(20 * np.log10(2) * 8 / 100, abs=0.01)


@pytest.mark.parametrize(
    "fps, expected",
    [
        (25.0, [0, 3, 6, 9, 12, 16]),
        (30.0, [0, 2, 5, 8, 10, 13]),
        (30000 / 1001, [0, 2, 5, 8, 10, 13]),
    ],
)
def test_window_rule(fps, expected):
    starts = audio.mel_window_starts(np.arange(6), fps, n_mel_frames=1000)
    assert starts.tolist() == expected
    assert starts.tolist() == [int(i * 80 / fps) for i in range(6)]


def test_window_rule_at_2997_far_into_the_audio():
    fps = 30000 / 1001
    starts = audio.mel_window_starts(np.array([1000, 9999]), fps, n_mel_frames=10**6)
    assert starts.tolist() == [i * 80 * 1001 // 30000 for i in (1000, 9999)] == [2669, 26690]


def test_last_windows_are_right_aligned_and_offset_clamps():
    starts = audio.mel_window_starts(np.arange(20), 25.0, n_mel_frames=50)
    assert starts.max() == 50 - audio.MEL_WINDOW
    assert starts[-1] == 34 and starts[10] == 32
    early = audio.mel_window_starts(np.arange(3), 25.0, 1000, sync_offset=-1)
    assert early.tolist() == [0, 0, 3]


def test_mel_windows_gather():
    mel = np.arange(80 * 40, dtype=np.float32).reshape(80, 40)
    windows = audio.mel_windows(mel, np.array([0, 5]))
    assert windows.shape == (2, 80, 16)
    np.testing.assert_array_equal(windows[1], mel[:, 5:21])


def encode(src, dst, *args):
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), *args, str(dst)]
    subprocess.run(cmd, check=True)
    return dst


@pytest.mark.parametrize("ext", ["mp3", "m4a", "flac", "ogg", "wav"])
def test_load_audio_formats(tmp_path, ext):
    stereo = np.stack([tone(440, 1.5, rate=44100), tone(660, 1.5, rate=44100)], axis=1)
    src = synthetic.write_wav(tmp_path / "src.wav", stereo, 44100)
    path = encode(src, tmp_path / f"narration.{ext}")
    samples = audio.load_audio(path)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(samples.size / SR - 1.5) < 0.06  # codecs pad a few ms
    assert 0.2 < np.abs(samples).max() <= 1.0


def test_load_audio_from_a_video_track(tmp_path, face_clip, speech):
    path = tmp_path / "with audio.mp4"
    cmd = [
        ffmpeg_exe(),
        "-v",
        "error",
        "-i",
        str(face_clip),
        "-i",
        str(speech),
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-shortest",
        str(path),
    ]
    subprocess.run(cmd, check=True)
    assert abs(audio.load_audio(path).size / SR - 2.0) < 0.1


def test_bad_audio_is_named_with_its_reason(tmp_path, face_clip):
    text = tmp_path / "notes.mp3"
    text.write_text("<html>not audio</html>")
    with pytest.raises(MediaError, match="notes.mp3"):
        audio.load_audio(text)
    with pytest.raises(MediaError, match="face clip.mp4: no readable audio"):
        audio.load_audio(face_clip)
    empty = synthetic.write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(MediaError, match="empty.wav: the audio is empty"):
        audio.load_audio(empty)
    with pytest.raises(MediaError, match="missing.wav: file not found"):
        audio.load_audio(tmp_path / "missing.wav")


def test_narration_pads_very_short_audio(tmp_path):
    path = synthetic.write_wav(tmp_path / "blip.wav", tone(300, 0.05))
    narration = Narration(path)
    assert narration.mel_frames >= audio.MEL_WINDOW
    windows = narration.windows_for(np.arange(2), 25.0)
    assert windows.shape == (2, 80, 16)


def test_the_last_frames_get_windows_of_their_own_that_run_into_silence(tmp_path):
    """The original clamps its last 4-5 windows to the mel's end (one window, a frozen mouth);
    the narration's mel ends in 0.2 s of silence, so every frame has its own window."""
    path = synthetic.write_wav(tmp_path / "two seconds.wav", tone(300, 2.0))
    narration = Narration(path)
    frames = np.arange(audio.frame_count_for(narration.seconds, 25.0))
    starts = audio.mel_window_starts(frames, 25.0, narration.mel_frames)
    assert (np.diff(starts) > 0).all()  # no two frames share a window
    last = narration.windows_for(frames[-1:], 25.0)[0]
    assert last[:, :2].max() > 0  # the frame's own audio: the tone
    assert (last[:, -8:] <= -3.9).all()  # then silence


def test_a_stream_that_starts_late_is_read_on_its_file_timeline(tmp_path):
    source = synthetic.speech_wav(tmp_path / "speech.wav", 2.0, seed=5)
    late = synthetic.late_narration(tmp_path / "late.mp4", source)
    samples = audio.load_audio(late)
    assert abs(lag_ms(samples, audio.load_audio(source)) - 300) <= 70  # 300 ms, less AAC priming
    assert np.abs(samples[: int(0.2 * SR)]).max() < 1e-3  # silence where the stream has not begun


def test_a_narration_may_be_any_audio_or_a_videos_soundtrack(tmp_path, face_clip, speech):
    """OBS's .mkv, a phone's .m4v, an .aiff, or an upload without an extension whose contents
    decode: each is a narration (it was refused by its extension); a slide deck is refused by
    its type."""

    def with_soundtrack(name: str):  # the presenter's picture with the speech as its sound
        sound = ["-i", str(speech), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest"]
        return encode(face_clip, tmp_path / name, *sound)

    bare = tmp_path / "narration"
    bare.write_bytes(speech.read_bytes())
    files = {
        "OBS take.mkv": with_soundtrack("OBS take.mkv"),
        "phone.m4v": with_soundtrack("phone.m4v"),
        "voice.aiff": encode(speech, tmp_path / "voice.aiff"),
        "narration": bare,
    }
    for name, path in files.items():
        assert audio.check_audio(path, name) > 1.5, name  # its duration, as the container says
    deck = tmp_path / "deck.pptx"
    deck.write_bytes(b"PK\x03\x04 not audio")
    with pytest.raises(MediaError, match="deck.pptx: unsupported audio type '.pptx'"):
        audio.check_audio(deck, "deck.pptx")
