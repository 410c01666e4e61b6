"""The face enhancer as a step of pass 2, after any engine's render and before encoding.

Per video, :class:`Enhancers` decides once whether the enhancer runs and which restorer
(:func:`heygem.enhance.choose`: the setting, the device, the weights, how much the 96 px patch
is scaled up) and loads that restorer once per process. Per batch of rendered frames,
:class:`EnhanceStep` restores each face (:class:`heygem.enhance.FaceEnhancer`) and paints it
back inside the same mask the lip-sync used (the mouth and jaw the engine redrew, feathered),
at ``blend`` %: every pixel outside that mask keeps the lip-synced frame's exact bytes.
Frames are (H, W, 3) uint8 BGR.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heygem.enhance import (
    EnhancerChoice,
    FaceEnhancer,
    FaceToEnhance,
    choose,
    load_restorer,
    resolve_runtime,
)
from heygem.faces import FaceTrack
from heygem.lipsync.blend import FACE_SIZE, padded_box, paste
from heygem.lipsync.engines import FaceRegion
from heygem.media.files import file_digest
from heygem.settings import DEFAULT_ENHANCER_BLEND

log = logging.getLogger("heygem")

ENHANCER_BATCH = {"cuda": 8, "cpu": 1}  # faces per restorer call; on the CPU OpenVINO runs one
# face on every core, so a bigger batch adds memory (about 0.7 GB per GFPGAN face), not speed


@dataclass(frozen=True)
class EnhanceOptions:
    enhancer: str = "auto"  # one of settings.ENHANCERS
    blend: float = DEFAULT_ENHANCER_BLEND  # % of the restored face painted in, inside the mask


@dataclass(frozen=True)
class EnhanceStep:
    """The enhancer as one video runs it."""

    enhancer: FaceEnhancer  # the loaded restorer
    blend: float  # % of the restored face painted in (0-100)

    def apply(self, frames: list[np.ndarray], faces: list[FaceRegion | None]) -> None:
        """Enhance in place every face that has its five points; frames B x (H, W, 3) uint8
        BGR, faces B regions (None: no face, the frame stays as it is)."""
        todo = [i for i, face in enumerate(faces) if face is not None and face.landmarks is not None]
        if not todo or self.blend <= 0:
            return
        jobs = [FaceToEnhance(faces[i].crop, faces[i].landmarks) for i in todo]
        restored = self.enhancer.enhance([frames[i] for i in todo], jobs)
        for i, result in zip(todo, restored, strict=True):
            face = faces[i]
            mask = face.blend_mask() * np.float32(self.blend / 100) * result.coverage
            paste(frames[i], result.face, face.crop, mask)


class Enhancers:
    """The process's face enhancers: chosen per video, each restorer loaded once."""

    def __init__(
        self,
        device: str,
        checkpoint_dir: Path,
        checkpoint: Path | None = None,
        runtime: str = "auto",
        cache_dir: Path | None = None,
    ):
        self.device = device  # "cpu" | "cuda" | "cuda:N"
        self.checkpoint_dir = Path(checkpoint_dir)  # where GFPGANv1.4.pth and RestoreFormer++.ckpt live
        self.checkpoint = checkpoint  # --enhancer-checkpoint: the weights of whichever restorer runs
        self.runtime = runtime  # one of settings.ENHANCER_RUNTIMES
        self.cache_dir = cache_dir  # exported graphs
        self._loaded: dict[tuple[str, Path], FaceEnhancer] = {}

    def step(
        self, options, track: FaceTrack, sources: np.ndarray, info, face_size: int = FACE_SIZE
    ) -> EnhanceStep | None:
        """The enhancer of one whole video, or None, decided once and logged with why: the
        video (``info``, a VideoInfo) shows source frames ``sources``, its faces in ``track``;
        ``options`` are its SyncOptions (enhance, pads); ``face_size``: px of the face the
        engine paints (96 for Wav2Lip, 256 for MuseTalk). Raises HeygemError (a missing or
        bad weights file, named)."""
        frame_hw = (info.height, info.width)
        choice = self.choose(options.enhance, track, sources, options.pads, frame_hw, face_size)
        log.info("%s: %s", info.path.name, choice.reason)
        enhancer = self.load(choice)
        return EnhanceStep(enhancer, options.enhance.blend) if enhancer else None

    def choose(
        self,
        options: EnhanceOptions,
        track: FaceTrack,
        sources: np.ndarray,
        pads,
        frame_hw,
        face_size: int = FACE_SIZE,
    ) -> EnhancerChoice:
        """The decision for a video whose output shows source frames ``sources`` (faces
        from ``track``, padded by ``pads`` in a frame of ``frame_hw`` (h, w)), painted by the
        engine at ``face_size`` px."""
        upscale, frames = face_upscale(track, sources, pads, frame_hw, face_size)
        return choose(options.enhancer, self.device, self.checkpoint_dir, self.checkpoint, upscale, frames)

    def load(self, choice: EnhancerChoice) -> FaceEnhancer | None:
        """The loaded enhancer ``choice`` asks for (None: off). Raises HeygemError (a missing or
        bad file, named)."""
        if choice.restorer is None:
            return None
        key = (choice.restorer, choice.checkpoint)
        if key not in self._loaded:
            runtime = resolve_runtime(self.runtime, self.device)
            restorer = load_restorer(choice.restorer, choice.checkpoint, self.device, runtime, self.cache_dir)
            kind = "cuda" if self.device.startswith("cuda") else "cpu"
            resume_key = f"{choice.restorer}-{file_digest(choice.checkpoint)}-{runtime}-{kind}"
            self._loaded[key] = FaceEnhancer(choice.restorer, restorer, ENHANCER_BATCH[kind], resume_key)
        return self._loaded[key]


def face_upscale(
    track: FaceTrack, sources: np.ndarray, pads, frame_hw, face_size: int = FACE_SIZE
) -> tuple[float | None, int]:
    """(median over the frames shown of the padded crop's shorter side / the engine's
    ``face_size`` px patch, or None without a face; how many of those frames have a face)."""
    boxes = track.boxes[sources]
    found = boxes[~np.isnan(boxes).any(axis=1)]
    if not len(found):
        return None, 0
    unique, counts = np.unique(found, axis=0, return_counts=True)
    sides = [min(x2 - x1, y2 - y1) for x1, y1, x2, y2 in (padded_box(b, pads, frame_hw) for b in unique)]
    return float(np.median(np.repeat(sides, counts))) / face_size, len(found)
