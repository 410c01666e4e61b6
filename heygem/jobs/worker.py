"""The in-process worker: loads the model once and runs queued videos one at a time.

Progress goes to the store (throttled, but every chunk start is passed on); a cancel takes
effect after the running chunk. A store error while a video runs never fails the video (its
progress report is skipped); one while its result is recorded keeps the result until the store
takes it, so the loop's retry records it before anything else runs. A video claimed but never
started (the store, or a bug, failed between the two) goes back to the queue in the next round,
at most :data:`START_TRIES` times, then fails with the reason: none stays "running". Scale-out mode replaces it with
:class:`heygem.cluster.dispatcher.Dispatcher`; both are a :class:`~heygem.jobs.loop.QueueLoop`.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from heygem.errors import describe
from heygem.jobs.housekeeping import remove_partial_files
from heygem.jobs.loop import QueueLoop
from heygem.jobs.records import Item
from heygem.jobs.runner import ItemRunner
from heygem.jobs.store import JobStore
from heygem.jobs.trackprep import prepare_next_track
from heygem.jobs.work import EngineStatus, work_item
from heygem.jobs.workspace import Workspace
from heygem.lipsync import EngineSettings, VideoResult
from heygem.states import EngineState, ItemStatus

log = logging.getLogger("heygem")

START_TRIES = 3  # claims of a video that failed before it started, after which it fails


class Worker(QueueLoop):
    thread_name = "heygem-worker"
    prepares_tracks = True  # library presenters' face tracks are made here, between videos

    def __init__(
        self,
        store: JobStore,
        workspace: Workspace,
        settings: EngineSettings,
        notify_url: str | None = None,
        retention_days: float | None = None,
    ):
        super().__init__(store, workspace, notify_url, retention_days)
        self.runner = ItemRunner(settings)
        self._weights_changed: queue.SimpleQueue = queue.SimpleQueue()  # from weights_installed()
        self._unrecorded: tuple[Item, VideoResult] | None = None  # a result the store refused
        self._unstarted: tuple[Item, str] | None = None  # claimed, then failed before it ran: why
        self._load_again = False  # a user asked to retry a failed model load

    @property
    def status(self) -> EngineStatus:
        return self.runner.status

    def prepare(self) -> None:
        super().prepare()
        recovered = self.store.recover()
        if recovered:
            log.info("resuming %d video(s) that were running when the app stopped", recovered)
        self.store.recover_presenter_tracks()
        remove_partial_files(self.workspace.outputs)
        self.runner.load()

    def weights_installed(self, then: Callable[[EngineStatus], None] | None = None) -> None:
        """New weights are in the checkpoint folder (call from any thread): before its next
        video the worker re-resolves engine "auto" (:meth:`ItemRunner.reresolve_auto`), then
        calls ``then`` with the engine status."""
        self._weights_changed.put(then)
        self.wake()

    def retry_load(self) -> bool:
        """Load the models again, in this loop's thread, when they failed to load."""
        if self.status.state != EngineState.ERROR:
            return False
        log.info("loading the model again, as asked")
        self._load_again = True
        self.wake()
        return True

    def step(self) -> bool:
        if self._load_again:
            self._load_again = False
            self.runner.load()
        if self._unrecorded:
            self._record(*self._unrecorded)
        if self._unstarted:
            self._release(*self._unstarted)
        if not self._weights_changed.empty():
            waiting = []
            while not self._weights_changed.empty():
                waiting.append(self._weights_changed.get())
            status = self.runner.reresolve_auto()
            for then in filter(None, waiting):
                then(status)
        if self.status.state != EngineState.READY:
            return False
        if prepare_next_track(self.store, self.runner):  # a presenter's track first: batches wait on it
            return True
        item = self.store.claim_next()
        if item is None:
            return False
        try:
            batch = self.store.get(item.batch_id)
            work = work_item(self.workspace, batch.audio, batch.settings, item)
        except Exception as exc:
            self._unstarted = (item, describe(exc))  # released in the next round
            raise
        self._run(item, batch, work)
        return True

    def _release(self, item: Item, why: str) -> None:
        """A video claimed but never started: queued again, or failed after START_TRIES claims."""
        if item.attempts < START_TRIES:
            self.store.requeue(item)
            log.warning("batch %s: %s could not be started (%s); queued again", item.batch_id, item.name, why)
        else:
            error = f"{item.name}: could not be started ({why})"
            ended = self.store.finish_item(item, ItemStatus.FAILED, error=error)
            log.error("batch %s: %s", item.batch_id, error)
            self.recorded(item.batch_id, ended)
        self._unstarted = None

    def _run(self, item: Item, batch, work) -> None:
        log.info(
            "batch %s: video %d/%d %s with %s (attempt %d)",
            batch.id,
            item.idx + 1,
            len(batch.items),
            item.name,
            batch.narration(item)[1],
            item.attempts,
        )

        def report(p):
            try:
                self.store.update_progress(item, p.fraction, p.stage, p.chunk, p.chunks)
            except Exception as exc:  # the video goes on; the next report may get through
                log.warning("batch %s: progress not recorded (%s)", item.batch_id, describe(exc))

        def cancelled() -> bool:
            try:
                current = self.store.get(item.batch_id)
            except Exception as exc:
                log.warning("batch %s: cancel not checked (%s)", item.batch_id, describe(exc))
                return False
            return current is None or current.cancel

        result = self.runner.run(work, report, cancelled)
        self._unrecorded = (item, result)
        self._record(item, result)

    def _record(self, item: Item, result: VideoResult) -> None:
        """Store a video's result; raises (keeping it for the next round) when the store cannot."""
        output = str(result.output) if result.output else None
        ended = self.store.finish_item(
            item,
            result.status,
            output=output,
            error=result.error,
            frames=result.frames or None,
            frames_without_face=result.frames_without_face,
            seconds=result.seconds,
            engine=result.engine,
            detector=result.detector,
            runtime=result.runtime or None,
            **result.detection(),
            resumed_chunks=result.resumed_chunks,
            chunk_attempts=result.chunk_attempts,
            enhancer=result.enhancer or None,
        )
        self._unrecorded = None
        self.recorded(item.batch_id, ended)
