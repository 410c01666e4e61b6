"""A narration decoded once per kind of feature, as a stream, into files: memory flat in its length.

Course narrations run 15-60 minutes. Holding one whole (its samples, the float64
pre-emphasis, the STFT, its magnitude) cost about 0.9 MB per second of audio before the first
frame. Here ffmpeg's output is read in blocks (:func:`heygem.media.audio.stream_audio`); each block is
pre-emphasised with the last sample of the one before, and the mel frames whose 800-sample
windows it completes are computed and appended to an anonymous temporary file; the
:data:`~heygem.media.audio.N_FFT` - :data:`~heygem.media.audio.HOP_LENGTH` samples that later
frames still need are carried over. The result equals :func:`heygem.media.audio.mel_spectrogram`
of the whole signal (tests: a 10-minute narration, within float32 rounding).
:meth:`Narration.windows_for` reads back only the rows a batch of frames needs. Other kinds
of audio features (the musetalk engine's) go through the same streaming
(:mod:`heygem.media.features`).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from heygem.media import audio
from heygem.media.features import AudioFeatures, FeatureStore

log = logging.getLogger("heygem")


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


class _MelStream:
    """The Wav2Lip mel as a :class:`~heygem.media.features.FeatureStream`: :class:`MelBlocks`
    with 0.2 s of silence after the audio (:func:`heygem.media.audio.with_silent_tail`)."""

    def __init__(self):
        self.blocks = MelBlocks()

    def feed(self, block: np.ndarray) -> np.ndarray:
        return self.blocks.feed(block)

    def finish(self) -> np.ndarray:
        tail = self.blocks.feed(audio.with_silent_tail(np.zeros(0, np.float32)))
        return np.concatenate([tail, self.blocks.finish()])


class MelFeatures:
    """The Wav2Lip mel as an engine's audio features: windows of 16 rows from
    :func:`heygem.media.audio.mel_window_starts` (clamped into the mel), arranged as
    (B, 80, 16), what the Wav2Lip network and the loudness engine take."""

    key = "wav2lip-mel"
    row_shape = (audio.N_MELS,)

    def stream(self) -> _MelStream:
        return _MelStream()

    def window_rows(self, frames: np.ndarray, fps: float, n_rows: int, sync_offset: int) -> np.ndarray:
        starts = audio.mel_window_starts(frames, fps, n_rows, sync_offset)
        return starts[:, None] + np.arange(audio.MEL_WINDOW)[None, :]

    def arrange(self, windows: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(windows.transpose(0, 2, 1))  # (B, 16, 80) -> (B, 80, 16)


WAV2LIP_MEL = MelFeatures()


class Narration:
    """One audio decoded once per kind of feature, shared by every video of a batch.

    Its Wav2Lip mel, (80, T) float32 with 0.2 s of silence after the audio
    (:func:`heygem.media.audio.with_silent_tail`), is made when it is opened; another kind of
    feature (:mod:`heygem.media.features`: the musetalk engine's whisper features) is made
    the first time :meth:`prepare` or :meth:`windows_for` asks for it, by decoding the audio
    again. Each is kept in an anonymous temporary file and read back window by window, so
    memory does not grow with the narration's length. ``seconds``: the duration of the
    output. ``max_seconds`` (a preview): only the start is used, and decoded (with the 0.2 s
    the last frame's window reaches past it).
    """

    def __init__(self, path: str | Path, max_seconds: float | None = None):
        self.path = Path(path)
        self._reach = (
            None if max_seconds is None else max_seconds + audio.MEL_WINDOW / audio.MEL_FRAMES_PER_SECOND
        )
        self._stores: dict[str, FeatureStore] = {}
        self._lock = threading.Lock()
        mel = self._compute(WAV2LIP_MEL)
        self.n_samples = self._samples  # (at 16 kHz) decoded
        self.mel_frames = mel.n_rows  # T
        self.seconds = self.n_samples / audio.SAMPLE_RATE
        if max_seconds is not None:
            self.seconds = min(self.seconds, max_seconds)
        log.info("narration %s: %.2f s, mel %d frames", self.path.name, self.seconds, self.mel_frames)

    def prepare(self, features: AudioFeatures) -> None:
        """Make ``features`` for this narration now, unless made before (decodes the audio
        again; raises MediaError as opening it does)."""
        self._store(features)

    def windows_for(
        self, frames: np.ndarray, fps: float, sync_offset: int = 0, features: AudioFeatures = WAV2LIP_MEL
    ) -> np.ndarray:
        """The audio windows of output frames ``frames`` (B,) int, as ``features`` arranges
        them: (B, 80, 16) float32 for the default, Wav2Lip's mel."""
        store = self._store(features)
        rows = features.window_rows(np.asarray(frames), fps, store.n_rows, sync_offset)
        return features.arrange(store.gather(rows))

    def mel_rows(self, first: int, end: int) -> np.ndarray:
        """Mel frames [first, end) as (end - first, 80) float32, time-major (thread-safe)."""
        return self._stores[WAV2LIP_MEL.key].rows(first, end)

    def whole_mel(self) -> np.ndarray:
        """The whole mel, (80, T) float32 (tests; the pipeline reads windows)."""
        return np.ascontiguousarray(self.mel_rows(0, self.mel_frames).T)

    def close(self) -> None:
        for store in self._stores.values():
            store.close()

    def _store(self, features: AudioFeatures) -> FeatureStore:
        with self._lock:
            if features.key not in self._stores:
                self._compute(features)
            return self._stores[features.key]

    def _compute(self, features: AudioFeatures) -> FeatureStore:
        """Decode the audio and stream it through ``features`` into a new store."""
        started = time.perf_counter()
        store, stream, samples = FeatureStore(features.row_shape), features.stream(), 0
        try:
            for block in audio.stream_audio(self.path, self._reach):
                samples += block.size
                store.append(stream.feed(block))
            store.append(stream.finish())
            store.done()
        except BaseException:
            store.close()
            raise
        self._samples = samples
        self._stores[features.key] = store
        log.debug("%s: %s in %.1f s", self.path.name, features.key, time.perf_counter() - started)
        return store
