"""Lip-sync engines behind one interface.

An engine changes the mouth of each frame in place, given per frame the padded face crop box,
the outer-lip box (when the face mesh found one) and the frame's mel window:

- ``wav2lip``: the Wav2Lip network on 96x96 face crops, pasted back with a feathered mouth mask.
- ``preview``: needs no weights. It opens the real mouth by the speech energy of the frame's
  mel window (a downward warp of lower lip and jaw plus a darkened mouth interior; closed in
  silence). Not real lip-sync, but real work on a fresh install, and because its output is a
  known function of the audio the tests use it to prove frame/audio alignment end to end.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from heygem.errors import HeygemError
from heygem.faces import mouth_mask, paste

log = logging.getLogger("heygem")

CHECKPOINT_NAMES = ("wav2lip_gan.pth", "wav2lip.pth")  # in order of preference
FACE_SIZE = 96  # Wav2Lip's face crop, pixels

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels


@dataclass(frozen=True)
class FaceRegion:
    crop: Box  # padded face box, integer frame pixels
    mouth: tuple[float, float, float, float] | None  # outer-lip box in frame pixels, if known


class Engine(Protocol):
    name: str  # "wav2lip" | "preview"
    batch_size: int  # frames per render call that keep this engine busy

    def render(
        self, frames: list[np.ndarray], faces: list[FaceRegion | None], mels: np.ndarray
    ) -> None:
        """Lip-sync in place. frames: B x (H, W, 3) uint8 BGR; faces: B regions (None = no face,
        leave the frame untouched); mels: (B, 80, 16) float32 mel windows."""


class EngineError(HeygemError):
    """An engine cannot be set up (missing or bad checkpoint)."""


def find_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The Wav2Lip checkpoint in ``checkpoint_dir``: wav2lip_gan.pth, else wav2lip.pth."""
    for name in CHECKPOINT_NAMES:
        if (checkpoint_dir / name).is_file():
            return checkpoint_dir / name
    return None


def resolve_engine(
    name: str, checkpoint: Path | None, checkpoint_dir: Path
) -> tuple[str, Path | None]:
    """Pick the engine and checkpoint: "auto" is wav2lip when a checkpoint exists, else preview."""
    if name not in ("auto", "wav2lip", "preview"):
        raise EngineError(f"unknown engine {name!r} (use auto, wav2lip or preview)")
    if name == "preview":
        return "preview", None
    checkpoint = checkpoint or find_checkpoint(checkpoint_dir)
    if checkpoint is None or not Path(checkpoint).is_file():
        if name == "wav2lip":
            wanted = checkpoint or checkpoint_dir / CHECKPOINT_NAMES[0]
            raise EngineError(
                f"the wav2lip engine needs a checkpoint: {wanted} not found "
                f"(put {' or '.join(CHECKPOINT_NAMES)} in {checkpoint_dir}; see its README.md)"
            )
        log.warning(
            "no Wav2Lip checkpoint in %s: using the preview engine (not real lip-sync)",
            checkpoint_dir,
        )
        return "preview", None
    return "wav2lip", Path(checkpoint)


# Frames per model call, measured best per runtime on 2 CPU cores (bench/, README); CUDA: 64.
DEFAULT_BATCH = {"torch": 8, "onnx": 16, "onnx-int8": 16, "cuda": 64}


def create_engine(
    name: str,
    checkpoint: Path | None,
    device: str,
    batch_size: int | None,
    runtime: str = "torch",
    cache_dir: Path | None = None,
) -> Engine:
    """Build a resolved engine; the Wav2Lip network is loaded once per process here, on
    ``runtime`` (see :mod:`heygem.runtimes`; exported models are cached in ``cache_dir``)."""
    if name == "preview":
        return PreviewEngine()
    from heygem.runtimes import load_runner, resolve_runtime  # torch only when it is needed

    try:
        runtime = resolve_runtime(runtime, device)
        runner = load_runner(runtime, checkpoint, device, cache_dir)
    except (HeygemError, ValueError) as exc:  # a ModelLoadError among them
        raise EngineError(str(exc)) from None
    default_batch = DEFAULT_BATCH["cuda" if device.startswith("cuda") else runtime]
    return Wav2LipEngine(runner, batch_size or default_batch)


class Wav2LipEngine:
    name = "wav2lip"

    def __init__(self, runner, batch_size: int):
        self.runner = runner  # heygem.runtimes.Runner: the network on its runtime
        self.batch_size = batch_size
        self.model_seconds = 0.0  # time spent in the network, summed over every call

    def render(self, frames, faces, mels) -> None:
        todo = [i for i, face in enumerate(faces) if face is not None]
        if not todo:
            return  # frames without a face skip the model
        crops = np.stack([_crop_resized(frames[i], faces[i].crop) for i in todo])
        started = time.perf_counter()
        predicted = self._predict(mels[todo], crops)  # (n, 96, 96, 3) uint8 BGR
        self.model_seconds += time.perf_counter() - started
        for k, i in enumerate(todo):
            x1, y1, x2, y2 = faces[i].crop
            face = cv2.resize(predicted[k], (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
            mask = mouth_mask((y2 - y1, x2 - x1), faces[i].crop, faces[i].mouth)
            paste(frames[i], face, faces[i].crop, mask)

    def _predict(self, mels: np.ndarray, crops: np.ndarray) -> np.ndarray:
        """The network on a batch; on a GPU out-of-memory the batch is halved (for good) and
        the halves run one after the other, down to single frames."""
        if len(crops) > self.batch_size:  # a batch made before an earlier halving
            step = self.batch_size
            return np.concatenate([self._predict(mels[k : k + step], crops[k : k + step])
                                   for k in range(0, len(crops), step)])  # fmt: skip
        try:
            return self.runner.predict(mels, crops)
        except Exception as exc:
            if not _out_of_memory(exc):
                raise
            if len(crops) == 1:
                raise EngineError("out of GPU memory even for a single frame") from None
        half = len(crops) // 2
        self.batch_size = max(1, min(self.batch_size, half))
        log.warning("GPU out of memory at batch %d: halving to %d", len(crops), self.batch_size)
        _release_gpu_memory()
        return np.concatenate(
            [self._predict(mels[:half], crops[:half]), self._predict(mels[half:], crops[half:])]
        )


def _out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (or an older RuntimeError saying so), without importing torch."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def _release_gpu_memory() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _crop_resized(frame: np.ndarray, box: Box) -> np.ndarray:
    """frame (H, W, 3) uint8 BGR -> the box resized to (96, 96, 3) uint8 BGR."""
    x1, y1, x2, y2 = box
    return cv2.resize(frame[y1:y2, x1:x2], (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)


# Preview engine -----------------------------------------------------------------------------

SPEECH_BANDS = slice(8, 56)  # mel bands of roughly 300-3500 Hz, where speech energy lives
NOW_COLUMNS = 3  # mel frames (37.5 ms) at the start of the window: the audio of this frame
SILENCE_LEVEL = -3.2  # mean normalised mel level at or below which the mouth is closed
LOUD_LEVEL = 0.5  # level at which the mouth is fully open
MAX_OPENING = 0.45  # jaw drop at full opening, as a fraction of the mouth width
INTERIOR_BGR = np.array([38, 32, 78], dtype=np.float32)  # dark red mouth interior


def mouth_openness(mels: np.ndarray) -> np.ndarray:
    """Speech energy of each frame's own audio -> how far its mouth opens.

    mels: (B, 80, 16) float32 windows (normalised mel, [-4, 4]); returns (B,) float32 in [0, 1],
    0 in silence. Uses only the first columns of each window, i.e. the audio of the frame itself.
    """
    level = mels[:, SPEECH_BANDS, :NOW_COLUMNS].mean(axis=(1, 2))
    x = np.clip((level - SILENCE_LEVEL) / (LOUD_LEVEL - SILENCE_LEVEL), 0.0, 1.0)
    return (x * x * (3 - 2 * x)).astype(np.float32)  # smoothstep: eases in and out


def estimate_mouth(crop: Box) -> tuple[float, float, float, float]:
    """Where the lips usually sit in a Wav2Lip-style face box, when no mesh is available."""
    x1, y1, x2, y2 = crop
    w, h = x2 - x1, y2 - y1
    return (x1 + 0.32 * w, y1 + 0.68 * h, x1 + 0.68 * w, y1 + 0.80 * h)


class PreviewEngine:
    name = "preview"
    batch_size = 32

    def render(self, frames, faces, mels) -> None:
        openness = mouth_openness(mels)
        for frame, face, amount in zip(frames, faces, openness, strict=True):
            if face is not None and amount > 0.01:
                _open_mouth(frame, face.crop, face.mouth or estimate_mouth(face.crop), amount)


def _open_mouth(frame: np.ndarray, crop: Box, mouth, amount: float) -> None:
    """Drop the lower lip and jaw by ``amount`` (0..1) and darken the gap, in place.

    frame (H, W, 3) uint8 BGR. Works on the crop region only; everything else stays untouched.
    """
    x1, y1, x2, y2 = crop
    mx1, my1, mx2, my2 = mouth
    width = max(mx2 - mx1, 4.0)
    drop = amount * MAX_OPENING * width  # pixels
    cx, lip_y = (mx1 + mx2) / 2 - x1, (my1 + my2) / 2 - y1  # crop coordinates
    roi = frame[y1:y2, x1:x2]
    h, w = roi.shape[:2]
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    across = np.exp(-(((xs - cx) / (0.8 * width)) ** 2))  # strongest under the mouth centre
    across *= np.clip(np.minimum(xs, w - 1 - xs) / (0.1 * w), 0, 1)  # zero at the crop sides
    chin_y = lip_y + 0.55 * (h - lip_y)
    jaw = np.clip((h - 1 - ys) / max(h - 1 - chin_y, 1.0), 0, 1)  # zero at the crop bottom
    below = np.clip((ys - lip_y) / max(drop, 1.0), 0, 1)  # ramps in just under the lip line
    shift = drop * across * jaw * below
    map_x = np.broadcast_to(xs, (h, w)).astype(np.float32)
    map_y = (ys - shift).astype(np.float32)
    warped = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    gap = np.zeros((h, w), np.float32)
    half_h = max(drop / 2, 0.5)
    centre = (round(cx), round(lip_y + half_h))
    cv2.ellipse(gap, centre, (round(0.36 * width), round(half_h)), 0, 0, 360, 1.0, -1)
    gap = cv2.GaussianBlur(gap, (0, 0), 1.0 + 0.12 * half_h)[..., None] * min(1.0, 3 * amount)
    out = warped.astype(np.float32) * (1 - gap) + INTERIOR_BGR * gap
    roi[:] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
