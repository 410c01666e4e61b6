"""The in-process worker: one thread that loads the model once and runs queued videos one at
a time, independent of any browser tab.

It takes its work from the job store, so a closed tab changes nothing and a restart picks up
where the last process stopped. Progress goes to the store (throttled, but every chunk start
is passed on); a cancel takes effect after the running chunk. Scale-out mode replaces it with :class:`heygem.dispatcher.Dispatcher`,
which has the same face (``status``, ``wake``, ``cancelled``, ``stop``).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from heygem.batch import EngineSettings
from heygem.housekeeping import batch_ended, remove_partial_files, sweep_retention
from heygem.jobs import Item, JobStore
from heygem.runner import ItemRunner, Job
from heygem.workspace import Workspace

log = logging.getLogger("heygem")

RETENTION_EVERY = 3600  # seconds between retention sweeps


class Worker:
    def __init__(self, store: JobStore, workspace: Workspace, settings: EngineSettings,
                 notify_url: str | None = None, retention_days: float | None = None):  # fmt: skip
        self.store = store
        self.workspace = workspace
        self.notify_url = notify_url
        self.retention_days = retention_days
        self.runner = ItemRunner(settings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="heygem-worker", daemon=True)
        self._last_sweep = 0.0

    @property
    def status(self):
        return self.runner.status

    def start(self) -> Worker:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def cancelled(self, batch_id: str) -> None:
        """The store already says so; the running video reads it there."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _main(self) -> None:
        recovered = self.store.recover()
        if recovered:
            log.info("resuming %d video(s) that were running when the app stopped", recovered)
        remove_partial_files(self.workspace.outputs)
        self.runner.load()
        while not self._stop.is_set():
            if self.retention_days and time.monotonic() - self._last_sweep > RETENTION_EVERY:
                self._last_sweep = time.monotonic()
                sweep_retention(self.store, self.workspace, self.retention_days)
            item = self.store.claim_next() if self.status.state == "ready" else None
            if item is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(item)

    def _run(self, item: Item) -> None:
        batch = self.store.get(item.batch_id)
        log.info("batch %s: video %d/%d %s (attempt %d)", batch.id, item.idx + 1,
                 len(batch.items), item.name, item.attempts)  # fmt: skip
        job = job_for(self.workspace, batch.audio, batch.settings, item)

        def report(p):
            self.store.update_progress(item, p.fraction, p.stage, p.chunk, p.chunks)

        def cancelled() -> bool:
            current = self.store.get(item.batch_id)
            return current is None or current.cancel

        result = self.runner.run(job, report, cancelled)
        ended = self.store.finish_item(
            item, result.status, output=str(result.output) if result.output else None,
            error=result.error, frames=result.frames or None,
            frames_without_face=result.frames_without_face, seconds=result.seconds,
            engine=result.engine, detector=result.detector,
        )  # fmt: skip
        if ended:
            threading.Thread(target=batch_ended, daemon=True,
                             args=(self.store, self.workspace, item.batch_id, self.notify_url)).start()  # fmt: skip


def job_for(workspace: Workspace, audio: str, settings: dict, item: Item) -> Job:
    return Job(item.batch_id, item.idx, item.name, Path(audio), Path(item.video), Path(item.dest),
               workspace.work_dir(item.batch_id, item.idx), settings)  # fmt: skip
