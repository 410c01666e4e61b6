"""Calibration data for int8 quantisation: what the pipeline feeds the network.

Batches of 96 x 96 face crops of a real face (scikit-image's astronaut photo, which ships
with scikit-image, a dependency of face-alignment, so nothing is downloaded) moving a little
as a presenter does, with the mel windows of speech-like audio: voiced syllables and pauses,
so the activation ranges seen span speech and silence the way narration does.
"""

from __future__ import annotations

import numpy as np

FPS = 25.0  # frames per second the calibration frames stand for
HEAD_SIZE = 300  # px, the astronaut's head-and-shoulders crop as calibrated
FACE_CROP = (96, 46, 212, 196)  # x1 y1 x2 y2 around its face, Wav2Lip-padded, in that crop
# Bump when the calibration data changes: int8 graphs calibrated on older data are made again.
# 2: crops resized as the pipeline resizes them (blend.crop_face, bilinear), not INTER_AREA.
CALIBRATION_FORMAT = 2


def astronaut_bgr(size: int = 256) -> np.ndarray:
    """The astronaut head-and-shoulders crop, (size, size, 3) uint8 BGR."""
    import cv2
    from skimage import data

    rgb = data.astronaut()[0:300, 80:380]  # head and shoulders, 300 x 300
    return cv2.resize(rgb[:, :, ::-1], (size, size), interpolation=cv2.INTER_AREA)


def speech_like(
    seconds: float, sample_rate: int = 16000, seed: int = 0, pitch: float = 150.0, pace: float = 1.0
) -> np.ndarray:
    """Syllable-like voiced bursts with pauses: (n,) float32 in [-1, 1].

    A glottal pulse train (``pitch`` Hz, swinging by +-27 %) through three formant-like
    resonances, gated into syllables of 120-300 ms separated by 40-400 ms gaps (both times
    ``pace``: 0.5 is a fast talker), so the energy envelope swings between speech and silence
    the way narration does.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    glottal = pitch * (1 + 4 / 15 * np.sin(2 * np.pi * 0.3 * t))  # 150 +- 40 Hz by default
    phase = 2 * np.pi * np.cumsum(glottal) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30))
    formants = sum(a * np.sin(2 * np.pi * f * t) for f, a in ((700, 1.0), (1200, 0.6), (2600, 0.3)))
    carrier = 0.6 * voiced * (0.6 + 0.4 * formants / 1.9)
    signal = carrier * syllable_envelope(n, rng, sample_rate, pace)
    return (0.8 * signal / max(1e-9, np.abs(signal).max())).astype(np.float32)


def syllable_envelope(n: int, rng: np.random.Generator, sample_rate: int, pace: float = 1.0) -> np.ndarray:
    """(n,) float64 gain in [0, 1]: half-sine syllables of 120-300 ms with 40-400 ms gaps
    (times ``pace``), each at a random level, from 0.1 s on."""
    envelope = np.zeros(n)
    pos = int(0.1 * sample_rate)
    while pos < n:
        end = min(n, pos + int(rng.uniform(0.12, 0.30) * pace * sample_rate))
        envelope[pos:end] = np.sin(np.linspace(0, np.pi, end - pos)) * rng.uniform(0.5, 1.0)
        pos = end + int(rng.uniform(0.04, 0.40) * pace * sample_rate)
    return envelope


def calibration_batches(count: int, size: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` batches of (mels (size, 80, 16) float32, faces (size, 96, 96, 3) uint8 BGR):
    the astronaut's face drifting by a few pixels, cropped as the pipeline crops
    (:func:`heygem.lipsync.blend.crop_face`), with the mel windows of speech-like audio."""
    from heygem.lipsync.blend import crop_face
    from heygem.media import audio

    n = count * size
    head = astronaut_bgr(HEAD_SIZE)
    x1, y1, x2, y2 = FACE_CROP
    faces = []
    for i in range(n):  # the head's offset in a 320 x 320 frame, as a presenter sways
        phase = 2 * np.pi * i / 100.0
        dx, dy = int(20 * (0.5 + 0.3 * np.sin(phase))), int(20 * (0.5 + 0.2 * np.sin(0.7 * phase)))
        faces.append(crop_face(head, (x1 - dx, y1 - dy, x2 - dx, y2 - dy)))
    mel = audio.mel_spectrogram(speech_like(n / FPS + 0.5, seed=7))
    mels = audio.mel_windows(mel, audio.mel_window_starts(np.arange(n), FPS, mel.shape[1]))
    faces = np.stack(faces)
    return [(mels[i : i + size], faces[i : i + size]) for i in range(0, n, size)]
