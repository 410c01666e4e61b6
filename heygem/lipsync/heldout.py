"""Held-out network inputs: what a runtime's output is judged on, never what int8 was fitted to.

The int8 calibration (:mod:`heygem.lipsync.calibration`) measures activation ranges on one
face at one scale, swaying by a few pixels, with one speech-like voice. The int8 gate
(:mod:`heygem.lipsync.gate`), the runtime tests and ``bench/`` compare outputs on these
instead, which the calibration never saw:

- faces: the same real face (the astronaut) at four scales (a 90 to 380 px face box), at
  offsets of up to a fifth of the box, mirrored, darker and brighter; every crop made by
  :func:`heygem.lipsync.blend.crop_face` from a whole image, exactly as the pipeline crops;
- audio of other kinds: a higher voice, a fast talker, a whisper (noise through the vowel
  resonances, no pitch), music (chords and drum hits) and near silence (room tone).

Everything is generated (scikit-image ships the photo), so nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heygem.lipsync.calibration import FACE_CROP, FPS, speech_like, syllable_envelope

HELD_OUT_FRAMES = 64  # frames the gate compares (64 x 96 x 96 x 3 = 1.8 M pixel values)
SCALES = (0.6, 1.0, 1.6, 2.5)  # astronaut photo resize factors: face boxes of ~90 to ~380 px
SHIFTS = ((-0.2, 0.1), (0.15, -0.1), (0.05, 0.2), (-0.1, -0.2))  # crop offsets, box fractions
GAINS = (0.7, 1.0, 1.25)  # brightness factors (dim room, as shot, bright window)
SAMPLE_RATE = 16000  # Hz, as the mel expects
AUDIO_SEED = 11  # the calibration's speech is seed 7


@dataclass(frozen=True)
class PixelDifference:
    """How far one runtime's faces are from another's, in 8-bit pixel levels."""

    max: int  # largest absolute difference
    mean: float  # mean absolute difference
    p99: float  # 99th percentile of the absolute differences
    p99_9: float  # 99.9th percentile (what the int8 gate bounds)


def differences(got: np.ndarray, reference: np.ndarray) -> PixelDifference:
    """got, reference (B, 96, 96, 3) uint8 -> their absolute difference's statistics."""
    diff = np.abs(got.astype(np.int16) - reference.astype(np.int16))
    p99, p99_9 = np.percentile(diff, [99, 99.9])
    return PixelDifference(int(diff.max()), float(diff.mean()), float(p99), float(p99_9))


def held_out_batch(size: int = HELD_OUT_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """(mels (size, 80, 16) float32, faces (size, 96, 96, 3) uint8 BGR): frame i is face
    variant i (scale, offset, mirror, brightness) with the i-th window of the audio kinds,
    which follow one another."""
    return held_out_mels(size), np.stack([held_out_face(i) for i in range(size)])


def held_out_face(i: int) -> np.ndarray:
    """Face variant ``i``: (96, 96, 3) uint8 BGR, cropped as the pipeline crops."""
    import cv2

    from heygem.lipsync.blend import crop_face

    scale = SCALES[i % len(SCALES)]
    shift_x, shift_y = SHIFTS[i // len(SCALES) % len(SHIFTS)]
    photo = _astronaut_photo()
    image = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    x1, y1, x2, y2 = (np.array(_PHOTO_FACE_BOX) * scale).round().astype(int)
    dx, dy = round(shift_x * (x2 - x1)), round(shift_y * (y2 - y1))
    box = (max(0, x1 + dx), max(0, y1 + dy), x2 + dx, y2 + dy)
    if i // 2 % 2:  # mirrored: the other half of the face on each side
        image = np.ascontiguousarray(image[:, ::-1])
        width = image.shape[1]
        box = (width - box[2], box[1], width - box[0], box[3])
    face = crop_face(image, box)
    gain = GAINS[i % len(GAINS)]
    return face if gain == 1.0 else cv2.convertScaleAbs(face, alpha=gain)


def held_out_mels(size: int) -> np.ndarray:
    """(size, 80, 16) float32 mel windows of the held-out audio kinds, one after another."""
    from heygem.media import audio

    seconds = size / FPS + 0.5
    kinds = [
        speech_like(seconds, SAMPLE_RATE, seed=AUDIO_SEED, pitch=230.0),  # a higher voice
        speech_like(seconds, SAMPLE_RATE, seed=AUDIO_SEED + 1, pitch=120.0, pace=0.5),  # fast
        whisper_like(seconds, seed=AUDIO_SEED + 2),
        music_like(seconds, seed=AUDIO_SEED + 3),
        room_tone(seconds, seed=AUDIO_SEED + 4),
    ]
    per_kind = -(-size // len(kinds))
    windows = []
    for signal in kinds:
        mel = audio.mel_spectrogram(signal)
        starts = audio.mel_window_starts(np.arange(per_kind), FPS, mel.shape[1])
        windows.append(audio.mel_windows(mel, starts))
    return np.concatenate(windows)[:size].astype(np.float32)


def whisper_like(seconds: float, seed: int) -> np.ndarray:
    """Whispered syllables: noise shaped by vowel-like resonances, no pitch; (n,) float32."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(round(seconds * SAMPLE_RATE))
    shaped = sum(_resonance(noise, f, 120.0) * a for f, a in ((600, 1.0), (1100, 0.7), (2500, 0.4)))
    return _normalised(shaped * syllable_envelope(len(noise), rng, SAMPLE_RATE))


def music_like(seconds: float, seed: int) -> np.ndarray:
    """A chord progression with drum hits (noise bursts) on the beat; (n,) float32."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    chords = ((220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6))
    bar = (t // 1.0).astype(int) % len(chords)
    tones = sum(np.sin(2 * np.pi * np.take([c[k] for c in chords], bar) * t) for k in range(3))
    beat = np.exp(-(t % 0.5) * 30.0) * rng.standard_normal(n)
    return _normalised(0.5 * tones + beat)


def room_tone(seconds: float, seed: int) -> np.ndarray:
    """Near silence: faint noise at -50 dBFS with a mains hum; (n,) float32."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SAMPLE_RATE)
    hum = np.sin(2 * np.pi * 50.0 * np.arange(n) / SAMPLE_RATE)
    return (0.003 * (rng.standard_normal(n) + hum)).astype(np.float32)


# The face box (x1, y1, x2, y2) in scikit-image's 512 x 512 astronaut photo, padded as
# Wav2Lip pads: the calibration's FACE_CROP, which is in the 300 px crop starting at x = 80.
_PHOTO_FACE_BOX = (FACE_CROP[0] + 80, FACE_CROP[1], FACE_CROP[2] + 80, FACE_CROP[3])


def _astronaut_photo() -> np.ndarray:
    """scikit-image's astronaut, (512, 512, 3) uint8 BGR."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def _resonance(signal: np.ndarray, frequency: float, bandwidth: float) -> np.ndarray:
    """``signal`` through a two-pole resonator at ``frequency`` Hz (``bandwidth`` Hz wide)."""
    from scipy.signal import lfilter

    radius = np.exp(-np.pi * bandwidth / SAMPLE_RATE)
    theta = 2 * np.pi * frequency / SAMPLE_RATE
    return lfilter([1.0 - radius], [1.0, -2 * radius * np.cos(theta), radius**2], signal)


def _normalised(signal: np.ndarray) -> np.ndarray:
    return (0.8 * signal / max(1e-9, float(np.abs(signal).max()))).astype(np.float32)
