"""The queue's background loop, shared by the in-process worker and the Celery dispatcher.

One daemon thread per app process takes work from the job store, so a closed browser tab
changes nothing. Both kinds have the same face for the web app: ``status``, ``start``,
``wake``, ``cancelled`` and ``stop``; they differ in :meth:`QueueLoop.prepare` (what happens
once, at start) and :meth:`QueueLoop.step` (one round of work).
"""

from __future__ import annotations

import logging
import threading
import time

from heygem.jobs.housekeeping import batch_ended, sweep_retention
from heygem.jobs.store import JobStore
from heygem.jobs.work import EngineStatus
from heygem.jobs.workspace import Workspace

log = logging.getLogger("heygem")

RETENTION_EVERY = 3600  # seconds between retention sweeps


class QueueLoop:
    thread_name = "heygem-loop"
    idle_wait = 1.0  # seconds to sleep after a round with nothing to do, unless woken
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
        self.notify_url = notify_url  # POSTed a summary when a batch ends
        self.retention_days = retention_days  # finished batches older than this are deleted
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=self.thread_name, daemon=True)
        self._last_sweep = 0.0

    def start(self) -> QueueLoop:
        self._thread.start()
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

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def prepare(self) -> None:
        """Once, in the loop's thread, before the first round."""

    def step(self) -> bool:
        """One round of work; True when there may be more to do at once."""
        raise NotImplementedError

    def ended(self, batch_id: str) -> None:
        """A batch's last video finished: its manifest and notification, off this thread."""
        args = (self.store, self.workspace, batch_id, self.notify_url)
        threading.Thread(target=batch_ended, args=args, daemon=True).start()

    def _main(self) -> None:
        self.prepare()
        while not self._stop.is_set():
            if self.retention_days and time.monotonic() - self._last_sweep > RETENTION_EVERY:
                self._last_sweep = time.monotonic()
                sweep_retention(self.store, self.workspace, self.retention_days)
            if not self.step():
                self._wake.wait(self.idle_wait)
                self._wake.clear()
