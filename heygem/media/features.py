"""The seam between a narration and an engine: which audio features it wants, and where
they are kept.

An engine names its audio features (``engine.audio_features``, an :class:`AudioFeatures`):

- Wav2Lip and the loudness engine: the Wav2Lip mel, 80 bands at 80 rows per second, 16 rows
  per frame (:data:`heygem.media.narration.WAV2LIP_MEL`, the window rule
  :func:`heygem.media.audio.mel_window_starts`);
- musetalk: the whisper-tiny encoder's hidden states, 5 x 384 values at 50 rows per second,
  10 rows per frame (:class:`heygem.lipsync.musetalk.whisper.WhisperFeatures`, the window rule
  :func:`heygem.media.audio.whisper_window_rows`).

A :class:`~heygem.media.narration.Narration` computes each kind once (keyed by
:attr:`AudioFeatures.key`), block by block as ffmpeg decodes the audio
(:meth:`AudioFeatures.stream`), into a :class:`FeatureStore`: an anonymous temporary file,
so memory stays flat in the narration's length. A batch of frames reads back only the rows
its windows cover (:meth:`FeatureStore.gather`); rows outside the narration read as zeros.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Protocol

import numpy as np


class FeatureStream(Protocol):
    """Features of one audio signal computed as it arrives."""

    def feed(self, block: np.ndarray) -> np.ndarray:
        """block (n,) float32 mono at 16 kHz -> the rows it completed, (k, *row_shape) float32."""

    def finish(self) -> np.ndarray:
        """The signal has ended -> the last rows, (k, *row_shape) float32."""


class AudioFeatures(Protocol):
    key: str  # what the rows depend on (kind, weights, runtime): a narration computes each key once
    row_shape: tuple[int, ...]  # one row's values: (80,) for the mel, (5, 384) for whisper-tiny

    def stream(self) -> FeatureStream:
        """A fresh computer of this kind for one signal."""

    def window_rows(self, frames: np.ndarray, fps: float, n_rows: int, sync_offset: int) -> np.ndarray:
        """The rule: output frames (B,) int -> (B, W) int64 rows of each frame's window; a row
        outside [0, n_rows) reads as zeros."""

    def arrange(self, windows: np.ndarray) -> np.ndarray:
        """(B, W, *row_shape) float32 gathered windows -> the engine's audio input."""


class FeatureStore:
    """Rows of one kind of feature of one narration, (n_rows, *row_shape) float32 in time
    order, in an anonymous temporary file; reads are thread-safe (``os.pread``)."""

    def __init__(self, row_shape: tuple[int, ...]):
        self.row_shape = tuple(row_shape)
        self.n_rows = 0  # rows written so far
        self._row_bytes = 4 * math.prod(self.row_shape)
        self._file = tempfile.TemporaryFile(prefix="heygem-audio-")  # noqa: SIM115 - lives with self

    def append(self, rows: np.ndarray) -> None:
        """Add rows (k, *row_shape) float32 at the end."""
        rows = np.ascontiguousarray(rows, np.float32)
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"feature rows {rows.shape[1:]} do not match {self.row_shape}")
        self._file.write(rows.tobytes())
        self.n_rows += len(rows)

    def done(self) -> None:
        self._file.flush()

    def rows(self, first: int, end: int) -> np.ndarray:
        """Rows [first, end), 0 <= first <= end <= n_rows, as (end - first, *row_shape) float32."""
        data = os.pread(self._file.fileno(), (end - first) * self._row_bytes, first * self._row_bytes)
        return np.frombuffer(data, np.float32).reshape(-1, *self.row_shape)

    def gather(self, indices: np.ndarray) -> np.ndarray:
        """indices (B, W) int -> (B, W, *row_shape) float32: the rows, zeros where an index is
        outside [0, n_rows). Reads only the span the batch covers."""
        out = np.zeros((*indices.shape, *self.row_shape), np.float32)
        inside = (indices >= 0) & (indices < self.n_rows)
        if inside.any():
            first, end = int(indices[inside].min()), int(indices[inside].max()) + 1
            out[inside] = self.rows(first, end)[indices[inside] - first]
        return out

    def close(self) -> None:
        self._file.close()
