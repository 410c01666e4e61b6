"""What happens around batches: the manifest, retention, stale files."""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path

from heygem.jobs.records import Batch
from heygem.jobs.store import JobStore
from heygem.jobs.workspace import BATCH_ID, Workspace
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


def write_batch_record(store: JobStore, workspace: Workspace, batch_id: str) -> Batch | None:
    """Write a batch's ``batch.json`` as the store has it now; returns the batch (None when
    it was deleted meanwhile)."""
    batch = store.get(batch_id)
    if batch is not None:
        write_batch_manifest(workspace, batch)
    return batch


def sweep_retention(store: JobStore, workspace: Workspace, days: float) -> int:
    """Delete batches that finished more than ``days`` ago; returns how many."""
    old = store.finished_before(time.time() - days * 86400)
    for batch_id in old:
        log.info("retention: deleting batch %s (finished over %g days ago)", batch_id, days)
        delete_batch_files(workspace, batch_id)
        store.delete_batch(batch_id)
    return len(old)


def delete_batch_files(workspace: Workspace, batch_id: str) -> None:
    for folder in (workspace.batch_outputs(batch_id), workspace.batch_uploads(batch_id)):
        shutil.rmtree(folder, ignore_errors=True)


def remove_partial_files(outputs: Path) -> None:
    """At start-up nothing is running here: the unfinished segments a killed process left are
    stale. Finished chunk segments are kept (they let the video resume). Not in scale-out
    mode, where workers on other machines may be writing them."""
    for stale in outputs.glob("*/.work/*/*.part.mp4"):
        log.info("removing the partial file %s left by a stopped process", stale.name)
        stale.unlink(missing_ok=True)


LIBRARY_FOLDER = re.compile(r"[0-9a-f]{64}")  # a presenter's folder: its file's SHA-256
STALE_LIBRARY_SECONDS = 3600  # a presenter folder without a record this old was an add cut short


def remove_stale_files(store: JobStore, workspace: Workspace) -> None:
    """At the app's start (nothing is submitted yet): what a killed app process left half
    made goes: REST uploads being staged, a batch's folders copied before its store row was
    written, a library presenter's folder stored an hour ago or more with no record, hidden
    half-written batch.json files. Folders that are no batch's (not named as
    :meth:`~heygem.jobs.workspace.Workspace.new_batch` names them) or no presenter's are never
    touched."""
    staging = workspace.cache / "api-uploads"
    for stale in staging.glob("upload-*") if staging.is_dir() else ():
        log.info("removing the unfinished upload %s left by a stopped process", stale.name)
        shutil.rmtree(stale, ignore_errors=True)
    for stale in workspace.outputs.glob("*/.batch.json.*.tmp"):
        stale.unlink(missing_ok=True)
    for folder in (workspace.uploads, workspace.outputs):
        for batch_folder in folder.iterdir() if folder.is_dir() else ():
            if (
                batch_folder.is_dir()
                and BATCH_ID.fullmatch(batch_folder.name)
                and store.get(batch_folder.name) is None
            ):
                log.info("removing %s: no batch of that id (a submit cut short)", batch_folder)
                shutil.rmtree(batch_folder, ignore_errors=True)
    known = {p.sha256 for p in store.presenters()}
    old = time.time() - STALE_LIBRARY_SECONDS
    for folder in workspace.library.iterdir() if workspace.library.is_dir() else ():
        if (
            LIBRARY_FOLDER.fullmatch(folder.name)
            and folder.name not in known
            and folder.stat().st_mtime < old
        ):
            log.info("removing %s: no presenter holds it (an add cut short)", folder)
            shutil.rmtree(folder, ignore_errors=True)
