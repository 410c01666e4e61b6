"""The queue's background loop, shared by the in-process worker and the Celery dispatcher.

One daemon thread per app process takes work from the job store, so a closed browser tab
changes nothing. Both kinds have the same face for the web app: ``status``, ``health``,
``start``, ``wake``, ``cancelled``, ``retried``, ``ended`` and ``stop``; they differ in
:meth:`QueueLoop.prepare` (what happens once, at start) and :meth:`QueueLoop.step` (one round
of work).

A batch's ``batch.json`` is rewritten after each of its videos ends (:meth:`QueueLoop.recorded`)
and when the batch ends, however it ends: its last video in a worker, a cancel while it
waited, every video refused at submit (:meth:`QueueLoop.ended`, which also queues the
notification). One writer thread does it, in order, off the loop's thread.

A round that raises (the store locked or its disk full, a bug) does not end the thread: the
error goes to the log with its traceback, the loop waits (doubling up to a minute) and tries
again; ``health`` says what is wrong meanwhile, and "down" after a few failed rounds in a row.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from heygem.errors import HeygemError, describe
from heygem.jobs.housekeeping import remove_stale_files, sweep_retention, write_batch_record
from heygem.jobs.notify import Notifier
from heygem.jobs.store import JobStore
from heygem.jobs.work import EngineStatus
from heygem.jobs.workspace import Workspace
from heygem.states import LoopState

log = logging.getLogger("heygem")

RETENTION_EVERY = 3600  # seconds between retention sweeps
DOWN_AFTER = 3  # failed rounds in a row after which the queue is reported down


@dataclass(frozen=True)
class LoopHealth:
    state: LoopState = LoopState.OK
    error: str | None = None  # the last failed round's error, one line
    failures: int = 0  # failed rounds in a row
    since: float = field(default_factory=time.time)  # unix time of the first of them


class QueueLoop:
    thread_name = "heygem-loop"
    idle_wait = 1.0  # seconds to sleep after a round with nothing to do, unless woken
    backoff_first = 1.0  # seconds to wait after a failed round; doubled per failure in a row
    backoff_max = 60.0
    prepares_tracks = False  # makes library presenters' face tracks (heygem.jobs.trackprep)
    status: EngineStatus  # what the header shows: the models, or the broker

    def __init__(
        self,
        store: JobStore,
        workspace: Workspace,
        notify_url: str | None = None,
        retention_days: float | None = None,
    ):
        self.store = store
        self.workspace = workspace
        self.notifier = Notifier(store, notify_url) if notify_url else None  # POSTs a summary
        self.retention_days = retention_days  # finished batches older than this are deleted
        self.health = LoopHealth()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=self.thread_name, daemon=True)
        self._last_sweep = 0.0
        self._prepared = False
        self._records = ThreadPoolExecutor(1, thread_name_prefix="heygem-record")  # batch.json, in order

    def start(self) -> QueueLoop:
        self._thread.start()
        if self.notifier:
            self.notifier.start()  # sends what was due when the last process stopped, too
        return self

    @property
    def alive(self) -> bool:
        """The loop's thread is running (False before start, after stop, or if it died)."""
        return self._thread.is_alive()

    def wake(self) -> None:
        """Look at the queue now (a batch was submitted or retried)."""
        self._wake.set()

    def cancelled(self, batch_id: str) -> None:
        """A batch was cancelled in the store; the running video reads it there."""
        self._wake.set()

    def retry_load(self) -> bool:
        """Load the models again (their files were fixed); False when there is nothing to retry."""
        return False

    def retried(self, batch_id: str) -> None:
        """A user queued a batch's failed videos again."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._records.shutdown(wait=True)  # every batch.json asked for is written
        if self.notifier:
            self.notifier.stop(timeout)

    def prepare(self) -> None:
        """Once, in the loop's thread, before the first round (again after a failed try): what
        a stopped app left half made is removed (:func:`remove_stale_files`)."""
        remove_stale_files(self.store, self.workspace)

    def step(self) -> bool:
        """One round of work; True when there may be more to do at once."""
        raise NotImplementedError

    def recorded(self, batch_id: str, ended: bool) -> None:
        """A video of the batch ended (and with it the batch, when ``ended``): its batch.json
        is rewritten, and an ended batch's notification queued, off this thread."""
        if ended:
            self.ended(batch_id)
        else:
            self._records.submit(self._write_record, batch_id, False)

    def ended(self, batch_id: str) -> None:
        """The batch ended, however (its last video here or on a worker, a cancel while it
        waited, nothing runnable at submit): its batch.json and notification, off this thread."""
        self._records.submit(self._write_record, batch_id, True)

    def records_written(self) -> None:
        """Wait until every batch.json asked for so far is written (and notifications queued)."""
        self._records.submit(lambda: None).result()

    def _write_record(self, batch_id: str, ended: bool) -> None:
        try:
            batch = write_batch_record(self.store, self.workspace, batch_id)
            if batch is not None and ended:
                log.info("batch %s %s: %s", batch.id, batch.state, batch.counts)
                if self.notifier:
                    self.notifier.batch_ended(batch_id)
        except Exception:
            log.exception("batch %s: writing its batch.json or queueing its notification failed", batch_id)

    def _main(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._round():
                    self._wake.wait(self.idle_wait)
                    self._wake.clear()
        except BaseException as exc:  # not an Exception (those are survived): say so, then end
            self.health = LoopHealth(LoopState.DOWN, f"the queue thread stopped: {describe(exc)}")
            log.critical("the queue thread stopped: %s", describe(exc), exc_info=True)
            raise

    def _round(self) -> bool:
        """One round that never raises an Exception; True when there may be more to do at once."""
        try:
            if not self._prepared:
                self.prepare()
                self._prepared = True
            self._sweep_if_due()
            busy = self.step()
        except Exception as exc:
            self._round_failed(exc)
            return True  # after the back-off wait, at once
        if self.health.failures:
            log.info("the queue is going again after %d failed round(s)", self.health.failures)
            self.health = LoopHealth()
        return busy

    def _round_failed(self, exc: Exception) -> None:
        failures = self.health.failures + 1
        state = LoopState.DOWN if failures >= DOWN_AFTER else LoopState.RETRYING
        since = self.health.since if self.health.failures else time.time()
        self.health = LoopHealth(state, describe(exc), failures, since)
        wait = min(self.backoff_max, self.backoff_first * 2 ** (failures - 1))
        log.error(
            "the queue's round failed (%d in a row): %s; trying again in %.0f s",
            failures,
            describe(exc),
            wait,
            exc_info=not isinstance(exc, HeygemError),
        )
        self._stop.wait(wait)

    def _sweep_if_due(self) -> None:
        if not self.retention_days or time.monotonic() - self._last_sweep < RETENTION_EVERY:
            return
        self._last_sweep = time.monotonic()
        try:
            sweep_retention(self.store, self.workspace, self.retention_days)
        except Exception:  # the queue goes on; the next sweep is due in an hour
            log.exception("retention sweep failed; trying again in %d s", RETENTION_EVERY)
