"""What one video's run reports: its progress as it goes and its result at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from heygem.errors import Cancelled, HeygemError, MediaError
from heygem.states import ItemStatus, Stage


@dataclass(frozen=True)
class Progress:
    video: str  # file name of the video
    stage: Stage
    chunk: int = 0  # 1-based chunk in lip-sync, 0 before
    chunks: int = 0  # number of chunks
    frames_done: int = 0  # frames finished in this stage
    frames_total: int = 0  # frames in this stage
    fraction: float = 0.0  # 0..1 of the whole video


ProgressHook = Callable[[Progress], None]


@dataclass
class VideoResult:
    video: Path
    status: ItemStatus  # done, failed or cancelled
    output: Path | None = None
    error: str | None = None
    frames: int = 0  # output frames
    frames_without_face: int = 0  # output frames passed through unchanged
    seconds: float = 0.0  # wall time
    engine: str = ""
    detector: str = ""
    runtime: str = ""  # where the network ran (openvino-int8, openvino, torch...); "" for loudness
    enhancer: str = ""  # the face enhancer that ran: gfpgan, restoreformer or none
    # Busy seconds per stage: probe, detect (pass 1; ~0 from the cache), decode, render (of
    # which model), enhance, encode, mux. decode, render, enhance and encode overlap in time.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    track_cached: bool = False  # the face track came from the cache (no detection)
    detected_frames: int = 0  # frames the face detector ran on (0: the track came from the cache)
    resumed_chunks: int = 0  # chunks finished by an earlier run and kept, not redone
    chunk_attempts: list[int] = field(default_factory=list)  # per chunk, tries this run (0: resumed)

    def detection(self) -> dict:
        """What a finished video says of its face track: ``track_cached``, ``detected_frames``,
        ``detect_seconds`` (nothing for one that did not finish)."""
        if self.status != ItemStatus.DONE:
            return {}
        return {
            "track_cached": self.track_cached,
            "detected_frames": self.detected_frames,
            "detect_seconds": self.stage_seconds.get("detect"),
        }


def failure(video: Path, exc: BaseException, engine: str, detector: str, seconds: float) -> VideoResult:
    """A failed or cancelled VideoResult with a one-line reason."""
    if isinstance(exc, Cancelled):
        status, reason = ItemStatus.CANCELLED, "cancelled"
    else:
        status = ItemStatus.FAILED
        reason = str(exc) if isinstance(exc, HeygemError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, MediaError):  # a MediaError already names its file
            reason = f"{video.name}: {reason}"
    error = reason.splitlines()[0] if reason else "failed"
    return VideoResult(video, status, error=error, seconds=seconds, engine=engine, detector=detector)
