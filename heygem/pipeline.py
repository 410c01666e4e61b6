"""One video: probe, face track (pass 1), chunked lip-sync (pass 2), mux.

How the chunking works: the output timeline has one frame per 1/fps of narration. It is cut
into chunks of ``chunk_seconds``; each chunk streams its source frames (ping-pong or loop when
the narration is longer than the video), renders them in engine-sized batches and encodes them
to a segment of its own. Only one batch of frames is in memory at a time, so memory does not
grow with length. Face boxes are detected and smoothed over the whole video first, so nothing
changes at a chunk boundary. A chunk that fails is redone once; a finished chunk's segment is
kept, so a restarted job resumes after the last finished chunk. The segments are finally
joined by stream copy and muxed with the narration.

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
from heygem.encode import EncodeOptions, SegmentWriter, mux
from heygem.engines import Engine, FaceRegion
from heygem.errors import Cancelled, HeygemError, MediaError
from heygem.faces import FaceTrack, TrackBuilder, padded_box

log = logging.getLogger("heygem")

DETECT_LONG_SIDE = 640  # pixels: faces are detected on a copy scaled down to this
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


class Syncer:
    """Lip-syncs videos with one engine and one detector, both loaded once and reused."""

    def __init__(self, engine: Engine, detector, landmarker, options: SyncOptions):
        self.engine = engine
        self.detector = detector
        self.landmarker = landmarker
        self.options = options

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
        fps = info.fps
        n_out = frame_count_for(narration.seconds, fps)
        order = vio.frame_order(n_out, info.n_frames, self.options.frame_order)
        track = self._face_track(info, min(info.n_frames, n_out), report)
        chunk_len = max(1, round(self.options.chunk_seconds * fps))
        chunks = [(s, min(s + chunk_len, n_out)) for s in range(0, n_out, chunk_len)]
        segments = self._prepare_work_dir(work_dir, narration, info, n_out, chunk_len)
        missing_faces = int(np.isnan(track.boxes[order, 0]).sum())
        log.info(
            "%s: %d frames at %.3f fps in %d chunk(s); %d frames without a face",
            video.name, n_out, fps, len(chunks), missing_faces,
        )  # fmt: skip
        for c, (start, end) in enumerate(chunks):
            if segments[c].exists():
                log.info("%s: chunk %d/%d already done", video.name, c + 1, len(chunks))
                continue
            self._chunk_with_retry(narration, info, track, order, start, end, segments[c],
                                   (c + 1, len(chunks), n_out), report)  # fmt: skip
        report(
            Progress(video.name, "muxing", len(chunks), len(chunks), n_out, n_out, 1 - MUX_SHARE)
        )
        output = mux(segments, narration.path, narration.seconds, dest, self.options.encode)
        shutil.rmtree(work_dir, ignore_errors=True)
        report(Progress(video.name, "done", len(chunks), len(chunks), n_out, n_out, 1.0))
        seconds = time.monotonic() - started
        log.info(
            "%s: done in %.1f s (%.1f frames/s) -> %s",
            video.name,
            seconds,
            n_out / seconds,
            output.name,
        )
        return VideoResult(video, "done", output, None, n_out, missing_faces, seconds,
                           self.engine.name, self.detector.name)  # fmt: skip

    def _face_track(self, info: vio.VideoInfo, n_frames: int, report: ProgressHook) -> FaceTrack:
        """Pass 1: detect on a small copy of every source frame that will be used."""
        scale = min(1.0, DETECT_LONG_SIDE / max(info.width, info.height))
        size = (max(2, round(info.width * scale)), max(2, round(info.height * scale)))
        builder = TrackBuilder(self.detector, self.landmarker, info.width / size[0])
        started = time.monotonic()
        for i, frame in enumerate(vio.read_frames(info, range(n_frames), size)):
            builder.add(frame)
            if i % 25 == 0 or i == n_frames - 1:
                report(Progress(info.path.name, "detecting", 0, 0, i + 1, n_frames,
                                DETECT_SHARE * (i + 1) / n_frames))  # fmt: skip
        track = builder.finish(self.options.smooth_window)
        log.info(
            "%s: face track of %d frames in %.1f s (%d without a face)",
            info.path.name, n_frames, time.monotonic() - started, track.frames_without_face,
        )  # fmt: skip
        return track

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

    def _chunk_with_retry(self, narration, info, track, order, start, end, segment, where, report):
        for attempt in (1, 2):
            try:
                return self._chunk(
                    narration, info, track, order, start, end, segment, where, report
                )
            except (Cancelled, KeyboardInterrupt):
                raise
            except Exception as exc:
                if attempt == 2 or isinstance(exc, MediaError):
                    raise
                log.warning("%s: chunk %d/%d failed (%s); retrying it once",
                            info.path.name, where[0], where[1], exc, exc_info=True)  # fmt: skip

    def _chunk(self, narration, info, track, order, start, end, segment, where, report) -> None:
        chunk, n_chunks, n_out = where
        started = time.monotonic()
        out_frames = np.arange(start, end)
        sources = order[start:end]
        writer = SegmentWriter(segment, (info.width, info.height), info.fps, self.options.encode)
        batch = self.engine.batch_size
        try:
            frames = vio.read_frames(info, sources.tolist())
            for b in range(0, len(out_frames), batch):
                idx = slice(b, min(b + batch, len(out_frames)))
                block = [next(frames) for _ in range(idx.stop - idx.start)]
                faces = [self._region(track, s, info) for s in sources[idx]]
                mels = narration.windows_for(out_frames[idx], info.fps, self.options.sync_offset)
                self.engine.render(block, faces, mels)
                for frame in block:
                    writer.write(frame)
                done = start + idx.stop
                report(Progress(info.path.name, "lipsync", chunk, n_chunks, done, n_out,
                                DETECT_SHARE + (1 - DETECT_SHARE - MUX_SHARE) * done / n_out))  # fmt: skip
            frames.close()
            writer.close()
        except BaseException:
            writer.abort()
            raise
        log.info("%s: chunk %d/%d (%d frames) in %.1f s", info.path.name, chunk, n_chunks,
                 end - start, time.monotonic() - started)  # fmt: skip

    def _region(self, track: FaceTrack, source: int, info: vio.VideoInfo) -> FaceRegion | None:
        box = track.boxes[source]
        if np.isnan(box[0]):
            return None
        crop = padded_box(box, self.options.pads, (info.height, info.width))
        if crop[2] - crop[0] < 8 or crop[3] - crop[1] < 8:
            return None
        mouth = track.mouths[source]
        return FaceRegion(crop, None if np.isnan(mouth[0]) else tuple(float(v) for v in mouth))


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
