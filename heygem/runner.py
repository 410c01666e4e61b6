"""Running one stored video with the models of this process.

Both kinds of worker use it: the app's own worker thread, and a Celery worker on another
machine. They differ only in where progress goes and where a cancel comes from, which they
pass in as two callables. Models load once per process and are reused for every video.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from heygem.audio import Narration
from heygem.batch import EngineSettings, load_syncer, resolve_device
from heygem.diskspace import check_free_space
from heygem.encode import EncodeOptions, output_size
from heygem.errors import Cancelled, HeygemError
from heygem.pipeline import Progress, Syncer, SyncOptions, VideoResult, failure
from heygem.video import probe

log = logging.getLogger("heygem")

PROGRESS_EVERY = 0.5  # seconds between progress reports passed on
QUALITY_CRF = {"high": 18, "standard": 23, "small": 28}  # output quality -> x264 CRF


@dataclass
class EngineStatus:
    state: str = "loading"  # "loading" | "ready" | "error"
    since: float = field(default_factory=time.time)  # when loading started
    load_seconds: float | None = None
    engine: str = ""
    detector: str = ""
    device: str = ""
    checkpoint: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Job:
    """One video of a batch, as a worker needs it (paths already resolved for this machine)."""

    batch_id: str
    idx: int
    name: str  # the name it was uploaded with
    audio: Path  # the batch's narration
    video: Path  # the stored upload
    dest: Path  # its output; existing means finished
    work_dir: Path  # its finished chunks, kept until the video is complete
    settings: dict  # the batch's settings


def sync_options(settings: dict) -> SyncOptions:
    """A batch's settings (as stored) -> pipeline options, with defaults for what is absent."""
    height = settings.get("height")
    return SyncOptions(
        chunk_seconds=float(settings.get("chunk_seconds") or 30),
        pads=tuple(int(p) for p in settings.get("pads") or (0, 10, 0, 0)),
        frame_order=settings.get("frame_order") or "pingpong",
        sync_offset=int(settings.get("sync_offset") or 0),
        encode=EncodeOptions(
            height=int(height) if height not in (None, "", "original", 0) else None,
            crf=QUALITY_CRF.get(settings.get("quality") or "standard", 23),
        ),
    )


class ItemRunner:
    def __init__(self, settings: EngineSettings):
        self.settings = settings
        self.status = EngineStatus()
        self._syncers: dict[tuple[str, str], Syncer] = {}  # (engine, detector) -> loaded
        self._narration: Narration | None = None  # the last narration, its mel reused

    def load(self) -> EngineStatus:
        """Load the default engine and detector once; the outcome is also kept in ``status``."""
        log.info(
            "initialising model (engine %s, device %s)...",
            self.settings.engine,
            self.settings.device,
        )
        started = time.monotonic()
        try:
            syncer = self._syncer_for({})
        except Exception as exc:
            error = str(exc) if isinstance(exc, HeygemError) else f"{type(exc).__name__}: {exc}"
            log.error("model failed to load: %s", error, exc_info=not isinstance(exc, HeygemError))
            self.status = EngineStatus("error", self.status.since, error=error)
            return self.status
        self._syncers[(syncer.engine.name, syncer.detector.name)] = syncer
        self.status = EngineStatus(
            "ready", self.status.since, time.monotonic() - started, syncer.engine.name,
            syncer.detector.name, resolve_device(self.settings.device),
            str(self.settings.checkpoint) if self.settings.checkpoint else None,
        )  # fmt: skip
        log.info("model ready in %.1f s", self.status.load_seconds)
        return self.status

    def _syncer_for(self, settings: dict) -> Syncer:
        key = (settings.get("engine") or "auto", settings.get("detector") or "auto")
        if key not in self._syncers:
            wanted = EngineSettings(
                engine=key[0], detector=key[1], device=self.settings.device,
                checkpoint=self.settings.checkpoint, checkpoint_dir=self.settings.checkpoint_dir,
                batch_size=self.settings.batch_size,
            )  # fmt: skip
            self._syncers[key] = load_syncer(wanted, SyncOptions())
        return self._syncers[key]

    def _narration_for(self, audio: Path) -> Narration:
        if self._narration is None or self._narration.path != audio:
            self._narration = Narration(audio)
        return self._narration

    def run(
        self, job: Job, report: Callable[[Progress], None], cancelled: Callable[[], bool]
    ) -> VideoResult:
        """Lip-sync one job; never raises for a bad video: the result says failed or
        cancelled with a one-line reason. ``report`` gets throttled progress; ``cancelled``
        is asked with it, and a cancel takes effect once the running chunk is finished."""
        started = time.monotonic()
        engine = detector = ""
        try:
            syncer = self._syncer_for(job.settings)
            engine, detector = syncer.engine.name, syncer.detector.name
            if job.dest.is_file():  # published before a crash or a lost worker: never twice
                log.info("batch %s: %s was already finished", job.batch_id, job.dest.name)
                info = probe(job.dest)
                return VideoResult(
                    job.video, "done", job.dest, None, info.n_frames, 0, 0.0, engine, detector
                )
            syncer.options = sync_options(job.settings)
            narration = self._narration_for(job.audio)
            info = probe(job.video)
            width, height = output_size(info.width, info.height, syncer.options.encode.height)
            check_free_space(job.dest.parent, width, height, info.fps, narration.seconds, job.name)
            hook = _hook(report, cancelled)
            return syncer.run(narration, job.video, job.dest, job.work_dir, hook)
        except Exception as exc:
            result = failure(Path(job.name), exc, engine, detector, time.monotonic() - started)
            if isinstance(exc, (HeygemError, Cancelled)):
                log.error("batch %s: %s %s", job.batch_id, result.status, result.error)
            else:
                log.exception("batch %s: %s failed", job.batch_id, job.name)
            return result


def _hook(report: Callable[[Progress], None], cancelled: Callable[[], bool]):
    last = {"time": 0.0, "stage": None, "chunk": None}
    cancel_chunk: list[int] = []  # the chunk running when the cancel was seen

    def hook(p: Progress) -> None:
        now = time.monotonic()
        moved_on = (p.stage, p.chunk) != (last["stage"], last["chunk"])  # always passed on
        if moved_on or now - last["time"] >= PROGRESS_EVERY:
            last["time"], last["stage"], last["chunk"] = now, p.stage, p.chunk
            report(p)
            if not cancel_chunk and cancelled():
                cancel_chunk.append(p.chunk if p.stage == "lipsync" else -1)
        if cancel_chunk and (
            p.stage in ("probing", "detecting")
            or (p.stage == "lipsync" and p.chunk != cancel_chunk[0])
        ):
            raise Cancelled("cancelled")

    return hook
