"""Running one stored video with the models of this process.

Both kinds of worker use it: the app's own worker thread, and a Celery worker on another
machine. They differ only in where progress goes and where a cancel comes from, which they
pass in as two callables. Models load once per process and are reused for every video.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from heygem.errors import Cancelled, HeygemError, MediaError
from heygem.jobs.diskspace import check_free_space
from heygem.jobs.work import EngineStatus, WorkItem
from heygem.lipsync import (
    EngineSettings,
    Progress,
    Syncer,
    SyncOptions,
    VideoResult,
    failure,
    find_checkpoint,
    gate_of,
    load_syncer,
    resolve_device,
    runtime_of,
    sync_options,
)
from heygem.media import Narration, output_size, probe
from heygem.pause import pause_point
from heygem.settings import BatchSettings
from heygem.states import EngineState, ItemStatus, Stage

log = logging.getLogger("heygem")

PROGRESS_EVERY = 0.5  # seconds between progress reports passed on


class ItemRunner:
    def __init__(self, settings: EngineSettings):
        self.settings = settings  # the process's flags: what every batch starts from
        # A batch's stored settings hold only what its user gave; the rest comes from here.
        self.defaults = BatchSettings(engine=settings.engine, detector=settings.detector)
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
        pause_point("load")
        started = time.monotonic()
        self.status = EngineStatus(EngineState.LOADING)
        try:
            syncer = self._syncer_for(self.defaults)
        except Exception as exc:
            error = str(exc) if isinstance(exc, HeygemError) else f"{type(exc).__name__}: {exc}"
            log.error("model failed to load: %s", error, exc_info=not isinstance(exc, HeygemError))
            self.status = EngineStatus(EngineState.ERROR, self.status.since, error=error)
            return self.status
        self._syncers[(syncer.engine.name, syncer.detector.name)] = syncer
        self.status = EngineStatus(
            EngineState.READY,
            self.status.since,
            time.monotonic() - started,
            syncer.engine.name,
            syncer.detector.name,
            resolve_device(self.settings.device),
            str(self.settings.checkpoint) if self.settings.checkpoint else None,
            runtime=runtime_of(syncer.engine),
            int8_gate=gate_of(syncer.engine),
        )
        log.info("model ready in %.1f s", self.status.load_seconds)
        return self.status

    def reresolve_auto(self) -> EngineStatus:
        """Look at the checkpoint folder again, for weights installed since the start (the app's
        download): the syncers of the loudness engine are dropped and the default reloaded, so
        engine "auto" becomes wav2lip from the next video on, without a restart. Call it
        between videos, in the thread that runs them. If the new engine fails to load, the
        previous ones stay in use; the status returned then carries the error."""
        before, kept = self.status, dict(self._syncers)
        self._syncers = {key: s for key, s in kept.items() if s.engine.name != "loudness"}
        status = self.load()
        if status.state != EngineState.READY:
            log.error("engine stays %s: the new weights did not load (%s)", before.engine, status.error)
            self._syncers, self.status = kept, before
            return replace(before, error=f"the new weights did not load: {status.error}")
        if status.engine != before.engine:
            checkpoint = status.checkpoint or find_checkpoint(self.settings.checkpoint_dir)
            log.info(
                "engine switched from %s to %s (%s) without a restart: the next video uses it",
                before.engine or before.state,
                status.engine,
                checkpoint,
            )
        return status

    def _syncer_for(self, settings: BatchSettings) -> Syncer:
        """The models for a batch's engine and detector; everything else (device, runtime,
        checkpoint, batch size, caches) is the process's."""
        key = (settings.engine, settings.detector)
        if key not in self._syncers:
            wanted = replace(self.settings, engine=settings.engine, detector=settings.detector)
            self._syncers[key] = load_syncer(wanted, SyncOptions())
        return self._syncers[key]

    def _narration_for(self, audio: Path) -> Narration:
        if self._narration is None or self._narration.path != audio:
            self._narration = Narration(audio)
        return self._narration

    def prepare(self, video: Path, settings: dict, report: Callable[[Progress], None]):
        """Make ``video``'s face track ahead of time into the track cache (a library
        presenter's, with its own settings: the track a batch using it reads instead of
        detecting). Returns the :class:`~heygem.faces.TrackResult`; raises for a bad file."""
        chosen = BatchSettings.parse(settings, base=self.defaults)
        syncer = self._syncer_for(chosen)
        syncer.options = sync_options(chosen, video.name)
        return syncer.preprocess(video, report)

    def run(
        self, item: WorkItem, report: Callable[[Progress], None], cancelled: Callable[[], bool]
    ) -> VideoResult:
        """Lip-sync one stored video; never raises for a bad video: the result says failed or
        cancelled with a one-line reason. ``report`` gets throttled progress; ``cancelled``
        is asked with it, and a cancel takes effect once the running chunk is finished."""
        started = time.monotonic()
        engine = detector = ""
        hook = _hook(report, cancelled, f"video{item.idx + 1}")
        try:
            hook(Progress(item.video.name, Stage.PROBING))  # at once, before anything is read
            settings = BatchSettings.parse(item.settings, base=self.defaults)
            syncer = self._syncer_for(settings)
            engine, detector = syncer.engine.name, syncer.detector.name
            if item.dest.is_file():  # published before a crash or a lost worker: never twice
                log.info("batch %s: %s was already finished", item.batch_id, item.dest.name)
                info = probe(item.dest)
                return VideoResult(
                    item.video, ItemStatus.DONE, item.dest, None, info.n_frames, 0, 0.0, engine, detector
                )
            syncer.options = sync_options(settings, item.name)
            narration = self._narration_for(item.audio)
            info = probe(item.video)
            width, height = output_size(info.width, info.height, syncer.options.encode.height)
            check_free_space(item.dest.parent, width, height, info.fps, narration.seconds, item.name)
            return syncer.run(narration, item.video, item.dest, item.work_dir, hook)
        except Exception as exc:
            if isinstance(exc, MediaError) and exc.path == item.video:  # named as the user uploaded it
                exc = MediaError(item.name, exc.reason)
            result = failure(Path(item.name), exc, engine, detector, time.monotonic() - started)
            if isinstance(exc, (HeygemError, Cancelled)):
                log.error("batch %s: %s %s", item.batch_id, result.status, result.error)
            else:
                log.exception("batch %s: %s failed", item.batch_id, item.name)
            return result


def _hook(report: Callable[[Progress], None], cancelled: Callable[[], bool], where: str):
    """The pipeline's progress hook: throttled reports, and a cancel that takes effect once the
    running chunk is finished. ``where`` names the video for pause points (``video<N>``)."""
    last = {"time": 0.0, "stage": None, "chunk": None}
    cancel_chunk: list[int] = []  # the chunk running when the cancel was seen

    def hook(p: Progress) -> None:
        now = time.monotonic()
        moved_on = (p.stage, p.chunk) != (last["stage"], last["chunk"])  # always passed on
        if moved_on:
            pause_point(f"{where}:{p.stage}:{p.chunk}")  # before the cancel check: tests act here
        if moved_on or now - last["time"] >= PROGRESS_EVERY:
            last["time"], last["stage"], last["chunk"] = now, p.stage, p.chunk
            report(p)
            if not cancel_chunk and cancelled():
                cancel_chunk.append(p.chunk if p.stage == Stage.LIPSYNC else -1)
        if cancel_chunk and (
            p.stage in (Stage.PROBING, Stage.DETECTING)
            or (p.stage == Stage.LIPSYNC and p.chunk != cancel_chunk[0])
        ):
            raise Cancelled("cancelled")

    return hook
