"""What the web UI and the API do, in one place: submit, watch, cancel, retry, history.

Submitting copies the uploads into the batch's own folder (Gradio's cache may be cleaned at
any time) under safe names, checks every file first so that an unusable one is named with
its reason before anything runs, records the batch in the job store and wakes the worker.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from heygem import settings as batch_settings
from heygem.errors import HeygemError, MediaError
from heygem.jobs import Batch, JobStore, Workspace, delete_batch_files, safe_name, write_batch_manifest
from heygem.states import TERMINAL

log = logging.getLogger("heygem")

ZIP_TOKEN_SECONDS = 3600  # a zip download's link works this long


class SubmitError(HeygemError):
    """A submission refused as a whole (no audio, no video, unreadable audio)."""


@dataclass(frozen=True)
class Upload:
    path: Path  # where the file is now (Gradio's cache, or anywhere for the API)
    name: str  # the name the user gave it

    @classmethod
    def of(cls, path) -> Upload:
        """A Gradio upload: Gradio keeps the uploaded name as the file's name."""
        return cls(Path(path), Path(path).name)


class Service:
    def __init__(self, workspace: Workspace, store: JobStore, worker):
        """worker: the in-process Worker or the scale-out Dispatcher (same face)."""
        self.workspace = workspace
        self.store = store
        self.worker = worker
        self._zips: dict[str, tuple[float, str, list[Path]]] = {}  # token -> (made, name, files)
        self._used: tuple[tuple, int] | None = None  # (store's change mark, bytes used) last walked

    # -- submitting ------------------------------------------------------------------------

    def submit(self, audio: Upload, videos: list[Upload], settings: dict | None = None) -> str:
        """Record a batch and return its id; bad videos are recorded as failed with a reason."""
        if audio is None:
            raise SubmitError("no narration audio was given")
        if not videos:
            raise SubmitError("no videos were given")
        from heygem.media import check_audio, probe  # decoders load at the first submit, not with the UI

        clean = batch_settings.clean(settings)
        check_audio(audio.path, audio.name)
        batch_id = self.workspace.new_batch()
        try:
            stored_audio, rows = self._store_uploads(batch_id, audio, videos, probe)
            self.store.add_batch(batch_id, str(stored_audio), safe_display(audio.name), clean, rows)
        except BaseException:  # a disk that filled, a store that failed: keep no half-copied files
            delete_batch_files(self.workspace, batch_id)
            raise
        log.info(
            "batch %s submitted: %d video(s), audio %s, settings %s", batch_id, len(rows), audio.name, clean
        )
        batch = self.store.get(batch_id)
        if batch.finished:  # nothing runnable: write its record at once
            write_batch_manifest(self.workspace, batch)
        self.worker.wake()
        return batch_id

    def _store_uploads(self, batch_id: str, audio: Upload, videos: list[Upload], probe) -> tuple[Path, list]:
        """Copy the uploads into the batch's folder; returns the stored narration and the store's
        rows (name, stored path, output path, error or None), a bad video failed with its reason."""
        folder = self.workspace.batch_uploads(batch_id)
        stored_audio = folder / f"audio-{safe_name(audio.name, 'audio')}"
        _copy(audio, stored_audio)
        rows = []
        taken: set[str] = set()
        for idx, upload in enumerate(videos):
            name = safe_name(upload.name, "video")
            stored = folder / f"{idx:03d}-{name}"  # the index keeps two uploads of one name apart
            dest = self.workspace.batch_outputs(batch_id) / unique_stem(Path(name).stem, taken)
            _copy(upload, stored)
            try:
                probe(stored)
                error = None
            except MediaError as exc:
                error = f"{upload.name}: {exc.reason}"
                log.warning("batch %s: %s", batch_id, error)
            rows.append((safe_display(upload.name), str(stored), f"{dest}.mp4", error))
        return stored_audio, rows

    # -- watching --------------------------------------------------------------------------

    def status(self, batch_id: str) -> dict:
        """The batch's state as plain JSON (the API's /batch_status)."""
        batch = self.store.get(batch_id)
        if batch is None:
            return {"batch_id": batch_id, "state": "unknown", "items": [], "error": "no such batch"}
        running = next((i for i in batch.items if i.status == "running"), None)
        return {
            "batch_id": batch.id,
            "seq": batch.seq,
            "state": batch.state,
            "created": batch.created,
            "finished": batch.finished,
            "audio": batch.audio_name,
            "settings": batch.settings,
            "counts": batch.counts,
            "progress": round(batch.fraction, 4),
            "current": running.name if running else None,
            "current_index": running.idx + 1 if running else None,
            "total": len(batch.items),
            "queue_position": self.store.queue_position(batch.id) if batch.state == "queued" else 0,
            "eta_seconds": eta_seconds(batch),
            "engine": self.worker.status.state,  # the models: loading, ready or error
            "engine_error": self.worker.status.error,  # why they failed to load; what waits on them
            "notification": batch.notification,  # state (pending, sent, failed), attempts, error
            "worker_state": self.worker.health.state,  # ok, retrying or down: is the queue moving
            "worker_error": self.worker.health.error,
            "items": [
                {
                    "video": i.name,
                    "status": i.status,
                    "progress": round(i.progress, 4),
                    "stage": i.stage,
                    "chunk": i.chunk,
                    "chunks": i.chunks,
                    "output": i.output,
                    "error": i.error,
                    "frames": i.frames,
                    "frames_without_face": i.frames_without_face,
                    "seconds": i.seconds,
                    "attempts": i.attempts,
                    "resumed_chunks": i.resumed_chunks,  # of its last run: kept from an earlier one
                    "chunk_attempts": i.chunk_attempts,  # of its last run: tries per chunk, 0 resumed
                    "engine": i.engine,
                    "detector": i.detector,
                    "worker": i.worker,
                    "started": i.started,
                    "finished": i.finished,
                }
                for i in batch.items
            ],
        }

    def batches(self) -> list[Batch]:
        return self.store.batches()

    def latest_batch_id(self) -> str | None:
        """The running batch, else the newest."""
        batches = self.store.batches(limit=50)
        for batch in batches:
            if batch.state in ("running", "queued"):
                return batch.id
        return batches[0].id if batches else None

    # -- acting ----------------------------------------------------------------------------

    def cancel(self, batch_id: str) -> dict:
        found = self.store.cancel_batch(batch_id)
        if found:
            log.info("batch %s: cancel requested", batch_id)
            self.worker.cancelled(batch_id)
        return self.status(batch_id)

    def retry_load(self) -> bool:
        """Load the models again after a failed load (the System tab's button)."""
        return self.worker.retry_load()

    def retry(self, batch_id: str) -> int:
        count = self.store.retry_batch(batch_id)
        log.info("batch %s: %d item(s) queued again", batch_id, count)
        self.worker.retried(batch_id)
        return count

    def delete_output(self, batch_id: str, idx: int) -> None:
        batch = self.store.get(batch_id)
        item = batch.items[idx] if batch and 0 <= idx < len(batch.items) else None
        if item is None or not item.output or not self.workspace.contains_output(item.output):
            raise HeygemError("no such output")
        Path(item.output).unlink(missing_ok=True)
        self.store.set_output(batch_id, idx, None)
        log.info("batch %s: deleted output %s", batch_id, Path(item.output).name)

    def delete_batch(self, batch_id: str) -> None:
        batch = self.store.get(batch_id)
        if batch is None:
            return
        if any(i.status not in TERMINAL for i in batch.items):
            raise HeygemError("the batch is still running: cancel it first")
        delete_batch_files(self.workspace, batch_id)
        self.store.delete_batch(batch_id)
        log.info("batch %s deleted", batch_id)

    def zip_selection(self, paths: list[str]) -> str:
        """A token for one zip of the given outputs (only files inside outputs/ are taken),
        fetched from ``heygem/zip/<token>`` within ZIP_TOKEN_SECONDS."""
        files = [Path(p) for p in paths if self.workspace.contains_output(p) and Path(p).is_file()]
        if not files:
            raise HeygemError("nothing to download")
        now = time.monotonic()
        for old in [t for t, (made, _, _) in self._zips.items() if now - made > ZIP_TOKEN_SECONDS]:
            del self._zips[old]
        token = secrets.token_urlsafe(16)
        self._zips[token] = (now, time.strftime("heygem-%Y%m%d-%H%M%S.zip"), files)
        return token

    def zip_files(self, token: str) -> tuple[str, list[tuple[Path, str]]]:
        """The zip's file name and its members (path, name in the archive) for a token."""
        made, name, files = self._zips.get(token) or (0.0, "", [])
        if not files or time.monotonic() - made > ZIP_TOKEN_SECONDS:
            raise HeygemError("this download has expired: make the zip again")
        return name, [(f, f"{f.parent.name}/{f.name}") for f in files if f.is_file()]

    def disk(self) -> dict:
        """Bytes used by outputs and uploads, and free on the workspace's disk. Walking every
        file is kept for when the store says files came or went (a video finished, a batch
        was submitted or deleted); free space is one system call and always fresh."""
        mark = self.store.change_mark()
        if self._used is None or self._used[0] != mark:
            used = sum(
                f.stat().st_size for d in self.workspace.servable() for f in d.rglob("*") if f.is_file()
            )
            self._used = (mark, used)
        return {"used_bytes": self._used[1], "free_bytes": shutil.disk_usage(self.workspace.root).free}


def _copy(upload: Upload, stored: Path) -> None:
    """Copy an upload into its batch; a failed copy (disk full) names the file and the reason."""
    try:
        shutil.copyfile(upload.path, stored)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SubmitError(f"{safe_display(upload.name)}: could not be stored: {reason}") from exc


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


def unique_stem(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem-1``, ``stem-2``... when a video of the same batch already has it."""
    candidate, n = stem, 0
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}"
    taken.add(candidate.lower())
    return candidate


def safe_display(name: str) -> str:
    """A name to show: the last path part only, control characters dropped."""
    name = str(name).replace("\\", "/").split("/")[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "file"
