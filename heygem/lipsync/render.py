"""Pass 2 for one chunk: decode -> lip-sync -> [enhance] -> encode, as overlapping stages.

A reader thread decodes the chunk's source frames (ping-pong order included) and gathers
them into engine-sized batches with their face regions and audio windows; the calling thread
renders each batch with the engine (the model); when the video has the face enhancer, a
thread of its own restores the faces of each rendered batch (:mod:`heygem.lipsync.enhancing`);
a writer thread converts the finished frames to yuv420p and pipes them to the segment's
encoder. With one batch waiting between stages, at most about five (seven with the enhancer)
batches of frames are alive at once, whatever the chunk length (see
:mod:`heygem.lipsync.stages`). Frames are (H, W, 3) uint8 BGR throughout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from heygem.faces import FaceTrack
from heygem.lipsync.blend import padded_box
from heygem.lipsync.engines import Engine, FaceRegion
from heygem.lipsync.enhancing import EnhanceStep
from heygem.lipsync.heap import release_freed_memory
from heygem.lipsync.masks import MaskOptions, draw_outline
from heygem.lipsync.stages import Prefetch, Sink
from heygem.media import video as vio
from heygem.media.encode import EncodeOptions, SegmentWriter
from heygem.media.features import AudioFeatures
from heygem.media.narration import Narration

log = logging.getLogger("heygem")

MIN_CROP = 8  # pixels: a padded face box narrower or shorter than this is treated as no face


@dataclass(frozen=True)
class ChunkPlan:
    """One chunk of output frames and where its pixels and audio come from."""

    info: vio.VideoInfo  # the source video
    track: FaceTrack  # face per source frame, source pixels
    out_frames: np.ndarray  # (n,) int64 output frame numbers of this chunk
    sources: np.ndarray  # (n,) int64 source frame shown at each of them
    pads: tuple[int, int, int, int]  # face box padding top, bottom, left, right (px)
    sync_offset: int  # frames; mel window shift
    mask: MaskOptions = MaskOptions()  # which pixels of each face crop the engine replaces
    overlay: bool = False  # draw each face's crop box and mask outline on the output
    enhance: EnhanceStep | None = None  # the face enhancer after the engine; None: off


@dataclass
class StageSeconds:
    decode: float = 0.0  # reader thread busy: decoding, colour conversion, batching
    render: float = 0.0  # calling thread busy in the engine (crop, model, paste)
    model: float = 0.0  # of which in the network itself (engines that report it)
    enhance: float = 0.0  # enhancer thread busy: alignment, restorer, paste (0 without it)
    encode: float = 0.0  # writer thread busy: yuv conversion and piping to x264

    def add(self, other: StageSeconds) -> None:
        for name in ("decode", "render", "model", "enhance", "encode"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


FrameBatch = tuple[list[np.ndarray], list[FaceRegion | None], np.ndarray]


def render_chunk(
    engine: Engine,
    narration: Narration,
    plan: ChunkPlan,
    segment: Path,
    encode: EncodeOptions,
    on_batch: Callable[[int], None],
    nice: int = 0,
) -> StageSeconds:
    """Lip-sync the chunk into the H.264 ``segment``; ``on_batch(frames_done)`` is called in
    this thread after each rendered batch and may raise to stop (cancellation). The decoder
    and encoder threads and x264 run ``nice`` steps nicer than this thread (the model's)."""
    info = plan.info
    writer = SegmentWriter(segment, (info.width, info.height), info.fps, replace(encode, nice=nice))
    model_before = getattr(engine, "model_seconds", 0.0)
    features = engine.audio_features
    batches = Prefetch(
        lambda: _batches(engine.batch_size, narration, plan, features), 1, "heygem-decode", nice
    )
    sink = Sink(lambda frames: [writer.write(frame) for frame in frames], 1, "heygem-encode", nice)
    finish = _finisher(plan, sink)  # the enhancer's stage, or the writer's (the model's priority)
    times = StageSeconds()
    try:
        done = 0
        for frames, faces, mels in batches:
            started = time.perf_counter()
            engine.render(frames, faces, mels)
            times.render += time.perf_counter() - started
            finish.put((frames, faces))
            done += len(frames)
            on_batch(done)
        for stage in (finish, sink):  # in order: the enhancer's last batch reaches the writer
            stage.close()
        writer.close()
    except BaseException:
        for stage in (finish, sink):
            stage.abort()
        writer.abort()  # unblocks a write in progress
        for stage in (finish, sink):
            stage.join()
        raise
    finally:
        batches.close()
        release_freed_memory()
    times.decode, times.encode = batches.busy, sink.busy
    times.enhance = finish.busy
    times.model = getattr(engine, "model_seconds", 0.0) - model_before
    return times


def _finisher(plan: ChunkPlan, sink: Sink):
    """What takes each rendered (frames, faces) batch to ``sink``: with the enhancer, a stage
    of its own that enhances the faces, draws the overlay and passes the frames on; without
    it, the overlay drawn in the calling thread (nothing to overlap)."""

    def finish(batch) -> None:
        frames, faces = batch
        if plan.enhance is not None:
            plan.enhance.apply(frames, faces)
        if plan.overlay:  # after the enhancer, so it restores the face, not the lines
            draw_overlays(frames, faces)
        sink.put(frames)

    if plan.enhance is None:
        return _Inline(finish)
    return Sink(finish, 1, "heygem-enhance")


class _Inline:
    """A stage's interface, its work done in the calling thread at ``put``."""

    busy = 0.0

    def __init__(self, work):
        self.put = work

    def close(self) -> None:
        pass

    abort = join = close


def _batches(
    size: int, narration: Narration, plan: ChunkPlan, features: AudioFeatures
) -> Iterator[FrameBatch]:
    """Frames of the chunk in batches of ``size``, each with its face regions and its
    windows of the engine's audio ``features``."""
    frames = vio.read_frames(plan.info, plan.sources.tolist())
    try:
        for b in range(0, len(plan.sources), size):
            idx = slice(b, min(b + size, len(plan.sources)))
            block = [next(frames) for _ in range(idx.stop - idx.start)]
            faces = [region(plan.track, s, plan.pads, plan.info, plan.mask) for s in plan.sources[idx]]
            audio = narration.windows_for(plan.out_frames[idx], plan.info.fps, plan.sync_offset, features)
            yield block, faces, audio
    finally:
        frames.close()


def region(
    track: FaceTrack,
    source: int,
    pads: tuple[int, int, int, int],
    info: vio.VideoInfo,
    mask: MaskOptions,
) -> FaceRegion | None:
    """The padded crop, lip box and jaw line of source frame ``source``, None without a
    usable face."""
    box = track.boxes[source]
    if np.isnan(box[0]):
        return None
    crop = padded_box(box, pads, (info.height, info.width))
    if crop[2] - crop[0] < MIN_CROP or crop[3] - crop[1] < MIN_CROP:
        return None
    mouth, jaw, landmarks = track.mouths[source], track.jaws[source], track.landmarks[source]
    mouth = None if np.isnan(mouth).any() else tuple(float(v) for v in mouth)
    jaw = None if np.isnan(jaw).any() else jaw
    return FaceRegion(crop, mouth, jaw, mask, None if np.isnan(landmarks).any() else landmarks)


def draw_overlays(frames: list[np.ndarray], faces: list[FaceRegion | None]) -> None:
    """The debug view: each face's crop box and mask outline drawn on its frame, in place."""
    for frame, face in zip(frames, faces, strict=True):
        if face is not None:
            draw_outline(frame, face.crop, face.blend_mask())
