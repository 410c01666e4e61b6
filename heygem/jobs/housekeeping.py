"""What happens around batches: the manifest, retention, stale files."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from heygem.jobs.records import Batch
from heygem.jobs.store import JobStore
from heygem.jobs.workspace import Workspace
from heygem.lipsync.manifest import Manifest, ManifestEntry, write_manifest

log = logging.getLogger("heygem")


def batch_manifest(batch: Batch) -> Manifest:
    """What ``batch.json`` and the notification say about a batch (the CLI's schema, plus
    the batch id and each pair's worker)."""
    videos = [
        ManifestEntry(
            i.name,
            i.status,
            i.output,
            i.error,
            i.frames,
            i.frames_without_face,
            round(i.seconds, 2) if i.seconds else None,
            i.engine,
            i.detector,
            i.worker,
            audio=batch.narration(i)[1],
            track_cached=None if i.track_cached is None else bool(i.track_cached),
            detected_frames=i.detected_frames,
            detect_seconds=i.detect_seconds,
            runtime=i.runtime,
            enhancer=i.enhancer,
        )
        for i in batch.items
    ]
    seconds = (batch.finished or time.time()) - batch.created
    return Manifest(batch.audio_name, batch.settings, seconds, videos, batch.id, batch.unmatched)


def write_batch_manifest(workspace: Workspace, batch: Batch) -> None:
    """outputs/<batch>/batch.json, replaced atomically."""
    write_manifest(workspace.batch_outputs(batch.id), batch_manifest(batch))


def batch_ended(store: JobStore, workspace: Workspace, batch_id: str) -> None:
    """Write a finished batch's manifest."""
    batch = store.get(batch_id)
    if batch is None:
        return
    write_batch_manifest(workspace, batch)
    log.info("batch %s %s: %s", batch.id, batch.state, batch.counts)


def sweep_retention(store: JobStore, workspace: Workspace, days: float) -> int:
    """Delete batches that finished more than ``days`` ago; returns how many."""
    limit = time.time() - days * 86400
    count = 0
    for batch in store.batches(limit=100_000):
        if batch.finished and batch.finished < limit:
            log.info("retention: deleting batch %s (finished over %g days ago)", batch.id, days)
            delete_batch_files(workspace, batch.id)
            store.delete_batch(batch.id)
            count += 1
    return count


def delete_batch_files(workspace: Workspace, batch_id: str) -> None:
    for folder in (workspace.batch_outputs(batch_id), workspace.batch_uploads(batch_id)):
        shutil.rmtree(folder, ignore_errors=True)


def remove_partial_files(outputs: Path) -> None:
    """At start-up nothing is running: temporary files left by a killed process are stale.
    Finished chunk segments are kept (they let the video resume)."""
    for stale in outputs.glob("*/.work/*/*.part.mp4"):
        log.info("removing the partial file %s left by a stopped process", stale.name)
        stale.unlink(missing_ok=True)
