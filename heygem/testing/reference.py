"""The original Wav2Lip inference step and its mel, restated plainly, for parity tests and
bench/parity.py, bench/original.py.

What Rudrabha/Wav2Lip's ``inference.py --box y1 y2 x1 x2`` does to one frame (its
``datagen`` and main loop), written out without the batching:

1. crop the box from the BGR frame (OpenCV decoded it) and ``cv2.resize`` it to 96 x 96
   (default interpolation: bilinear);
2. copy it and zero rows 48-95 of the copy (the half to redraw);
3. concatenate the masked copy THEN the full crop on the channel axis, divide by 255,
   NHWC -> NCHW; the mel window (80 x 16) becomes (1, 1, 80, 16);
4. run the model; multiply by 255 and truncate to uint8 (``astype``, no rounding);
5. ``cv2.resize`` back to the box's size and paste the whole box, hard-edged.

``mutation`` deliberately breaks one step, so a test can show that its comparison would
catch that bug in our engine: "swapped" (full crop first), "rgb" (the network fed RGB and its
output read as RGB), "upper" (rows 0-47 zeroed instead), "scale" (inputs in [-1, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MUTATIONS = ("swapped", "rgb", "upper", "scale")


@dataclass
class ReferenceStep:
    network_faces: np.ndarray  # (1, 6, 96, 96) float32, what the network was given
    network_mel: np.ndarray  # (1, 1, 80, 16) float32
    frame: np.ndarray  # (H, W, 3) uint8 BGR, the frame with the box pasted


def reference_input(frame: np.ndarray, box, mel: np.ndarray, mutation: str | None = None):
    """Steps 1-3: frame (H, W, 3) uint8 BGR, box x1 y1 x2 y2 integer pixels, mel (80, 16)
    float32 -> (faces (1, 6, 96, 96), mels (1, 1, 80, 16)) float32 as the network gets them."""
    x1, y1, x2, y2 = (int(v) for v in box)
    source = frame[:, :, ::-1] if mutation == "rgb" else frame
    face = cv2.resize(np.ascontiguousarray(source[y1:y2, x1:x2]), (96, 96))
    img_batch = face[None]
    img_masked = img_batch.copy()
    if mutation == "upper":
        img_masked[:, :48] = 0
    else:
        img_masked[:, 48:] = 0
    halves = (img_batch, img_masked) if mutation == "swapped" else (img_masked, img_batch)
    img = np.concatenate(halves, axis=3) / 255.0
    if mutation == "scale":
        img = img * 2 - 1
    mel_batch = np.reshape(mel, [1, *mel.shape, 1])
    faces = np.transpose(img, (0, 3, 1, 2)).astype(np.float32)  # torch.FloatTensor's cast
    return faces, np.transpose(mel_batch, (0, 3, 1, 2)).astype(np.float32)


def reference_step(
    model, frame: np.ndarray, box, mel: np.ndarray, mutation: str | None = None
) -> ReferenceStep:
    """All five steps with a torch Wav2Lip in eval mode on the CPU -> the network input and
    the frame with the box pasted."""
    import torch

    faces, mels = reference_input(frame, box, mel, mutation)
    with torch.no_grad():
        pred = model(torch.FloatTensor(mels), torch.FloatTensor(faces))
    pred = pred.cpu().numpy().transpose(0, 2, 3, 1) * 255.0
    x1, y1, x2, y2 = (int(v) for v in box)
    pasted = cv2.resize(pred[0].astype(np.uint8), (x2 - x1, y2 - y1))
    if mutation == "rgb":
        pasted = pasted[:, :, ::-1]
    out = frame.copy()
    out[y1:y2, x1:x2] = pasted
    return ReferenceStep(faces, mels, out)


def original_mel(wav: np.ndarray) -> np.ndarray:
    """The original's ``audio.melspectrogram``: scipy's lfilter pre-emphasis, librosa's stft
    (centred, zero padding) and mel filters (Slaney), with its hparams (those of
    :mod:`heygem.media.audio`). librosa is a test and bench tool here: the app's own mel is numpy."""
    import librosa
    from scipy.signal import lfilter

    from heygem.media import audio as a

    emphasised = lfilter([1.0, -a.PREEMPHASIS], [1.0], wav)
    spectrum = np.abs(
        librosa.stft(y=emphasised, n_fft=a.N_FFT, hop_length=a.HOP_LENGTH, win_length=a.WIN_LENGTH)
    )
    basis = librosa.filters.mel(sr=a.SAMPLE_RATE, n_fft=a.N_FFT, n_mels=a.N_MELS, fmin=a.FMIN, fmax=a.FMAX)
    db = 20 * np.log10(np.maximum(10 ** (a.MIN_LEVEL_DB / 20), basis @ spectrum)) - a.REF_LEVEL_DB
    scaled = 2 * a.MAX_ABS_VALUE * (db - a.MIN_LEVEL_DB) / -a.MIN_LEVEL_DB - a.MAX_ABS_VALUE
    return np.clip(scaled, -a.MAX_ABS_VALUE, a.MAX_ABS_VALUE).astype(np.float32)
