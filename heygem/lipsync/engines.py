"""Lip-sync engines behind one interface, and how one is chosen and built.

An engine changes the mouth of each frame in place, given per frame the padded face crop box,
the outer-lip box (when the face mesh found one) and the frame's window of the audio features
the engine asks for (``audio_features``, :mod:`heygem.media.features`):

- ``wav2lip``: the Wav2Lip network on 96x96 face crops and mel windows, pasted back through
  the face's mask (:mod:`heygem.lipsync.masks`). Its weights: non-commercial use only;
- ``musetalk`` (:mod:`heygem.lipsync.musetalk`): MuseTalk 1.5 on 256x256 crops and whisper-tiny
  windows, pasted back through the same mask. Its weights: commercial use allowed under their
  licence's use restrictions; a GPU engine (seconds per frame on a CPU);
- ``loudness`` (:mod:`heygem.lipsync.loudness`): needs no weights; opens the real mouth by the
  speech energy of the audio. Not real lip-sync, but real work on a fresh install.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from heygem.errors import HeygemError
from heygem.lipsync.blend import Box, crop_face, paste, uncrop_face
from heygem.lipsync.masks import MaskOptions, face_mask
from heygem.lipsync.weights import MUSETALK_FOLDER, WAV2LIP_FILES, find_checkpoint
from heygem.machine import usable_cores
from heygem.media.features import AudioFeatures
from heygem.media.files import file_digest
from heygem.media.narration import WAV2LIP_MEL
from heygem.settings import ENGINES, engine_name

log = logging.getLogger("heygem")


@dataclass(frozen=True)
class FaceRegion:
    crop: Box  # padded face box, integer frame pixels
    mouth: tuple[float, float, float, float] | None  # outer-lip box in frame pixels, if known
    jaw: np.ndarray | None = None  # (P, 2) float32 jaw line x, y in frame pixels, if known
    mask: MaskOptions = MaskOptions()  # which pixels of the crop the new face replaces
    landmarks: np.ndarray | None = (
        None  # (5, 2) float32 eyes, nose tip, mouth corners (a restorer's alignment)
    )

    def blend_mask(self) -> np.ndarray:
        """(h, w) float32 in [0, 1] of the crop's size (:func:`heygem.lipsync.masks.face_mask`)."""
        return face_mask(self.crop, self.mouth, self.jaw, self.mask)


class Engine(Protocol):
    name: str  # "wav2lip" | "musetalk" | "loudness"
    batch_size: int  # frames per render call that keep this engine busy
    resume_key: str  # what its output depends on (weights, runtime, precision): chunks of a
    # video made under another key are redone, never joined to this engine's
    audio_features: AudioFeatures  # what it hears: each frame gets its window of these

    def render(self, frames: list[np.ndarray], faces: list[FaceRegion | None], audio: np.ndarray) -> None:
        """Lip-sync in place. frames: B x (H, W, 3) uint8 BGR; faces: B regions (None = no face,
        leave the frame untouched); audio: B windows of ``audio_features`` as it arranges them
        ((B, 80, 16) float32 mel windows for Wav2Lip and loudness, (B, 50, 384) for musetalk)."""


def runtime_of(engine) -> str:
    """Where an engine's network runs (a runtime name), "" for an engine without one (loudness)."""
    return getattr(getattr(engine, "runtime", None), "name", "")


def gate_of(engine) -> dict | None:
    """The int8 gate's verdict on an engine's weights as a dict, when the gate chose its
    runtime (``--runtime auto`` on a CPU); None otherwise."""
    verdict = getattr(engine, "gate", None)
    return None if verdict is None else asdict(verdict)


class EngineError(HeygemError):
    """An engine cannot be set up (missing or bad checkpoint)."""


def resolve_engine(name: str, checkpoint: Path | None, checkpoint_dir: Path) -> tuple[str, Path | None]:
    """Pick the engine and checkpoint: "auto" is wav2lip when ``checkpoint_dir`` holds one of
    :data:`~heygem.lipsync.weights.WAV2LIP_FILES` (the first found, in that order), else
    loudness (never musetalk: a studio chooses it). musetalk's checkpoint is a folder in
    MuseTalk's ``models/`` layout, ``checkpoint_dir/musetalk`` unless given. An old name
    (:data:`~heygem.settings.ENGINE_ALIASES`) counts as its engine."""
    name = engine_name(name)
    if name not in ENGINES:
        raise EngineError(f"unknown engine {name!r} (use {', '.join(ENGINES)})")
    if name == "loudness":
        return "loudness", None
    if name == "musetalk":  # a folder in MuseTalk's models/ layout (checked when it loads)
        return "musetalk", Path(checkpoint or Path(checkpoint_dir) / MUSETALK_FOLDER)
    checkpoint = checkpoint or find_checkpoint(checkpoint_dir)
    if checkpoint is None or not Path(checkpoint).is_file():
        if name == "wav2lip":
            wanted = checkpoint or checkpoint_dir / WAV2LIP_FILES[0]
            raise EngineError(
                f"the wav2lip engine needs a checkpoint: {wanted} not found "
                f"(run `python -m heygem models download`, or put one of {', '.join(WAV2LIP_FILES)} "
                f"in {checkpoint_dir}; see its README.md)"
            )
        log.warning(
            "no Wav2Lip checkpoint in %s: using the loudness engine (not real lip-sync)",
            checkpoint_dir,
        )
        return "loudness", None
    return "wav2lip", Path(checkpoint)


# Frames per model call, measured best per runtime on 2 CPU cores (bench/, docs/performance.md); CUDA: 64.
DEFAULT_BATCH = {
    "torch": 8,
    "onnx": 16,
    "onnx-int8": 16,
    "openvino": 16,
    "openvino-bf16": 16,
    "openvino-int8": 16,
    "cuda": 64,
}


def create_engine(
    name: str,
    checkpoint: Path | None,
    device: str,
    batch_size: int | None,
    runtime: str = "torch",
    cache_dir: Path | None = None,
    musetalk_margin: int = 10,
) -> Engine:
    """Build a resolved engine; the Wav2Lip network is loaded once per process here, on
    ``runtime`` (see :mod:`heygem.lipsync.runtimes`; exported models are cached in ``cache_dir``;
    ``auto`` on a CPU is decided by the int8 gate, :mod:`heygem.lipsync.gate`).
    ``musetalk_margin``: pixels the musetalk engine adds below each face crop (upstream's
    ``extra_margin``)."""
    if engine_name(name) == "loudness":
        from heygem.lipsync.loudness import LoudnessEngine

        return LoudnessEngine()
    if engine_name(name) == "musetalk":
        from heygem.lipsync.musetalk.engine import load_musetalk  # diffusers only when needed

        return load_musetalk(checkpoint, device, batch_size, runtime, musetalk_margin)
    from heygem.lipsync.gate import choose_runtime
    from heygem.lipsync.runtimes import load_runtime  # torch only when needed

    try:
        runtime, gate = choose_runtime(runtime, checkpoint, device, cache_dir)
        loaded = load_runtime(runtime, checkpoint, device, cache_dir)
    except (HeygemError, ValueError) as exc:  # a ModelLoadError among them
        raise EngineError(str(exc)) from None
    kind = "cuda" if device.startswith("cuda") else "cpu"  # fp16 on CUDA, fp32 on the CPU
    resume_key = f"wav2lip-{file_digest(checkpoint)}-{runtime}-{kind}"
    batch = batch_size or DEFAULT_BATCH["cuda" if kind == "cuda" else runtime]
    return Wav2LipEngine(loaded, batch, resume_key, gate)


class NetworkEngine:
    """What the engines with a network share: crops and pastes on a pool of threads, and the
    network's batches, halved on a GPU out-of-memory."""

    def __init__(self, runtime, batch_size: int, resume_key: str, gate=None):
        self.runtime = runtime  # has predict(audio windows, crops) -> faces: the network where it runs
        self.batch_size = batch_size
        self.resume_key = resume_key  # weights' SHA-256, runtime and device kind
        self.gate = gate  # heygem.lipsync.gate.Int8Verdict when the int8 gate chose the runtime
        self.model_seconds = 0.0  # time spent in the network, summed over every call
        self._pool: ThreadPoolExecutor | None = None  # crops and pastes, one thread per core

    def _each(self, work: Callable, items) -> list:
        """``work`` on every item, in a pool of one thread per usable core (OpenCV and numpy
        release the GIL, so on a big machine crop and paste keep up with a fast GPU)."""
        if usable_cores() == 1:
            return [work(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(usable_cores(), thread_name_prefix="heygem-paste")
        return list(self._pool.map(work, items))

    def _predict(self, audio: np.ndarray, crops: np.ndarray) -> np.ndarray:
        """The network on a batch; on a GPU out-of-memory the batch is halved (for good) and
        the halves run one after the other, down to single frames."""
        if len(crops) > self.batch_size:  # a batch made before an earlier halving
            step = self.batch_size
            return np.concatenate(
                [self._predict(audio[k : k + step], crops[k : k + step]) for k in range(0, len(crops), step)]
            )
        try:
            return self.runtime.predict(audio, crops)
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
            [self._predict(audio[:half], crops[:half]), self._predict(audio[half:], crops[half:])]
        )


class Wav2LipEngine(NetworkEngine):
    name = "wav2lip"
    audio_features = WAV2LIP_MEL

    def render(self, frames, faces, mels) -> None:
        todo = [i for i, face in enumerate(faces) if face is not None]
        if not todo:
            return  # frames without a face skip the model
        crops = np.stack(self._each(lambda i: crop_face(frames[i], faces[i].crop), todo))
        started = time.perf_counter()
        predicted = self._predict(mels[todo], crops)  # (n, 96, 96, 3) uint8 BGR
        self.model_seconds += time.perf_counter() - started

        def put_back(k: int) -> None:
            face = faces[todo[k]]
            paste(frames[todo[k]], uncrop_face(predicted[k], face.crop), face.crop, face.blend_mask())

        self._each(put_back, range(len(todo)))


def _out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (or an older RuntimeError saying so), without importing torch."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def _release_gpu_memory() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
