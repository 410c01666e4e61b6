"""A batch's state as plain JSON: what gradio_client's /batch_status answers and, with download
URLs added, what the REST API returns and streams for a batch (:mod:`heygem.web.apischema`
documents the fields); and the app's health, as /health answers it.

Pure: the batch, its place in the queue and the worker's state in, a dict out.
"""

from __future__ import annotations

import time

from heygem.jobs import Batch, Item
from heygem.states import TERMINAL


def unknown_batch(batch_id: str) -> dict:
    """The answer for a batch id the store does not hold (never submitted, or deleted)."""
    return {"batch_id": batch_id, "state": "unknown", "items": [], "error": "no such batch"}


def batch_status(batch: Batch, queue_position: int, worker) -> dict:
    """``batch`` as JSON: ``queue_position`` (:meth:`heygem.jobs.JobStore.queue_position`, 0
    unless queued); ``worker``: the in-process Worker or the scale-out Dispatcher (its models'
    and its loop's state are shown with every batch)."""
    running = next((i for i in batch.items if i.status == "running"), None)
    return {
        "batch_id": batch.id,
        "seq": batch.seq,
        "state": batch.state,
        "created": batch.created,
        "finished": batch.finished,
        "audio": batch.audio_name,
        "audios": batch.narrations,
        "unmatched": batch.unmatched,
        "settings": batch.settings,
        "counts": batch.counts,
        "progress": round(batch.fraction, 4),
        "current": running.name if running else None,
        "current_audio": batch.narration(running)[1] if running else None,
        "current_index": running.idx + 1 if running else None,
        "total": len(batch.items),
        "queue_position": queue_position,
        "eta_seconds": eta_seconds(batch),
        "models_state": worker.status.state,  # the models: loading, ready or error
        "models_error": worker.status.error,  # why they failed to load; what waits on them
        # The same two under their names up to 0.2 ("engine" is also each item's engine, the
        # wav2lip or loudness that made it): kept one release, for clients reading them.
        "engine": worker.status.state,
        "engine_error": worker.status.error,
        "notification": batch.notification,  # state (pending, sent, failed), attempts, error
        "worker_state": worker.health.state,  # ok, retrying or down: is the queue moving
        "worker_error": worker.health.error,
        "items": [item_status(batch, item) for item in batch.items],
    }


LOW_DISK = 10 * 1024**3  # bytes free under which health says the disk is low (the UI warns too)


def health_status(worker, queue: tuple[int, int], free_bytes: int) -> dict:
    """The app's health as JSON (REST /health): the worker's models and loop, the queue
    ((batches, videos) unfinished), the disk's free bytes."""
    engine = worker.status
    loop = worker.health  # ok, retrying (a round failed) or down (rounds keep failing)
    return {
        "ok": worker.alive and engine.state != "error" and loop.state != "down",
        "engine": {
            "state": engine.state,
            "engine": engine.engine,
            "detector": engine.detector,
            "device": engine.device,
            "runtime": engine.runtime,
            "int8_gate": engine.int8_gate,
            "error": engine.error,
        },
        "worker_alive": worker.alive,
        "worker_state": loop.state,
        "worker_error": loop.error,
        "queue": {"batches": queue[0], "videos": queue[1]},
        "disk": {"free_bytes": free_bytes, "low": free_bytes < LOW_DISK},
    }


def item_status(batch: Batch, item: Item) -> dict:
    """One video of :func:`batch_status`."""
    return {
        "video": item.name,
        "audio": batch.narration(item)[1],
        "status": item.status,
        "progress": round(item.progress, 4),
        "stage": item.stage,
        "chunk": item.chunk,
        "chunks": item.chunks,
        "output": item.output,
        "error": item.error,
        "frames": item.frames,
        "frames_without_face": item.frames_without_face,
        "track_cached": None if item.track_cached is None else bool(item.track_cached),
        "detected_frames": item.detected_frames,
        "detect_seconds": item.detect_seconds,
        "seconds": item.seconds,
        "attempts": item.attempts,
        "resumed_chunks": item.resumed_chunks,  # of its last run: kept from an earlier one
        "chunk_attempts": item.chunk_attempts,  # of its last run: tries per chunk, 0 resumed
        "engine": item.engine,
        "runtime": item.runtime,
        "detector": item.detector,
        "enhancer": item.enhancer,
        "presenter": item.presenter,  # the library presenter it used; None: an uploaded video
        "worker": item.worker,
        "started": item.started,
        "finished": item.finished,
    }


def eta_seconds(batch: Batch) -> float | None:
    """Remaining seconds, from the pace of the current run so far (None until there is a pace):
    after a retry only the retried videos count, not the ones done before it. Every video
    weighs the same (their narrations' lengths are not stored)."""
    items = batch.this_run()
    starts = [i.started for i in items if i.started and i.started >= (batch.run_started or 0.0)]
    if batch.state != "running" or not starts:
        return None
    done = sum(1.0 if i.status in TERMINAL else i.progress for i in items) / len(items)
    elapsed = time.time() - min(starts)
    if done < 0.02 or elapsed < 1:
        return None
    return round(elapsed * (1 - done) / done, 1)
