"""A narration decoded once, as a stream, into a mel kept on disk: memory flat in its length.

Course narrations run 15-60 minutes. Holding one whole (its samples, the float64
pre-emphasis, the STFT, its magnitude) cost about 0.9 MB per second of audio before the first
frame. Here ffmpeg's output is read in blocks (:func:`heygem.media.audio.stream_audio`); each block is
pre-emphasised with the last sample of the one before, and the mel frames whose 800-sample
windows it completes are computed and appended to an anonymous temporary file; the
:data:`~heygem.media.audio.N_FFT` - :data:`~heygem.media.audio.HOP_LENGTH` samples that later
frames still need are carried over. The result equals :func:`heygem.media.audio.mel_spectrogram`
of the whole signal (tests: a 10-minute narration, within float32 rounding).
:meth:`Narration.windows_for` reads back only the mel rows a batch of frames needs.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from heygem.media import audio

log = logging.getLogger("heygem")

_ROW_BYTES = audio.N_MELS * 4  # one mel frame on disk: 80 float32


class MelBlocks:
    """The Wav2Lip mel of a signal fed block by block: :meth:`feed` each block, then
    :meth:`finish`; each returns the (k, N_MELS) float32 mel frames (time-major) it completed.

    Frame t is the STFT of samples [t * HOP - N_FFT / 2, t * HOP + N_FFT / 2) of the
    pre-emphasised signal, zero outside it (librosa's ``center=True`` with zero padding), so
    a frame is computed as soon as its last sample arrives."""

    def __init__(self):
        self.samples = 0  # fed so far
        self.frames = 0  # returned so far
        self._last = 0.0  # the last sample fed (pre-emphasis carries it over)
        self._pending = np.zeros(audio.N_FFT // 2)  # float64, starts with the left padding

    def feed(self, block: np.ndarray) -> np.ndarray:
        """block (n,) float32 -> the mel frames it completed, (k, N_MELS) float32."""
        signal = block.astype(np.float64)
        emphasised = signal - audio.PREEMPHASIS * np.concatenate([[self._last], signal[:-1]])
        if signal.size:
            self._last = signal[-1]
        self.samples += signal.size
        self._pending = np.concatenate([self._pending, emphasised])
        return self._frames()

    def finish(self) -> np.ndarray:
        """The last frames, through the right padding: 1 + samples // HOP in all."""
        self._pending = np.concatenate([self._pending, np.zeros(audio.N_FFT // 2)])
        return self._frames(total=1 + self.samples // audio.HOP_LENGTH)

    def _frames(self, total: int | None = None) -> np.ndarray:
        ready = 1 + (self._pending.size - audio.N_FFT) // audio.HOP_LENGTH
        if total is not None:
            ready = min(ready, total - self.frames)
        if ready <= 0:
            return np.empty((0, audio.N_MELS), np.float32)
        used = (ready - 1) * audio.HOP_LENGTH + audio.N_FFT
        mel = audio.mel_of_frames(self._pending[:used])  # (N_MELS, ready)
        self._pending = self._pending[ready * audio.HOP_LENGTH :]
        self.frames += ready
        return np.ascontiguousarray(mel.T)


class Narration:
    """One audio decoded and turned into a mel once, shared by every video of a batch.

    Its mel, (80, T) float32 with 0.2 s of silence after the audio
    (:func:`heygem.media.audio.with_silent_tail`), is kept in an anonymous temporary file
    and read back window by window, so memory does not grow with the narration's length.
    ``seconds``: the duration of the output. ``max_seconds`` (a preview): only the start is
    used, and decoded (with the 0.2 s the last frame's window reaches past it).
    """

    def __init__(self, path: str | Path, max_seconds: float | None = None):
        self.path = Path(path)
        reach = None if max_seconds is None else max_seconds + audio.MEL_WINDOW / audio.MEL_FRAMES_PER_SECOND
        self._file = tempfile.TemporaryFile(prefix="heygem-mel-")  # noqa: SIM115 - lives with self
        blocks = MelBlocks()
        for block in audio.stream_audio(self.path, reach):
            self._file.write(blocks.feed(block).tobytes())
        self.n_samples = blocks.samples  # (at 16 kHz) decoded
        tail = audio.with_silent_tail(np.zeros(0, np.float32))
        self._file.write(blocks.feed(tail).tobytes())
        self._file.write(blocks.finish().tobytes())
        self._file.flush()
        self.mel_frames = blocks.frames  # T
        self.seconds = self.n_samples / audio.SAMPLE_RATE
        if max_seconds is not None:
            self.seconds = min(self.seconds, max_seconds)
        log.info("narration %s: %.2f s, mel %d frames", self.path.name, self.seconds, self.mel_frames)

    def windows_for(self, frames: np.ndarray, fps: float, sync_offset: int = 0) -> np.ndarray:
        """Mel windows for output frames: frames (B,) int -> (B, 80, 16) float32."""
        starts = audio.mel_window_starts(frames, fps, self.mel_frames, sync_offset)
        if not starts.size:
            return np.empty((0, audio.N_MELS, audio.MEL_WINDOW), np.float32)
        first, end = int(starts.min()), int(starts.max()) + audio.MEL_WINDOW
        rows = self.mel_rows(first, end)  # (end - first, 80)
        return audio.mel_windows(np.ascontiguousarray(rows.T), starts - first)

    def mel_rows(self, first: int, end: int) -> np.ndarray:
        """Mel frames [first, end) as (end - first, 80) float32, time-major (thread-safe)."""
        data = os.pread(self._file.fileno(), (end - first) * _ROW_BYTES, first * _ROW_BYTES)
        return np.frombuffer(data, np.float32).reshape(-1, audio.N_MELS)

    def whole_mel(self) -> np.ndarray:
        """The whole mel, (80, T) float32 (tests; the pipeline reads windows)."""
        return np.ascontiguousarray(self.mel_rows(0, self.mel_frames).T)

    def close(self) -> None:
        self._file.close()
