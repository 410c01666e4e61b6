"""A batch's state as plain JSON: what gradio_client's /batch_status answers and, with download
URLs added, what the REST API returns and streams for a batch (:mod:`heygem.web.apischema`
documents the fields).

Pure: the batch, its place in the queue and the worker's state in, a dict out.
"""

from __future__ import annotations

import time

from heygem.jobs import Batch, Item


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
        "worker": item.worker,
        "started": item.started,
        "finished": item.finished,
    }


def eta_seconds(batch: Batch) -> float | None:
    """Remaining seconds, from the pace so far (None until there is a pace)."""
    starts = [i.started for i in batch.items if i.started]
    if batch.state not in ("running",) or not starts:
        return None
    done = batch.fraction
    elapsed = time.time() - min(starts)
    if done < 0.02 or elapsed < 1:
        return None
    return round(elapsed * (1 - done) / done, 1)
