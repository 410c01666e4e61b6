"""One video: probe, face track (pass 1), chunked lip-sync (pass 2), mux.

How the chunking works: the output timeline has one frame per 1/fps of narration. It is cut
into chunks of ``chunk_seconds``; each chunk streams its source frames (ping-pong or loop when
the narration is longer than the video), renders them in engine-sized batches and encodes them
to a segment of its own, decoding, rendering and encoding at once in three threads with
bounded queues (:mod:`heygem.render`), so memory does not grow with length. Face boxes are
detected on keyframes and smoothed over the whole video first (:mod:`heygem.trackpass`; a
video seen before takes its track from the cache), so nothing changes at a chunk boundary. A
chunk that fails is redone once; a finished chunk's segment is kept, so a restarted job
resumes after the last finished chunk. The segments are finally joined by stream copy and
muxed with the narration.

Progress and cancellation travel through one hook, ``progress(Progress)``; raising
:class:`heygem.errors.Cancelled` (or anything else) from it stops the video.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from heygem import video as vio
from heygem.audio import Narration, frame_count_for
from heygem.encode import EncodeOptions, mux
from heygem.engines import Engine
from heygem.errors import Cancelled, HeygemError, MediaError
from heygem.faces import TrackBuilder
from heygem.render import ChunkJob, StageSeconds, render_chunk
from heygem.trackcache import TrackCache
from heygem.trackpass import TrackResult, TrackSettings, detection_size, face_track

log = logging.getLogger("heygem")

# Share of a video's progress bar per stage (detection is ~10x cheaper per frame than the model).
DETECT_SHARE, MUX_SHARE = 0.10, 0.03


@dataclass(frozen=True)
class SyncOptions:
    chunk_seconds: float = 30.0  # length of one chunk of output, seconds
    pads: tuple[int, int, int, int] = (
        0,
        10,
        0,
        0,
    )  # face box padding top, bottom, left, right (px)
    frame_order: str = "pingpong"  # narration longer than video: "pingpong" or "loop"
    sync_offset: int = 0  # frames; mel window shift (0 = original Wav2Lip inference, -1 = training)
    smooth_window: int = 5  # frames averaged when smoothing face boxes over time
    encode: EncodeOptions = field(default_factory=EncodeOptions)  # output size and quality
    keyframe_interval: int = 8  # frames between face detections (1: every frame), see trackpass


@dataclass(frozen=True)
class Progress:
    video: str  # file name of the video
    stage: str  # "probing" | "detecting" | "lipsync" | "muxing" | "done"
    chunk: int  # 1-based chunk in lip-sync, 0 before
    chunks: int  # number of chunks
    frames_done: int  # frames finished in this stage
    frames_total: int  # frames in this stage
    fraction: float  # 0..1 of the whole video


ProgressHook = Callable[[Progress], None]


@dataclass
class VideoResult:
    video: Path
    status: str  # "done" | "failed" | "cancelled"
    output: Path | None = None
    error: str | None = None
    frames: int = 0  # output frames
    frames_without_face: int = 0  # output frames passed through unchanged
    seconds: float = 0.0  # wall time
    engine: str = ""
    detector: str = ""
    # Busy seconds per stage: probe, detect (pass 1; ~0 from the cache), decode, render (of
    # which model), encode, mux. decode, render and encode overlap in time.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    track_cached: bool = False  # the face track came from the cache (no detection)


class Syncer:
    """Lip-syncs videos with one engine and one detector, both loaded once and reused."""

    def __init__(
        self,
        engine: Engine,
        detector,
        landmarker,
        options: SyncOptions,
        track_cache: TrackCache | None = None,
    ):
        self.engine = engine
        self.detector = detector
        self.landmarker = landmarker
        self.options = options
        self.track_cache = track_cache  # face tracks of videos seen before; None: no caching

    def run(
        self,
        narration: Narration,
        video: Path,
        dest: Path,
        work_dir: Path,
        progress: ProgressHook | None = None,
    ) -> VideoResult:
        """Lip-sync ``video`` to ``narration``; the result is published at ``dest`` or a free
        name beside it. Raises MediaError / HeygemError / Cancelled; ``work_dir`` keeps the
        finished chunks until the video is complete."""
        started = time.monotonic()
        report = progress or (lambda _p: None)
        report(Progress(video.name, "probing", 0, 0, 0, 0, 0.0))
        info = vio.probe(video)
        stages = {"probe": time.monotonic() - started}
        fps = info.fps
        n_out = frame_count_for(narration.seconds, fps)
        order = vio.frame_order(n_out, info.n_frames, self.options.frame_order)
        pass1 = self._face_track(info, min(info.n_frames, n_out), report)
        stages["detect"] = pass1.seconds
        track = pass1.track
        chunk_len = max(1, round(self.options.chunk_seconds * fps))
        chunks = [(s, min(s + chunk_len, n_out)) for s in range(0, n_out, chunk_len)]
        segments = self._prepare_work_dir(work_dir, narration, info, n_out, chunk_len)
        missing_faces = int(np.isnan(track.boxes[order, 0]).sum())
        log.info(
            "%s: %d frames at %.3f fps in %d chunk(s); %d frames without a face",
            video.name, n_out, fps, len(chunks), missing_faces,
        )  # fmt: skip
        busy = StageSeconds()
        for c, (start, end) in enumerate(chunks):
            if segments[c].exists():
                log.info("%s: chunk %d/%d already done", video.name, c + 1, len(chunks))
                continue
            job = ChunkJob(info, track, np.arange(start, end), order[start:end],
                           self.options.pads, self.options.sync_offset)  # fmt: skip
            busy.add(self._chunk_with_retry(narration, job, segments[c],
                                            (c + 1, len(chunks), n_out), report))  # fmt: skip
        stages.update(asdict(busy))
        report(
            Progress(video.name, "muxing", len(chunks), len(chunks), n_out, n_out, 1 - MUX_SHARE)
        )
        mux_started = time.monotonic()
        output = mux(segments, narration.path, narration.seconds, dest, self.options.encode)
        stages["mux"] = time.monotonic() - mux_started
        shutil.rmtree(work_dir, ignore_errors=True)
        report(Progress(video.name, "done", len(chunks), len(chunks), n_out, n_out, 1.0))
        seconds = time.monotonic() - started
        log.info(
            "%s: done in %.1f s (%.1f frames/s) -> %s; busy seconds %s",
            video.name, seconds, n_out / seconds, output.name,
            ", ".join(f"{k} {v:.1f}" for k, v in stages.items()),
        )  # fmt: skip
        return VideoResult(video, "done", output, None, n_out, missing_faces, seconds,
                           self.engine.name, self.detector.name,
                           {k: round(v, 3) for k, v in stages.items()}, pass1.cached)  # fmt: skip

    def preprocess(self, video: Path, progress: ProgressHook | None = None) -> TrackResult:
        """Fill the face-track cache for every frame of ``video`` ahead of time (the same
        track a later :meth:`run` with these settings reads, whatever its narration)."""
        report = progress or (lambda _p: None)
        report(Progress(video.name, "probing", 0, 0, 0, 0, 0.0))
        info = vio.probe(video)
        result = self._face_track(info, info.n_frames, report)
        report(Progress(video.name, "done", 0, 0, info.n_frames, info.n_frames, 1.0))
        return result

    def _face_track(self, info: vio.VideoInfo, n_frames: int, report: ProgressHook):
        """Pass 1: the face track of the source frames that will be used (cached)."""
        size = detection_size(info)
        builder = TrackBuilder(self.detector, self.landmarker, info.width / size[0])
        settings = TrackSettings(self.options.keyframe_interval, self.options.smooth_window)

        def detecting(done: int, total: int) -> None:
            report(Progress(info.path.name, "detecting", 0, 0, done, total,
                            DETECT_SHARE * done / max(1, total)))  # fmt: skip

        key = getattr(self.detector, "cache_key", self.detector.name)
        return face_track(info, n_frames, builder, settings, self.track_cache, detecting, key)

    def _prepare_work_dir(self, work_dir, narration, info, n_out, chunk_len) -> list[Path]:
        """Segment paths for each chunk; segments of an earlier identical attempt are kept."""
        plan = {
            "video": [str(info.path), info.path.stat().st_size, info.path.stat().st_mtime_ns],
            "audio": [str(narration.path), narration.samples.size],
            "frames": n_out, "chunk_frames": chunk_len, "fps": info.fps,
            "options": asdict(self.options), "engine": self.engine.name,
        }  # fmt: skip
        key = hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()
        plan_file = work_dir / "plan.sha256"
        if not plan_file.exists() or plan_file.read_text() != key:
            shutil.rmtree(work_dir, ignore_errors=True)
            work_dir.mkdir(parents=True)
            plan_file.write_text(key)
        n_chunks = -(-n_out // chunk_len)
        return [work_dir / f"segment_{c:05d}.mp4" for c in range(n_chunks)]

    def _chunk_with_retry(self, narration, job: ChunkJob, segment, where, report):
        for attempt in (1, 2):
            try:
                return self._chunk(narration, job, segment, where, report)
            except (Cancelled, KeyboardInterrupt):
                raise
            except Exception as exc:
                if attempt == 2 or isinstance(exc, MediaError):
                    raise
                log.warning("%s: chunk %d/%d failed (%s); retrying it once",
                            job.info.path.name, where[0], where[1], exc,
                            exc_info=not isinstance(exc, HeygemError))  # a bug: keep its traceback  # fmt: skip

    def _chunk(self, narration, job: ChunkJob, segment, where, report) -> StageSeconds:
        chunk, n_chunks, n_out = where
        started = time.monotonic()
        start = int(job.out_frames[0])
        name = job.info.path.name

        def rendered(frames_done: int) -> None:
            done = start + frames_done
            report(Progress(name, "lipsync", chunk, n_chunks, done, n_out,
                            DETECT_SHARE + (1 - DETECT_SHARE - MUX_SHARE) * done / n_out))  # fmt: skip

        busy = render_chunk(self.engine, narration, job, segment, self.options.encode, rendered)
        log.info("%s: chunk %d/%d (%d frames) in %.1f s", name, chunk, n_chunks,
                 len(job.out_frames), time.monotonic() - started)  # fmt: skip
        return busy


def failure(
    video: Path, exc: BaseException, engine: str, detector: str, seconds: float
) -> VideoResult:
    """A failed or cancelled VideoResult with a one-line reason."""
    if isinstance(exc, Cancelled):
        return VideoResult(
            video, "cancelled", error="cancelled", seconds=seconds, engine=engine, detector=detector
        )
    reason = str(exc) if isinstance(exc, HeygemError) else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, MediaError):  # a MediaError already names its file
        reason = f"{video.name}: {reason}"
    return VideoResult(video, "failed", error=reason.splitlines()[0] if reason else "failed",
                       seconds=seconds, engine=engine, detector=detector)  # fmt: skip
