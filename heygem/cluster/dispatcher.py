"""The app's side of scale-out: send queued videos to Celery, follow them into the job store.

It replaces the in-process :class:`~heygem.jobs.worker.Worker` (same face: ``status``,
``wake``, ``cancelled``, ``stop``) when the app runs with ``--broker``/``HEYGEM_BROKER``. Every
queued video is sent at once, in submission order; the workers take them one at a time. The
job store stays the record: Celery results expire, the store does not.

What can go wrong on the way, and what happens then:

- the broker is away while a video is sent: its task id is taken back, so it is sent again
  (under a new id) once the broker answers; the header says "broker unreachable" meanwhile;
- a task stays PENDING (no worker has started it) while the broker holds no message for it
  (lost with a Redis that restarted without its data, or a send cut short by a crash): after
  :attr:`Dispatcher.pending_grace` seconds it counts as lost and is sent again. A task waiting
  in the queue for a free worker is PENDING too, and is left alone;
- a task lost to the infrastructure (a worker gone, a result lost) is sent again, at most
  ``MAX_RESENDS`` times (reset when the user retries the batch), unless its output exists;
- a video that cannot be sent at all (a bug, a path outside the workspace) fails alone with
  the reason; any other error (the store) goes to the queue loop's guard, with its traceback;
- a cancel while the broker is away is recorded in the store all the same (the user's answer
  does not wait for Redis); the workers are told once it is back: each round tells them again
  about every batch the store says is stopping (a video still running), and about a cancel
  the broker refused (videos sent but not started), so nothing cancelled runs to its end.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import fields
from pathlib import Path

import redis
from celery.exceptions import BackendError
from kombu.exceptions import OperationalError

from heygem.cluster.tasks import TASK, cancel_key, make_celery, message_for, messages_held
from heygem.errors import describe
from heygem.jobs import EngineStatus, Item, JobStore, Outcome, QueueLoop, Workspace, work_item
from heygem.states import EngineState, ItemStatus

log = logging.getLogger("heygem")

OUTCOME_FIELDS = [f.name for f in fields(Outcome) if f.name != "status"]
POLL_EVERY = 0.5  # seconds between looks at the broker
MAX_RESENDS = 3  # a task lost to the infrastructure (not a bad video) is sent again this often
# Seconds a PENDING task may be missing from the broker before it counts as lost: far longer
# than the moment between a worker popping its message and recording that it started.
PENDING_GRACE = float(os.environ.get("HEYGEM_PENDING_GRACE", 30))
# What the broker (or the result backend on it) raises when it cannot be reached.
BROKER_ERRORS = (
    OperationalError,
    BackendError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
)


class Dispatcher(QueueLoop):
    thread_name = "heygem-dispatcher"
    idle_wait = POLL_EVERY
    pending_grace = PENDING_GRACE

    def __init__(
        self,
        store: JobStore,
        workspace: Workspace,
        broker: str,
        notify_url: str | None = None,
        retention_days: float | None = None,
    ):
        super().__init__(store, workspace, notify_url, retention_days)
        self.broker = broker
        self.status = EngineStatus(engine="cluster", detector="on workers", device="Celery workers")
        self.celery = make_celery(broker)
        self.redis = redis.Redis.from_url(broker, socket_timeout=10)
        self._resends: dict[tuple[str, int], int] = {}  # (batch, idx) -> times sent again
        self._missing_since: dict[str, float] = {}  # task id -> when first seen PENDING and absent
        self._untold: set[str] = set()  # batches whose cancel the broker refused: told again
        self._untold_lock = threading.Lock()  # cancels come from the web's threads

    def cancelled(self, batch_id: str) -> None:
        """Tell the workers: the batch's videos sent before now end (queued ones at once, a
        running one after its chunk); a later retry sends them again, unaffected. With the
        broker away it is said again by the next rounds (:meth:`_tell_cancels`)."""
        try:
            self._tell_cancel(batch_id)
        except Exception as exc:
            if broker_cause(exc) is None:
                raise
            with self._untold_lock:
                self._untold.add(batch_id)
            log.warning(
                "batch %s: the workers hear of the cancel once the broker is back (%s)", batch_id, exc
            )
        self._wake.set()

    def _tell_cancel(self, batch_id: str) -> None:
        """Set the batch's cancel key to now: a task sent before it ends (a task compares it
        with the time it was sent). No task of a stopping batch is sent meanwhile, and this
        thread sends a retried batch's tasks only after its round's keys are set."""
        self.redis.set(cancel_key(batch_id), time.time(), ex=7 * 86400)

    def _tell_cancels(self) -> None:
        """Tell the workers of every cancel the broker may lack: batches stopping with a video
        running, and cancels it refused."""
        with self._untold_lock:
            untold = set(self._untold)
        for batch_id in sorted(set(self.store.cancelling()) | untold):
            self._tell_cancel(batch_id)
            with self._untold_lock:
                self._untold.discard(batch_id)

    def prepare(self) -> None:
        super().prepare()
        recovered = self.store.recover(keep_dispatched=True)
        if recovered:
            log.info("%d video(s) were running here before scale-out mode: queued again", recovered)

    def retried(self, batch_id: str) -> None:
        """A user's retry starts the batch's videos afresh: their resends count from zero."""
        for key in [k for k in self._resends if k[0] == batch_id]:
            del self._resends[key]
        self._wake.set()

    def step(self) -> bool:
        try:
            self._connect_once()
            self._tell_cancels()
            self._dispatch()
            self._follow()
        except Exception as exc:
            cause = broker_cause(exc)
            if cause is None:
                raise  # the queue loop's guard logs it with its traceback and backs off
            # the broker is down or restarting: keep trying
            if self.status.state != EngineState.ERROR:
                log.warning("broker %s unreachable (%s); retrying", self.broker, describe(cause))
            self.status = EngineStatus(
                EngineState.ERROR, self.status.since, error=f"broker unreachable: {describe(cause)}"
            )
        return False  # look again after POLL_EVERY, or when woken

    def _connect_once(self) -> None:
        if self.status.state == EngineState.READY:
            return
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
        self.status = EngineStatus(
            EngineState.READY,
            self.status.since,
            time.time() - self.status.since,
            "cluster",
            "on workers",
            "Celery workers",
        )
        log.info("connected to broker %s", self.broker)

    def _dispatch(self) -> None:
        while (
            item := self.store.dispatch_next(lambda i: f"{i.batch_id}-{i.idx}-{time.time_ns()}")
        ) is not None:
            self._send(item)

    def _send(self, item: Item) -> None:
        """Publish one video whose task id is recorded; on a broker error the id is taken back
        (the video is sent again under a new one), anything else fails this video alone."""
        try:
            batch = self.store.get(item.batch_id)
            message = message_for(
                work_item(self.workspace, batch.audio, batch.settings, item), self.workspace.root, time.time()
            )
        except Exception as exc:
            log.exception("batch %s: video %d %s could not be sent", item.batch_id, item.idx + 1, item.name)
            error = f"{item.name}: could not be sent to the workers: {describe(exc)}"
            self._finish(item, {"status": ItemStatus.FAILED, "error": error})
            return
        try:
            self.celery.send_task(TASK, args=[message], task_id=item.task_id)
        except BaseException:
            self.store.requeue(item)  # never published: no task id to follow
            raise
        log.info("batch %s: video %d %s sent to the workers", item.batch_id, item.idx + 1, item.name)

    def _follow(self) -> None:
        held = None  # task ids the broker holds, read once per look when needed
        for item in self.store.in_flight():
            result = self.celery.AsyncResult(item.task_id)
            state, info = result.state, result.info
            if state != "PENDING":
                self._missing_since.pop(item.task_id, None)
            if state in ("STARTED", "PROGRESS") and isinstance(info, dict):
                self._started(item, info.get("worker") or "?")
                if state == "PROGRESS":
                    self.store.update_progress(
                        item,
                        info.get("progress", 0.0),
                        info.get("stage", ""),
                        info.get("chunk", 0),
                        info.get("chunks", 0),
                    )
            elif state == "SUCCESS" and isinstance(info, dict):
                self._finish(item, info)
            elif state == "FAILURE":
                self._failed(item, info)
            elif state == "PENDING":
                held = messages_held(self.redis) if held is None else held
                self._pending(item, item.task_id in held)

    def _pending(self, item: Item, in_broker: bool) -> None:
        """A task no worker has started: waiting in the queue, or lost when the broker has had
        no message for it for ``pending_grace`` seconds."""
        if in_broker:
            self._missing_since.pop(item.task_id, None)
            return
        now = time.monotonic()
        first = self._missing_since.setdefault(item.task_id, now)
        if first == now or now - first < self.pending_grace:
            return
        del self._missing_since[item.task_id]
        self._failed(item, "its message is gone from the broker and no worker has it")

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
            self._finish(item, {"status": ItemStatus.DONE, "output": output, "worker": "?"})
            return
        key = (item.batch_id, item.idx)
        self._resends[key] = self._resends.get(key, 0) + 1
        if self._resends[key] <= MAX_RESENDS:
            log.warning(
                "batch %s: video %d %s lost (%s); sending it again (%d/%d)",
                item.batch_id,
                item.idx + 1,
                item.name,
                info,
                self._resends[key],
                MAX_RESENDS,
            )
            self.store.requeue(item)
            self._wake.set()
            return
        self._finish(item, {"status": ItemStatus.FAILED, "error": f"{item.name}: worker error: {info}"})

    def _finish(self, item: Item, info: dict) -> None:
        """Record a task's result (:func:`heygem.cluster.tasks.lipsync`'s dict)."""
        worker = info.get("worker", "?")
        if worker != "?":  # a short video can start and end between two looks: the result names its worker
            self._started(item, worker)
        outcome = {key: info.get(key) for key in OUTCOME_FIELDS}
        if outcome["output"]:
            outcome["output"] = str(self.workspace.root / outcome["output"])
        ended = self.store.finish_item(item, info.get("status", ItemStatus.FAILED), **outcome)
        log.info(
            "batch %s: video %d %s %s on %s",
            item.batch_id,
            item.idx + 1,
            item.name,
            info.get("status"),
            worker,
        )
        self.recorded(item.batch_id, ended)


def broker_cause(exc: BaseException | None) -> BaseException | None:
    """The error in ``exc`` or what it was raised from that says the broker cannot be reached
    (Celery's result consumer wraps a refused connection in a RuntimeError); None otherwise."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, BROKER_ERRORS):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _relative(path, root: Path) -> str:
    """A path inside the workspace, as every machine can resolve it against its own mount."""
    return Path(path).resolve().relative_to(root.resolve()).as_posix()
