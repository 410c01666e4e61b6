"""The app's side of scale-out: send queued videos to Celery, follow them into the job store.

It replaces the in-process :class:`~heygem.worker.Worker` (same face: ``status``, ``wake``,
``cancelled``, ``stop``) when the app runs with ``--broker``/``HEYGEM_BROKER``. Every queued
video is sent at once, in submission order; the workers take them one at a time. The job
store stays the record: Celery results expire, the store does not.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import redis

from heygem.cluster import TASK, cancel_key, make_celery
from heygem.housekeeping import batch_ended, sweep_retention
from heygem.jobs import Item, JobStore
from heygem.runner import EngineStatus
from heygem.workspace import Workspace

log = logging.getLogger("heygem")

POLL_EVERY = 0.5  # seconds between looks at the broker
MAX_RESENDS = 3  # a task lost to the infrastructure (not a bad video) is sent again this often
RETENTION_EVERY = 3600


class Dispatcher:
    def __init__(self, store: JobStore, workspace: Workspace, broker: str,
                 notify_url: str | None = None, retention_days: float | None = None):  # fmt: skip
        self.store = store
        self.workspace = workspace
        self.broker = broker
        self.notify_url = notify_url
        self.retention_days = retention_days
        self.status = EngineStatus(engine="cluster", detector="on workers", device="Celery workers")
        self.celery = make_celery(broker)
        self.redis = redis.Redis.from_url(broker, socket_timeout=10)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="heygem-dispatcher", daemon=True)
        self._last_sweep = 0.0
        self._resends: dict[tuple[str, int], int] = {}

    def start(self) -> Dispatcher:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def cancelled(self, batch_id: str) -> None:
        """Tell the workers: the batch's videos sent before now end (queued ones at once, a
        running one after its chunk); a later retry sends them again, unaffected."""
        self.redis.set(cancel_key(batch_id), time.time(), ex=7 * 86400)
        self._wake.set()

    def _main(self) -> None:
        recovered = self.store.recover(keep_dispatched=True)
        if recovered:
            log.info("%d video(s) were running here before scale-out mode: queued again", recovered)
        while not self._stop.is_set():
            try:
                self._connect_once()
                self._dispatch()
                self._follow()
                if self.retention_days and time.monotonic() - self._last_sweep > RETENTION_EVERY:
                    self._last_sweep = time.monotonic()
                    sweep_retention(self.store, self.workspace, self.retention_days)
            except Exception as exc:  # the broker is down or restarting: keep trying
                if self.status.state != "error":
                    log.warning("broker %s unreachable (%s); retrying", self.broker, exc)
                self.status = EngineStatus(
                    "error", self.status.since, error=f"broker unreachable: {exc}"
                )
            self._wake.wait(POLL_EVERY)
            self._wake.clear()

    def _connect_once(self) -> None:
        if self.status.state == "ready":
            return
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
        self.status = EngineStatus("ready", self.status.since, time.time() - self.status.since,
                                   "cluster", "on workers", "Celery workers")  # fmt: skip
        log.info("connected to broker %s", self.broker)

    def _dispatch(self) -> None:
        while (
            item := self.store.dispatch_next(lambda i: f"{i.batch_id}-{i.idx}-{time.time_ns()}")
        ) is not None:
            batch = self.store.get(item.batch_id)
            root = self.workspace.root
            job = {
                "batch_id": item.batch_id, "idx": item.idx, "name": item.name,
                "audio": _relative(batch.audio, root), "video": _relative(item.video, root),
                "dest": _relative(item.dest, root),
                "work_dir": _relative(self.workspace.work_dir(item.batch_id, item.idx), root),
                "settings": batch.settings, "sent": time.time(),
            }  # fmt: skip
            self.celery.send_task(TASK, args=[job], task_id=item.task_id)
            log.info(
                "batch %s: video %d %s sent to the workers", item.batch_id, item.idx + 1, item.name
            )

    def _follow(self) -> None:
        for item in self.store.in_flight():
            result = self.celery.AsyncResult(item.task_id)
            state, info = result.state, result.info
            if state in ("STARTED", "PROGRESS") and isinstance(info, dict):
                self._started(item, info.get("worker") or "?")
                if state == "PROGRESS":
                    self.store.update_progress(item, info.get("progress", 0.0), info.get("stage", ""),
                                               info.get("chunk", 0), info.get("chunks", 0))  # fmt: skip
            elif state == "SUCCESS" and isinstance(info, dict):
                self._finish(item, info)
            elif state == "FAILURE":
                self._failed(item, info)

    def _started(self, item: Item, worker: str) -> None:
        """Record a first start, or a redelivery to another worker."""
        if item.status == "queued" or (item.worker and item.worker != worker):
            self.store.mark_started(item, worker)
            log.info("batch %s: video %d started on %s", item.batch_id, item.idx + 1, worker)

    def _failed(self, item: Item, info) -> None:
        """The task raised: a bad video comes back as a result, so this is the infrastructure
        (a worker lost, Redis restarting while the result was stored). If the output was
        written, the video is done; otherwise it is sent again, a few times at most."""
        dest = Path(item.dest)
        if dest.exists() and dest.stat().st_size > 0:
            output = _relative(dest, self.workspace.root)
            self._finish(item, {"status": "done", "output": output, "worker": "?"})
            return
        key = (item.batch_id, item.idx)
        self._resends[key] = self._resends.get(key, 0) + 1
        if self._resends[key] <= MAX_RESENDS:
            log.warning("batch %s: video %d %s lost (%s); sending it again (%d/%d)", item.batch_id,
                        item.idx + 1, item.name, info, self._resends[key], MAX_RESENDS)  # fmt: skip
            self.store.requeue(item)
            self._wake.set()
            return
        self._finish(item, {"status": "failed", "error": f"{item.name}: worker error: {info}"})

    def _finish(self, item: Item, info: dict) -> None:
        if info.get("worker", "?") != "?":
            # a short video can start and end between two looks: the result names its worker
            self._started(item, info["worker"])
        output = info.get("output")
        ended = self.store.finish_item(
            item, info.get("status", "failed"),
            output=str(self.workspace.root / output) if output else None, error=info.get("error"),
            frames=info.get("frames"), frames_without_face=info.get("frames_without_face"),
            seconds=info.get("seconds"), engine=info.get("engine"), detector=info.get("detector"),
        )  # fmt: skip
        log.info("batch %s: video %d %s %s on %s", item.batch_id, item.idx + 1, item.name,
                 info.get("status"), info.get("worker"))  # fmt: skip
        if ended:
            threading.Thread(target=batch_ended, daemon=True,
                             args=(self.store, self.workspace, item.batch_id, self.notify_url)).start()  # fmt: skip


def _relative(path, root: Path) -> str:
    """A path inside the workspace, as every machine can resolve it against its own mount."""
    return Path(path).resolve().relative_to(root.resolve()).as_posix()
