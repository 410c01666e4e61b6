"""Audio: decode anything ffmpeg reads, the Wav2Lip mel spectrogram, and the window rules.

All frame<->audio index arithmetic lives in two functions, one per kind of audio feature:
:func:`mel_window_starts` (Wav2Lip's mel) and :func:`whisper_window_rows` (the whisper-tiny
features of the musetalk engine). A narration as the pipeline uses it (streamed, its
features on disk) is :class:`heygem.media.narration.Narration`.
"""

from __future__ import annotations

import functools
import logging
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from heygem.errors import MediaError
from heygem.media.ffmpeg import AUDIO_TIMELINE, command
from heygem.settings import NARRATION_EXTENSIONS

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
# The whisper-tiny encoder features MuseTalk 1.5 is conditioned on (its audio_processor.py).
WHISPER_ROWS_PER_SECOND = 50  # encoder output rows per second of audio (one per 20 ms)
WHISPER_WINDOW = 10  # rows fed to the model per video frame (0.2 s)
WHISPER_LEAD = 4  # of which before the frame's own time (80 ms: 2 padding frames of 2 rows)
BLOCK_SECONDS = 10.0  # audio decoded (and, by a Narration, turned into mel frames) at a time


def load_audio(path: str | Path, max_seconds: float | None = None) -> np.ndarray:
    """The whole of :func:`stream_audio` as one (n_samples,) float32 array at 16 kHz."""
    return np.concatenate(list(stream_audio(Path(path), max_seconds)))


def stream_audio(path: Path, max_seconds: float | None = None) -> Iterator[np.ndarray]:
    """Decode the first audio stream of any file ffmpeg reads, on the file's own timeline
    (:data:`heygem.media.ffmpeg.AUDIO_TIMELINE`: a stream that starts late begins with silence),
    at most ``max_seconds`` of it when given (ffmpeg stops decoding there).

    Yields (n,) float32 mono blocks in [-1, 1] at :data:`SAMPLE_RATE` Hz, of
    :data:`BLOCK_SECONDS` but the last. Raises :class:`MediaError` naming the file when it has
    no decodable audio or none at all."""
    if not path.is_file():
        raise MediaError(path, "file not found")
    output = {"map": "0:a:0", "vn": None, "af": AUDIO_TIMELINE, "ac": 1, "ar": SAMPLE_RATE}
    output["f"] = "f32le"
    if max_seconds is not None:
        output["t"] = f"{max_seconds:.6f}"
    block_bytes = int(BLOCK_SECONDS * SAMPLE_RATE) * 4
    got = 0
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command([({}, path)], output, "-"), stdout=subprocess.PIPE, stderr=errors)
        try:
            while data := proc.stdout.read(block_bytes):  # a full block, or the rest at the end
                got += len(data) // 4
                yield np.frombuffer(data, np.float32, len(data) // 4)
        except GeneratorExit:  # the reader stopped early
            proc.kill()
            raise
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise MediaError(path, ffmpeg_reason(errors.read(), "no readable audio stream"))
    if got == 0:
        raise MediaError(path, "the audio is empty (zero length)")


def check_audio(path: Path, name: str) -> float | None:
    """Raise MediaError (naming ``name``) unless the file has a decodable audio stream: any
    audio file, a video's soundtrack (:data:`~heygem.settings.NARRATION_EXTENSIONS`), or a
    file without an extension that decodes. Returns its duration in seconds as the container
    states it, without decoding it all (an estimate for some formats; None when the container
    does not say)."""
    suffix = path.suffix.lower()
    if suffix and suffix not in NARRATION_EXTENSIONS:
        raise MediaError(name, f"unsupported audio type '{suffix}'")
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


def ffmpeg_reason(stderr: bytes, default: str) -> str:
    """The last meaningful line ffmpeg printed, for a one-line error message."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return default
    last = lines[-1]
    if "matches no streams" in last or "Stream map" in last:
        return default
    return f"{default}: {last[:200]}"


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """The Wav2Lip mel spectrogram of 16 kHz mono audio, as the original computes it on the
    whole signal (:class:`heygem.media.narration.MelBlocks` gives the same block by block).

    wav: (n_samples,) float32 at :data:`SAMPLE_RATE`. Returns (N_MELS, T) float32 in
    [-MAX_ABS_VALUE, MAX_ABS_VALUE] with T = 1 + n_samples // HOP_LENGTH,
    i.e. :data:`MEL_FRAMES_PER_SECOND` frames per second.
    """
    emphasised = np.array(wav, np.float64)
    emphasised[1:] -= PREEMPHASIS * emphasised[:-1]  # y[n] = x[n] - 0.97 x[n-1], as lfilter
    padding = np.zeros(N_FFT // 2)
    return mel_of_frames(np.concatenate([padding, emphasised, padding]))


def mel_of_frames(padded: np.ndarray) -> np.ndarray:
    """The mel frames of already pre-emphasised and padded samples: padded (n,) float64 ->
    (N_MELS, 1 + (n - N_FFT) // HOP_LENGTH) float32, frame t from samples
    [t * HOP_LENGTH, t * HOP_LENGTH + N_FFT).

    The original's front end is librosa's ``stft`` (a periodic Hann window, ``center=True``
    with zero padding, which :func:`mel_spectrogram` does by hand) and ``filters.mel``; this
    is the same arithmetic in numpy (tests/media/test_audio.py holds it to librosa), without
    the ~3 s of CPU that importing librosa and scipy.signal costs every process that loads a
    model."""
    n_frames = max(0, 1 + (padded.size - N_FFT) // HOP_LENGTH)
    if n_frames == 0:
        return np.empty((N_MELS, 0), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:n_frames]
    mel = np.empty((N_MELS, n_frames), np.float32)
    for start in range(0, n_frames, _FRAMES_AT_ONCE):  # a whole long narration: bounded memory
        block = frames[start : start + _FRAMES_AT_ONCE]
        magnitude = np.abs(np.fft.rfft(block * _hann_window(), axis=1))  # (t, 1 + N_FFT // 2)
        mel[:, start : start + len(block)] = _normalised_mel(magnitude.T)
    return mel


def warm_up_mel() -> None:
    """Compute one tiny mel, so that the filter bank is made when the process loads its
    models, not by its first narration."""
    mel_spectrogram(np.zeros(N_FFT, np.float32))


_FRAMES_AT_ONCE = 2048  # 25.6 s of audio, ~13 MB of float64 frames


@functools.cache
def _hann_window() -> np.ndarray:
    """The periodic Hann window of N_FFT samples (librosa's and scipy's ``hann`` for an FFT)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, ``htk=False``): linear to 1 kHz, logarithmic above."""
    hz = np.asarray(hz, np.float64)
    linear = hz / (200.0 / 3)
    logarithmic = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    linear = mel * (200.0 / 3)
    logarithmic = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, logarithmic, linear)


@functools.cache
def mel_filters() -> np.ndarray:
    """(N_MELS, 1 + N_FFT // 2) float32: the original's mel filter bank (librosa's
    ``filters.mel`` with Slaney's scale and area normalisation), triangles between
    :data:`FMIN` and :data:`FMAX`."""
    bins = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # each triangle's area the same
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


def _normalised_mel(magnitude: np.ndarray) -> np.ndarray:
    """(1 + N_FFT // 2, T) STFT magnitude -> (N_MELS, T) float32 in [-4, 4], Wav2Lip's scaling."""
    mel = mel_filters() @ magnitude
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
    the original Wav2Lip inference. :class:`~heygem.media.narration.Narration`'s mel has 0.2 s of silence after the
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


def whisper_window_rows(frames: np.ndarray, fps: float, sync_offset: int = 0) -> np.ndarray:
    """The musetalk engine's pairing of video frames with whisper feature rows.

    Output frame i (shown at time i / fps) gets the :data:`WHISPER_WINDOW` (10) rows starting
    at ``floor((i + sync_offset) * 50 / fps) - 4``: 80 ms before the frame to 120 ms after its
    start. This is MuseTalk 1.5's inference at 25 fps, the rate it was trained at
    (``get_whisper_chunk`` with its default 2 + 2 padding frames: the features are
    zero-padded by ``floor(50 / int(fps)) * 2`` rows in front, 4 at 25 fps, and the window
    starts at ``floor(i * 50 / int(fps))`` of the padded array). Rows before 0 or past the
    narration's end are silence, zeros, as upstream's zero padding makes them (the reader
    fills them in). Where upstream differs at other rates, on purpose here: its lead shrinks
    to 2 rows (40 ms) from 26 to 50 fps, where this rule keeps the 80 ms the model learnt;
    it divides by ``int(fps)`` (29 at 29.97 fps, which drifts 3 % off the audio); and it
    drops the narration's last partial second. Here the time alignment is the same at every
    rate and every frame of the narration is made.

    frames: (B,) int output frame indices; sync_offset: in video frames, as for the mel.
    Returns (B, WHISPER_WINDOW) int64 row indices, possibly outside [0, n_rows).
    """
    shifted = np.asarray(frames, dtype=np.float64) + sync_offset
    starts = np.floor(shifted * WHISPER_ROWS_PER_SECOND / fps).astype(np.int64) - WHISPER_LEAD
    return starts[:, None] + np.arange(WHISPER_WINDOW, dtype=np.int64)[None, :]


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
