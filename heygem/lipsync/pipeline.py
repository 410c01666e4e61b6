"""One video: probe, face track (pass 1), chunked lip-sync (pass 2), mux.

How the chunking works: the output timeline has one frame per 1/fps of narration. It is cut
into chunks of ``chunk_seconds``; each chunk streams its source frames (ping-pong or loop when
the narration is longer than the video), renders them in engine-sized batches and encodes them
to a segment of its own, decoding, rendering and encoding at once in three threads with
bounded queues (:mod:`heygem.lipsync.render`), so memory does not grow with length. Whether
the face enhancer runs is decided once per video, after pass 1 (:mod:`heygem.lipsync.enhancing`);
when it does, it is a fourth stage between the engine and the encoder. Face boxes
are detected on keyframes and smoothed over the whole video first (:mod:`heygem.faces.trackpass`;
a video seen before takes its track from the cache), so nothing changes at a chunk boundary. A
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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from heygem.errors import Cancelled, HeygemError, MediaError
from heygem.faces import TrackCache, TrackResult, TrackSettings, face_track
from heygem.lipsync.blend import FACE_SIZE
from heygem.lipsync.engines import Engine, runtime_of
from heygem.lipsync.enhancing import Enhancers, EnhanceStep
from heygem.lipsync.options import SyncOptions
from heygem.lipsync.render import ChunkPlan, StageSeconds, render_chunk
from heygem.lipsync.results import Progress, ProgressHook, VideoResult
from heygem.media import video as vio
from heygem.media.audio import frame_count_for
from heygem.media.encode import mux
from heygem.media.narration import Narration
from heygem.states import ItemStatus, Stage

log = logging.getLogger("heygem")

# Share of a video's progress bar per stage (detection is ~10x cheaper per frame than the model).
DETECT_SHARE, MUX_SHARE = 0.10, 0.03


class Syncer:
    """Lip-syncs videos with one engine and one detector, both loaded once and reused."""

    def __init__(
        self,
        engine: Engine,
        detector,
        landmarker,
        options: SyncOptions,
        track_cache: TrackCache | None = None,
        enhancers: Enhancers | None = None,
    ):
        self.engine = engine
        self.detector = detector
        self.landmarker = landmarker
        self.options = options
        self.track_cache = track_cache  # face tracks of videos seen before; None: no caching
        self.enhancers = enhancers  # chooses and loads the face enhancer; None: never one

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
        report(Progress(video.name, Stage.PROBING))
        info = vio.probe(video)
        stages = {"probe": time.monotonic() - started}
        narration.prepare(self.engine.audio_features)  # once per narration and kind (whisper: seconds)
        n_out = frame_count_for(narration.seconds, info.fps)
        order = vio.frame_order(n_out, info.n_frames, self.options.frame_order)
        pass1 = self._face_track(info, min(info.n_frames, n_out), report)
        stages["detect"] = pass1.seconds
        missing_faces = int(np.isnan(pass1.track.boxes[order, 0]).sum())
        face_size = getattr(self.engine, "face_size", FACE_SIZE)  # the enhancer's auto rule scales from it
        enhance = (
            self.enhancers.step(self.options, pass1.track, order, info, face_size) if self.enhancers else None
        )
        busy = self._render(narration, info, pass1, order, work_dir, report, enhance)
        stages.update(asdict(busy.seconds))
        report(Progress(video.name, Stage.MUXING, busy.chunks, busy.chunks, n_out, n_out, 1 - MUX_SHARE))
        mux_started = time.monotonic()
        output = mux(busy.segments, narration.path, narration.seconds, dest, self.options.encode)
        stages["mux"] = time.monotonic() - mux_started
        shutil.rmtree(work_dir, ignore_errors=True)
        report(Progress(video.name, Stage.DONE, busy.chunks, busy.chunks, n_out, n_out, 1.0))
        seconds = time.monotonic() - started
        busy_text = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
        log.info(
            "%s: done in %.1f s (%.1f frames/s) -> %s; busy seconds %s",
            video.name,
            seconds,
            n_out / seconds,
            output.name,
            busy_text,
        )
        return VideoResult(
            video,
            ItemStatus.DONE,
            output,
            frames=n_out,
            frames_without_face=missing_faces,
            seconds=seconds,
            engine=self.engine.name,
            detector=self.detector.name,
            runtime=runtime_of(self.engine),
            enhancer=enhance.enhancer.kind if enhance else "none",
            stage_seconds={k: round(v, 3) for k, v in stages.items()},
            track_cached=pass1.cached,
            detected_frames=pass1.detected_frames,
            resumed_chunks=busy.attempts.count(0),
            chunk_attempts=busy.attempts,
        )

    def preprocess(self, video: Path, progress: ProgressHook | None = None) -> TrackResult:
        """Fill the face-track cache for every frame of ``video`` ahead of time (the same
        track a later :meth:`run` with these settings reads, whatever its narration)."""
        report = progress or (lambda _p: None)
        report(Progress(video.name, Stage.PROBING))
        info = vio.probe(video)
        result = self._face_track(info, info.n_frames, report)
        report(Progress(video.name, Stage.DONE, 0, 0, info.n_frames, info.n_frames, 1.0))
        return result

    def _face_track(self, info: vio.VideoInfo, n_frames: int, report: ProgressHook) -> TrackResult:
        """Pass 1: the face track of the source frames that will be used (cached)."""
        options = self.options
        settings = TrackSettings(
            options.keyframe_interval, options.smooth_window, face_point=options.face_point
        )

        def detecting(done: int, total: int) -> None:
            fraction = DETECT_SHARE * done / max(1, total)
            report(Progress(info.path.name, Stage.DETECTING, 0, 0, done, total, fraction))

        return face_track(
            info, n_frames, self.detector, self.landmarker, settings, self.track_cache, detecting
        )

    def _render(
        self, narration, info, pass1: TrackResult, order, work_dir: Path, report, enhance: EnhanceStep | None
    ) -> _Rendered:
        """Pass 2: every chunk not finished before, each to its own segment."""
        n_out = len(order)
        chunk_len = max(1, round(self.options.chunk_seconds * info.fps))
        starts = range(0, n_out, chunk_len)
        enhancer_key = enhance.enhancer.resume_key if enhance else "none"
        segments = self._prepare_work_dir(work_dir, narration, info, n_out, chunk_len, enhancer_key)
        log.info("%s: %d frames at %.3f fps in %d chunk(s)", info.path.name, n_out, info.fps, len(starts))
        seconds = StageSeconds()
        attempts = []
        for c, start in enumerate(starts):
            if segments[c].exists():
                log.info("%s: chunk %d/%d already done", info.path.name, c + 1, len(starts))
                attempts.append(0)
                continue
            frames = np.arange(start, min(start + chunk_len, n_out))
            plan = ChunkPlan(
                info,
                pass1.track,
                frames,
                order[frames],
                self.options.pads,
                self.options.sync_offset,
                self.options.mask,
                self.options.overlay,
                enhance,
            )
            where = (c + 1, len(starts), n_out)
            busy, tries = self._chunk_with_retry(narration, plan, segments[c], where, report)
            seconds.add(busy)
            attempts.append(tries)
        return _Rendered(segments, len(starts), seconds, attempts)

    def _prepare_work_dir(self, work_dir, narration, info, n_out, chunk_len, enhancer_key) -> list[Path]:
        """Segment paths for each chunk; segments of an earlier identical attempt are kept.

        Identical means the same inputs, the same options and the same models: the engine's
        and the enhancer's resume keys (weights' digest, runtime and precision) and the
        detector's cache key, so restarting after adding a checkpoint or a detector redoes the
        video. The inputs are known by name, size and modification time, not by path: a worker
        that mounts the shared workspace elsewhere resumes another's chunks (the work folder is
        the item's own)."""
        resume = {
            "video": [info.path.name, info.path.stat().st_size, info.path.stat().st_mtime_ns],
            "audio": [narration.path.name, narration.n_samples],
            "frames": n_out,
            "chunk_frames": chunk_len,
            "fps": info.fps,
            "options": asdict(self.options),
            "engine": self.engine.resume_key,
            "enhancer": enhancer_key,
            "detector": self.detector.cache_key,
        }
        key = hashlib.sha256(json.dumps(resume, sort_keys=True, default=str).encode()).hexdigest()
        plan_file = work_dir / "plan.sha256"
        if not plan_file.exists() or plan_file.read_text() != key:
            shutil.rmtree(work_dir, ignore_errors=True)
            work_dir.mkdir(parents=True)
            plan_file.write_text(key)
        n_chunks = -(-n_out // chunk_len)
        return [work_dir / f"segment_{c:05d}.mp4" for c in range(n_chunks)]

    def _chunk_with_retry(
        self, narration, plan: ChunkPlan, segment, where, report
    ) -> tuple[StageSeconds, int]:
        """Render one chunk, retrying it once; returns its busy seconds and the tries it took."""
        for attempt in (1, 2):
            try:
                return self._chunk(narration, plan, segment, where, report), attempt
            except (Cancelled, KeyboardInterrupt):
                raise
            except Exception as exc:
                if attempt == 2 or isinstance(exc, MediaError):
                    raise
                bug = not isinstance(exc, HeygemError)  # keep its traceback
                name = plan.info.path.name
                log.warning(
                    "%s: chunk %d/%d failed (%s); retrying it once", name, *where[:2], exc, exc_info=bug
                )
        raise AssertionError("unreachable")

    def _chunk(self, narration, plan: ChunkPlan, segment, where, report) -> StageSeconds:
        chunk, n_chunks, n_out = where
        started = time.monotonic()
        start = int(plan.out_frames[0])
        name = plan.info.path.name

        def rendered(frames_done: int) -> None:
            done = start + frames_done
            fraction = DETECT_SHARE + (1 - DETECT_SHARE - MUX_SHARE) * done / n_out
            report(Progress(name, Stage.LIPSYNC, chunk, n_chunks, done, n_out, fraction))

        encode, nice = self.options.encode, self.options.stage_nice
        busy = render_chunk(self.engine, narration, plan, segment, encode, rendered, nice)
        frames, seconds = len(plan.out_frames), time.monotonic() - started
        log.info("%s: chunk %d/%d (%d frames) in %.1f s", name, chunk, n_chunks, frames, seconds)
        return busy


@dataclass
class _Rendered:
    segments: list[Path]  # one finished segment per chunk, in order
    chunks: int
    seconds: StageSeconds  # busy seconds of this run's chunks (not of those resumed)
    attempts: list[int]  # per chunk, tries it took this run; 0 for a chunk resumed from before
