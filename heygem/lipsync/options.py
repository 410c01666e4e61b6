"""What a video is made with: the pipeline's options, and the process's engine settings.

:func:`sync_options` is the one mapping from a batch's :class:`~heygem.settings.BatchSettings`
to the pipeline's :class:`SyncOptions`; :class:`EngineSettings` says which models a process
loads, and where they and its caches live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from heygem.lipsync.enhancing import EnhanceOptions
from heygem.lipsync.masks import MaskOptions
from heygem.media.encode import EncodeOptions
from heygem.settings import DEFAULT_CHECKPOINT_DIR, DEFAULT_PADS, BatchSettings

# Niceness steps the decoder and encoder threads and x264 run below the model (0: all alike).
# On 2 cores they then fill the gaps the model leaves rather than take its cores mid-layer;
# the bounded queues between the stages keep them from falling behind (docs/performance.md).
STAGE_NICE = 10


@dataclass(frozen=True)
class SyncOptions:
    chunk_seconds: float = 30.0  # length of one chunk of output, seconds
    pads: tuple[int, int, int, int] = DEFAULT_PADS  # face box padding top, bottom, left, right (px)
    frame_order: str = "pingpong"  # narration longer than video: "pingpong" or "loop"
    sync_offset: int = 0  # frames; mel window shift (0 = original Wav2Lip inference, -1 = training)
    smooth_window: int = 5  # frames averaged when smoothing face boxes over time
    encode: EncodeOptions = field(default_factory=EncodeOptions)  # output size and quality
    keyframe_interval: int = 8  # frames between face detections (1: every frame), see trackpass
    face_point: tuple[float, float] | None = None  # x, y source pixels of the face to follow
    mask: MaskOptions = field(default_factory=MaskOptions)  # which pixels the new face replaces
    overlay: bool = False  # draw the face box and the mask outline on the output (tuning)
    enhance: EnhanceOptions = field(default_factory=EnhanceOptions)  # the face enhancer after the engine
    stage_nice: int = STAGE_NICE  # decoding, encoding and x264 run this much nicer than the model


def sync_options(settings: BatchSettings, video: str | None = None) -> SyncOptions:
    """A batch's settings -> the pipeline's options for ``video`` (its uploaded name, which
    may have a face point of its own)."""
    return SyncOptions(
        chunk_seconds=settings.chunk_seconds,
        pads=tuple(settings.pads),
        frame_order=settings.frame_order,
        sync_offset=settings.sync_offset,
        encode=EncodeOptions(height=settings.height, crf=settings.x264_crf),
        keyframe_interval=settings.keyframe_interval,
        face_point=settings.face_point_for(video),
        mask=MaskOptions(settings.mask, settings.mask_size, settings.mask_feather),
        overlay=settings.overlay,
        enhance=EnhanceOptions(settings.enhancer, settings.enhancer_blend),
    )


@dataclass(frozen=True)
class EngineSettings:
    engine: str = "auto"  # "auto" | "wav2lip" | "musetalk" | "loudness"
    checkpoint: Path | None = (
        None  # Wav2Lip weights (musetalk: its models/ folder); None: looked up in checkpoint_dir
    )
    detector: str = "auto"  # "auto" | "blazeface" | "sfd"
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR  # where wav2lip*.pth and s3fd.pth live
    batch_size: int | None = None  # frames per model call; None: measured default per device
    runtime: str = "auto"  # one of settings.RUNTIMES; auto: openvino(-bf16) on CPU, torch on CUDA
    cache_dir: Path | None = None  # face tracks + exported models; None: ~/.cache/heygem
    track_cache_mb: int = 256  # size cap of the face-track cache; 0 turns it off
    enhancer_checkpoint: Path | None = (
        None  # the face enhancer's weights; None: its official name in checkpoint_dir
    )
    enhancer_runtime: str = "auto"  # one of settings.ENHANCER_RUNTIMES; auto: openvino on CPU, torch on CUDA
    musetalk_margin: int = 10  # px the musetalk engine adds below each face crop (upstream's extra_margin)
