"""The musetalk engine's audio features: whisper-tiny's encoder states, 50 rows a second.

As MuseTalk 1.5's inference makes them (its ``audio_processor.py``): the narration is cut
into 30 s segments from its start; each is turned into Whisper's log-mel (transformers'
``WhisperFeatureExtractor``, the segment zero-padded to 30 s as Whisper requires) and run
through the encoder; the hidden states of every layer (the embeddings, each layer's output,
the last one layer-normed: 5 for whisper-tiny) are stacked per time step, (5, 384) a row at
50 rows per second. A segment's rows after its audio (the padding's) are dropped, so row r
is always audio time r * 20 ms. Frames take their 10-row windows through
:func:`heygem.media.audio.whisper_window_rows`; rows past the end read as zeros.

Here the segments are made as ffmpeg's blocks arrive, so memory holds one segment at a time
whatever the narration's length (:mod:`heygem.media.features`).
"""

from __future__ import annotations

import numpy as np
import torch

from heygem.media import audio

SEGMENT_SECONDS = 30  # Whisper's fixed input length
SEGMENT_SAMPLES = SEGMENT_SECONDS * audio.SAMPLE_RATE
SAMPLES_PER_ROW = audio.SAMPLE_RATE // audio.WHISPER_ROWS_PER_SECOND  # 320 (20 ms)


class WhisperFeatures:
    """:class:`heygem.media.features.AudioFeatures` of a loaded whisper encoder."""

    def __init__(self, encoder, key: str):
        self.encoder = encoder  # transformers WhisperEncoder, eval mode, on its device
        self.key = key  # what the rows depend on: the weights' SHA-256 and the device kind
        self.row_shape = (len(encoder.layers) + 1, encoder.config.d_model)  # (5, 384)
        self._extractor = None

    def stream(self) -> _WhisperStream:
        if self._extractor is None:
            from transformers import WhisperFeatureExtractor

            self._extractor = WhisperFeatureExtractor(feature_size=self.encoder.config.num_mel_bins)
        return _WhisperStream(self)

    def window_rows(self, frames: np.ndarray, fps: float, n_rows: int, sync_offset: int) -> np.ndarray:
        return audio.whisper_window_rows(frames, fps, sync_offset)

    def arrange(self, windows: np.ndarray) -> np.ndarray:
        """(B, 10, 5, 384) -> (B, 50, 384): the UNet's cross-attention sequence, as upstream's
        ``rearrange('b c h w -> b (c h) w')`` orders it (time-major, layers within)."""
        return np.ascontiguousarray(windows.reshape(len(windows), -1, windows.shape[-1]))

    def segment_rows(self, samples: np.ndarray) -> np.ndarray:
        """One segment, (n,) float32 at 16 kHz with n <= 30 s -> its (ceil(n / 320), 5, 384)
        float32 rows."""
        log_mel = self._extractor(
            samples, sampling_rate=audio.SAMPLE_RATE, return_tensors="np"
        ).input_features
        parameter = next(self.encoder.parameters())
        features = torch.from_numpy(log_mel).to(parameter.device, parameter.dtype)
        with torch.inference_mode():
            states = self.encoder(features, output_hidden_states=True).hidden_states
            stacked = torch.stack(states, dim=2)[0]  # (1500, layers + 1, d_model)
        rows = -(-len(samples) // SAMPLES_PER_ROW)
        return stacked[:rows].float().cpu().numpy()


class _WhisperStream:
    """Collects blocks into 30 s segments and encodes each when it is full."""

    def __init__(self, features: WhisperFeatures):
        self.features = features
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0

    def feed(self, block: np.ndarray) -> np.ndarray:
        self._pending.append(np.asarray(block, np.float32))
        self._pending_samples += len(block)
        done = []
        while self._pending_samples >= SEGMENT_SAMPLES:
            joined = np.concatenate(self._pending)
            done.append(self.features.segment_rows(joined[:SEGMENT_SAMPLES]))
            self._pending = [joined[SEGMENT_SAMPLES:]]
            self._pending_samples = len(self._pending[0])
        return np.concatenate(done) if done else self._empty()

    def finish(self) -> np.ndarray:
        if not self._pending_samples:
            return self._empty()
        rows = self.features.segment_rows(np.concatenate(self._pending))
        self._pending, self._pending_samples = [], 0
        return rows

    def _empty(self) -> np.ndarray:
        return np.empty((0, *self.features.row_shape), np.float32)
