"""Audio: decode anything ffmpeg reads, the Wav2Lip mel spectrogram, and the mel window rule.

All frame<->audio index arithmetic lives in :func:`mel_window_starts`.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import av
import librosa
import numpy as np
from scipy import signal

from heygem.errors import MediaError
from heygem.media.ffmpeg import AUDIO_TIMELINE, command
from heygem.settings import AUDIO_EXTENSIONS

log = logging.getLogger("heygem")

# Constants of the published Wav2Lip audio front end (hparams.py of the original).
SAMPLE_RATE = 16000  # Hz, what the model was trained on
N_FFT = 800  # samples (50 ms)
HOP_LENGTH = 200  # samples (12.5 ms)
WIN_LENGTH = 800  # samples
N_MELS = 80  # mel bands
FMIN = 55  # Hz
FMAX = 7600  # Hz
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20  # dB subtracted after amplitude -> dB
MIN_LEVEL_DB = -100  # dB floor of the normalisation
MAX_ABS_VALUE = 4.0  # symmetric normalisation range is [-4, 4]

MEL_FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH  # 80.0
MEL_WINDOW = 16  # mel frames fed to the model per video frame (0.2 s)


def load_audio(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None
) -> np.ndarray:
    """Decode the first audio stream of any file ffmpeg reads, on the file's own timeline
    (:data:`heygem.media.ffmpeg.AUDIO_TIMELINE`: a stream that starts late begins with silence).

    Returns (n_samples,) float32 mono in [-1, 1] at ``sample_rate`` Hz, at most ``max_seconds``
    of it when given (ffmpeg stops decoding there). Raises :class:`MediaError` naming the file
    when it has no decodable audio.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "file not found")
    output = {"map": "0:a:0", "vn": None, "af": AUDIO_TIMELINE, "ac": 1, "ar": sample_rate, "f": "f32le"}
    if max_seconds is not None:
        output["t"] = f"{max_seconds:.6f}"
    cmd = command([({}, path)], output, "-")
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise MediaError(path, _ffmpeg_reason(proc.stderr, "no readable audio stream"))
    samples = np.frombuffer(proc.stdout, dtype=np.float32).copy()
    if samples.size == 0:
        raise MediaError(path, "the audio is empty (zero length)")
    log.debug("loaded audio %s: %.2f s", path.name, samples.size / sample_rate)
    return samples


def check_audio(path: Path, name: str) -> float | None:
    """Raise MediaError (naming ``name``) unless the file has a decodable audio stream.
    Returns its duration in seconds as the container states it, without decoding it all
    (an estimate for some formats; None when the container does not say)."""
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise MediaError(name, f"unsupported audio type '{path.suffix or '(none)'}'")
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaError(name, "the file is empty (0 bytes)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(name, "no audio stream in the file")
            stream = container.streams.audio[0]
            next(container.decode(audio=0))
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            return container.duration / av.time_base if container.duration else None
    except (av.FFmpegError, StopIteration) as exc:
        raise MediaError(name, f"not readable audio ({type(exc).__name__})") from None


def _ffmpeg_reason(stderr: bytes, default: str) -> str:
    """The last meaningful line ffmpeg printed, for a one-line error message."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return default
    last = lines[-1]
    if "matches no streams" in last or "Stream map" in last:
        return default
    return f"{default}: {last[:200]}"


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """The Wav2Lip mel spectrogram of 16 kHz mono audio.

    wav: (n_samples,) float32 at :data:`SAMPLE_RATE`.
    Returns (N_MELS, T) float32 in [-MAX_ABS_VALUE, MAX_ABS_VALUE], T = 1 + n_samples // HOP_LENGTH,
    i.e. :data:`MEL_FRAMES_PER_SECOND` frames per second.
    """
    emphasised = signal.lfilter([1.0, -PREEMPHASIS], [1.0], wav)
    spectrum = librosa.stft(y=emphasised, n_fft=N_FFT, hop_length=HOP_LENGTH, win_length=WIN_LENGTH)
    mel_basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX)
    mel = mel_basis @ np.abs(spectrum)
    floor = 10 ** (MIN_LEVEL_DB / 20)
    db = 20 * np.log10(np.maximum(floor, mel)) - REF_LEVEL_DB
    scaled = 2 * MAX_ABS_VALUE * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS_VALUE
    return np.clip(scaled, -MAX_ABS_VALUE, MAX_ABS_VALUE).astype(np.float32)


def frame_count_for(audio_seconds: float, fps: float) -> int:
    """Number of output video frames that cover ``audio_seconds`` at ``fps`` (at least 1)."""
    return max(1, round(audio_seconds * fps))


def mel_window_starts(frames: np.ndarray, fps: float, n_mel_frames: int, sync_offset: int = 0) -> np.ndarray:
    """The one place that pairs video frames with audio.

    Output frame i (shown at time i / fps) gets the mel window that starts at mel frame
    ``int((i + sync_offset) * 80 / fps)`` and spans :data:`MEL_WINDOW` (16) mel frames, as in
    the original Wav2Lip inference. :class:`Narration`'s mel has 0.2 s of silence after the
    audio, so the last frames' windows run into silence; a window that would still run past
    the end is right-aligned to it (start = n_mel_frames - 16, what the original does for the
    last 4-5 frames of its unpadded mel); negative starts clamp to 0.

    frames: (B,) int output frame indices. sync_offset: in video frames; 0 reproduces the
    original inference; Wav2Lip's training code pairs a frame with the window that starts one
    frame earlier, i.e. ``sync_offset=-1``.
    Returns (B,) int64 mel frame indices.
    """
    if n_mel_frames < MEL_WINDOW:
        raise ValueError(f"audio too short: {n_mel_frames} mel frames, need {MEL_WINDOW}")
    shifted = np.asarray(frames, dtype=np.float64) + sync_offset
    starts = np.floor(shifted * MEL_FRAMES_PER_SECOND / fps).astype(np.int64)
    return np.clip(starts, 0, n_mel_frames - MEL_WINDOW)


def mel_windows(mel: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Gather windows: mel (N_MELS, T) float32, starts (B,) int -> (B, N_MELS, MEL_WINDOW) float32."""
    offsets = starts[:, None] + np.arange(MEL_WINDOW)[None, :]
    return np.ascontiguousarray(mel[:, offsets].transpose(1, 0, 2))


def with_silent_tail(wav: np.ndarray) -> np.ndarray:
    """(n,) float32 -> the audio followed by one mel window (0.2 s) of silence.

    The original Wav2Lip clamps the windows of its last 4-5 frames to the mel's end, so they
    all get the same window and the mouth freezes on the last syllable; with the silence each
    frame gets its own window and the mouth closes as the speech does. It also gives audio
    shorter than a window a full one."""
    return np.concatenate([wav, np.zeros(MEL_WINDOW * HOP_LENGTH, wav.dtype)])


class Narration:
    """One audio decoded and turned into a mel once, shared by every video of a batch.

    samples: (n,) float32 at 16 kHz; mel: (80, T) float32; seconds: the duration of the
    output. ``max_seconds`` (a preview): only the start is used, and decoded (with the
    0.2 s the last frame's window reaches past it).
    """

    def __init__(self, path: str | Path, max_seconds: float | None = None):
        self.path = Path(path)
        reach = None if max_seconds is None else max_seconds + MEL_WINDOW / MEL_FRAMES_PER_SECOND
        self.samples = load_audio(self.path, max_seconds=reach)
        self.seconds = self.samples.size / SAMPLE_RATE
        if max_seconds is not None:
            self.seconds = min(self.seconds, max_seconds)
        self.mel = mel_spectrogram(with_silent_tail(self.samples))
        log.info("narration %s: %.2f s, mel %d frames", self.path.name, self.seconds, self.mel.shape[1])

    def windows_for(self, frames: np.ndarray, fps: float, sync_offset: int = 0) -> np.ndarray:
        """Mel windows for output frames: frames (B,) int -> (B, 80, 16) float32."""
        starts = mel_window_starts(frames, fps, self.mel.shape[1], sync_offset)
        return mel_windows(self.mel, starts)
