"""Scale-out on Celery + Redis: the task a GPU worker runs, and how a worker starts.

    python -m heygem worker --broker redis://HOST:6379/0 --workspace /shared/heygem [--device cuda:0]

One worker per GPU: solo pool (one video at a time, the model loaded once, before the first
task), prefetch 1 and late acks (a message is acknowledged only when its video is finished,
so a worker that dies mid-video gets its video redelivered to another worker after the
visibility timeout). Paths travel relative to the workspace, which every machine mounts
(each at its own --workspace). Progress goes back as task state; cancellation and the
"one worker per video" lock live in Redis.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from celery import Celery
from celery.signals import worker_ready

from heygem.jobs.work import WorkItem
from heygem.states import EngineState

if TYPE_CHECKING:
    from heygem.jobs.runner import ItemRunner
    from heygem.lipsync import Progress

log = logging.getLogger("heygem")

QUEUE = "heygem"
TASK = "heygem.lipsync"
# Longer than the longest video: a message not acknowledged by then is given to another worker.
VISIBILITY_TIMEOUT = float(os.environ.get("HEYGEM_VISIBILITY_TIMEOUT", 6 * 3600))
MAX_DELIVERIES = 3  # a video that took down this many workers fails instead of looping
# A running video's lock outlives a dead worker by this much; longer than any pause between
# progress reports (the final mux of a long video is the longest).
LOCK_SECONDS = float(os.environ.get("HEYGEM_LOCK_SECONDS", 120))


def make_celery(broker: str) -> Celery:
    """The Celery app both sides share; settings chosen on purpose, see the module docstring."""
    app = Celery("heygem", broker=broker, backend=broker, set_as_current=False)
    transport = {
        "visibility_timeout": VISIBILITY_TIMEOUT,
        # look for messages of lost workers every few seconds, not every 100 s
        "unacked_restore_interval": min(10.0, VISIBILITY_TIMEOUT / 4),
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        task_acks_late=True,  # acknowledge when the video is finished, not when it starts
        task_reject_on_worker_lost=True,  # a worker that dies gives its message back
        worker_prefetch_multiplier=1,  # hold no message beyond the one running
        task_track_started=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=7 * 86400,  # the app's job store is the lasting record
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        result_backend_always_retry=True,  # a result stored while Redis restarts waits for it
        result_backend_max_retries=30,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    app.task(name=TASK, bind=True, acks_late=True)(lipsync)
    return app


def cancel_key(batch_id: str) -> str:
    return f"heygem:cancel:{batch_id}"


class WorkerContext:
    """What a worker process keeps between tasks: its models, its workspace, a Redis client."""

    def __init__(self, runner: ItemRunner, workspace: Path, redis_url: str, name: str):
        import redis

        self.runner = runner
        self.workspace = workspace
        self.redis = redis.Redis.from_url(redis_url)
        self.name = name


def message_for(item: WorkItem, root: Path, sent: float) -> dict:
    """The task's argument: ``item`` with its paths relative to the workspace ``root``, which
    every machine mounts at its own place; ``sent`` (unix time) orders it against cancels."""

    def relative(path: Path) -> str:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()

    return {
        "batch_id": item.batch_id,
        "idx": item.idx,
        "name": item.name,
        "audio": relative(item.audio),
        "video": relative(item.video),
        "dest": relative(item.dest),
        "work_dir": relative(item.work_dir),
        "settings": item.settings,
        "sent": sent,
    }


def item_from(message: dict, root: Path) -> WorkItem:
    """Inverse of :func:`message_for` on a machine whose workspace is at ``root``."""
    paths = [root / message[key] for key in ("audio", "video", "dest", "work_dir")]
    return WorkItem(message["batch_id"], message["idx"], message["name"], *paths, message["settings"])


def messages_held(client) -> set[str]:
    """Task ids of the messages the broker holds: waiting in the queue (at any priority) or
    taken by a worker and not yet acknowledged. Reads kombu's Redis layout: one list per queue
    and priority step, and the ``unacked`` hash of (message, exchange, routing key)."""
    held = set()
    for key in client.scan_iter(match=f"{QUEUE}*", count=100):
        if client.type(key) == b"list":
            held.update(json.loads(raw)["headers"]["id"] for raw in client.lrange(key, 0, -1))
    for raw in client.hvals("unacked"):
        held.add(json.loads(raw)[0]["headers"]["id"])
    return held


def lipsync(task, message: dict) -> dict:
    """Lip-sync one video of a batch; returns its result as a dict (never raises for a bad
    video). ``message`` is :func:`message_for`'s."""
    context: WorkerContext = task.app.heygem_context
    # Deliveries are counted per task: a redelivery after a lost worker is the same task, a
    # user's retry is a new one (and starts from zero).
    deliveries_key = f"heygem:deliveries:{task.request.id}"
    key = f"{message['batch_id']}:{message['idx']}"
    deliveries = context.redis.incr(deliveries_key)
    context.redis.expire(deliveries_key, 7 * 86400)
    if deliveries > MAX_DELIVERIES:
        return {
            "status": "failed",
            "error": f"{message['name']}: lost {MAX_DELIVERIES} workers while running",
            "worker": context.name,
        }
    lock = f"heygem:lock:{key}"
    if not context.redis.set(lock, context.name, nx=True, ex=int(LOCK_SECONDS)):
        # another worker is on it (this is a redelivery that came too early): try later
        context.redis.decr(deliveries_key)
        raise task.retry(countdown=LOCK_SECONDS / 4, max_retries=None)
    try:
        return _run_locked(task, context, message, lock)
    finally:
        with contextlib.suppress(Exception):  # if Redis is away, the lock expires on its own
            context.redis.delete(lock)


def _run_locked(task, context: WorkerContext, message: dict, lock: str) -> dict:
    root = context.workspace
    spec = item_from(message, root)
    task.update_state(state="STARTED", meta={"worker": context.name, "stage": "probing", "progress": 0.0})

    # Progress and cancel checks must not fail a video while Redis restarts: they are skipped
    # until it is back (the video itself needs only the shared storage).
    def report(p: Progress) -> None:
        meta = {
            "worker": context.name,
            "stage": p.stage,
            "progress": p.fraction,
            "chunk": p.chunk,
            "chunks": p.chunks,
        }
        try:
            context.redis.expire(lock, int(LOCK_SECONDS))
            task.update_state(state="PROGRESS", meta=meta)
        except Exception as exc:  # redis or the result backend, briefly away
            log.warning("progress not reported (%s); going on", exc)

    def cancelled() -> bool:  # a cancel given after this video was sent
        try:
            when = context.redis.get(cancel_key(spec.batch_id))
        except Exception as exc:
            log.warning("cancel not checked (%s); going on", exc)
            return False
        return when is not None and float(when) >= message.get("sent", 0)

    if cancelled():
        return {"status": "cancelled", "error": "cancelled", "worker": context.name}
    log.info("batch %s: video %d %s on %s", spec.batch_id, spec.idx + 1, spec.name, context.name)
    result = context.runner.run(spec, report, cancelled)
    output = result.output.relative_to(root).as_posix() if result.output else None
    return {
        "status": str(result.status),
        "output": output,
        "error": result.error,
        "frames": result.frames,
        "frames_without_face": result.frames_without_face,
        "seconds": result.seconds,
        "engine": result.engine,
        "detector": result.detector,
        "runtime": result.runtime or None,
        "resumed_chunks": result.resumed_chunks,
        "chunk_attempts": result.chunk_attempts,
        "enhancer": result.enhancer or None,
        "worker": context.name,
        **result.detection(),
    }


def run_worker(broker: str, workspace: Path, runner: ItemRunner, name: str | None = None) -> None:
    """Load the model, then consume videos until stopped (blocks)."""
    name = name or f"heygem@{socket.gethostname()}-{os.getpid()}"
    workspace = workspace.absolute()  # this machine's mount as given (links not followed)
    status = runner.load()
    if status.state != EngineState.READY:
        raise SystemExit(f"worker {name}: {status.error}")
    app = make_celery(broker)
    app.heygem_context = WorkerContext(runner, workspace, broker, name)

    def consuming(**_) -> None:  # logged once Celery takes tasks, not merely once the model loaded
        log.info("worker %s ready (%s on %s), workspace %s", name, status.engine, status.device, workspace)

    worker_ready.connect(consuming, weak=False)
    started = time.monotonic()
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--hostname={name}",
            f"--queues={QUEUE}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ]
    )
    log.info("worker %s stopped after %.0f s", name, time.monotonic() - started)
