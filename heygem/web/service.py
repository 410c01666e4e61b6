"""What the web UI and the API do, in one place: submit, watch, cancel, retry, history.

Submitting works out the (narration, video) pairs (:mod:`heygem.web.pairs`), copies the
uploads into the batch's own folder (Gradio's cache may be cleaned at any time) under safe
names, each file once however many pairs use it, checks every file first so that an unusable
one is named with its reason before anything runs, records the batch in the job store and
wakes the worker.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from heygem import settings as batch_settings
from heygem.errors import HeygemError, MediaError
from heygem.jobs import (
    Batch,
    JobStore,
    NewItem,
    Workspace,
    delete_batch_files,
    safe_name,
    write_batch_manifest,
)
from heygem.settings import DEFAULT_MAX_PAIRS
from heygem.states import TERMINAL
from heygem.web.batchstatus import batch_status, unknown_batch
from heygem.web.pairs import UploadPlan, plan_uploads
from heygem.web.ziptokens import ZipTokens, zip_members

log = logging.getLogger("heygem")


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
    def __init__(
        self, workspace: Workspace, store: JobStore, worker, weights=None, max_pairs: int = DEFAULT_MAX_PAIRS
    ):
        """worker: the in-process Worker or the scale-out Dispatcher (same face); weights: the
        :class:`~heygem.web.downloads.WeightsInstaller` where the app runs its models itself;
        max_pairs: the most (narration, video) pairs one batch may hold."""
        self.workspace = workspace
        self.store = store
        self.worker = worker
        self.weights = weights
        self.max_pairs = max_pairs
        self._zips = ZipTokens()  # the History tab's zip downloads
        self._used: tuple[tuple, int] | None = None  # (store's change mark, bytes used) last walked

    # -- submitting ------------------------------------------------------------------------

    def plan(
        self,
        audio: Upload | list[Upload] | None,
        videos: list[Upload],
        pairing: str | None = None,
        manifest: Upload | None = None,
    ) -> UploadPlan:
        """The pairs a submission would make (raises what :meth:`submit` would refuse)."""
        audios = audio if isinstance(audio, list) else [audio] if audio else []
        if not audios:
            raise SubmitError("no narration audio was given")
        if not videos:
            raise SubmitError("no videos were given")
        return plan_uploads(audios, videos, pairing or "cross", manifest, self.max_pairs)

    def preview(self, audio, videos: list[Upload], pairing=None, manifest=None) -> dict:
        """:meth:`plan` as plain data for the Batch tab, or ``{"error": reason}``."""
        try:
            return self.plan(audio, videos, pairing, manifest).preview()
        except HeygemError as exc:
            return {"error": str(exc)}

    def submit(
        self,
        audio: Upload | list[Upload] | None,
        videos: list[Upload],
        settings: dict | None = None,
        pairing: str | None = None,
        manifest: Upload | None = None,
    ) -> str:
        """Record a batch and return its id. ``audio``: one narration or several; ``pairing``
        (cross, order or name; also read from a ``pairing`` key of ``settings``) or
        ``manifest`` (CSV or JSON rows naming uploaded files) says which narration goes onto
        which video. Bad videos, and bad narrations while another is usable, are recorded as
        failed with a reason."""
        given = dict(settings or {})
        pairing = given.pop("pairing", None) or pairing  # the API's settings may carry it
        clean = batch_settings.clean(given)
        planned = self.plan(audio, videos, pairing, manifest)
        batch_id = self.workspace.new_batch()
        try:  # a disk that filled, a store that failed: keep no half-copied files
            stored_audios, stored_videos, video_errors = self._copy_uploads(batch_id, planned)
            outputs = self.workspace.batch_outputs(batch_id)
            items = []
            for k in planned.order:
                pair = planned.plan.pairs[k]
                items.append(
                    NewItem(
                        safe_display(planned.videos[pair.video].name),
                        str(stored_videos[pair.video]),
                        str(outputs / f"{planned.stems[k]}.mp4"),
                        planned.audio_errors[pair.audio] or video_errors.get(pair.video),
                        str(stored_audios[pair.audio]),
                        safe_display(planned.audios[pair.audio].name),
                        pair.settings,
                    )
                )
            unmatched = [safe_display(name) for name in planned.plan.unmatched]
            first = planned.plan.pairs[planned.order[0]].audio  # stands for the batch where one is shown
            audio_name = safe_display(planned.audios[first].name)
            self.store.add_pairs(batch_id, str(stored_audios[first]), audio_name, clean, items, unmatched)
        except BaseException:
            delete_batch_files(self.workspace, batch_id)
            raise
        log.info(
            "batch %s submitted: %d pair(s) of %d narration(s) and %d video(s) (%s), settings %s%s",
            batch_id,
            len(items),
            len(stored_audios),
            len(stored_videos),
            planned.plan.rule,
            clean,
            f"; not paired: {', '.join(unmatched)}" if unmatched else "",
        )
        batch = self.store.get(batch_id)
        if batch.finished:  # nothing runnable: write its record at once
            write_batch_manifest(self.workspace, batch)
        self.worker.wake()
        return batch_id

    def _copy_uploads(self, batch_id: str, planned: UploadPlan) -> tuple[dict, dict, dict]:
        """Copy each narration and video that a pair uses into the batch's folder, once, and
        probe the videos: ({audio index: copy}, {video index: copy}, {video index: reason})."""
        from heygem.media import probe  # decoders load at the first submit, not with the UI

        folder = self.workspace.batch_uploads(batch_id)
        audios = sorted({pair.audio for pair in planned.plan.pairs})
        videos = sorted({pair.video for pair in planned.plan.pairs})
        stored_audios, stored_videos, errors = {}, {}, {}
        for k in audios:
            upload = planned.audios[k]
            prefix = "audio-" if len(audios) == 1 else f"audio-{k:02d}-"
            stored_audios[k] = folder / f"{prefix}{safe_name(upload.name, 'audio')}"
            _copy(upload, stored_audios[k])
        for k in videos:
            upload = planned.videos[k]
            stored_videos[k] = folder / f"{k:03d}-{safe_name(upload.name, 'video')}"
            _copy(upload, stored_videos[k])
            try:
                probe(stored_videos[k])
            except MediaError as exc:
                errors[k] = f"{upload.name}: {exc.reason}"
                log.warning("batch %s: %s", batch_id, errors[k])
        return stored_audios, stored_videos, errors

    # -- watching --------------------------------------------------------------------------

    def status(self, batch_id: str) -> dict:
        """The batch's state as plain JSON (the API's /batch_status)."""
        batch = self.store.get(batch_id)
        if batch is None:
            return unknown_batch(batch_id)
        position = self.store.queue_position(batch.id) if batch.state == "queued" else 0
        return batch_status(batch, position, self.worker)

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

    def zip_selection(self, paths: list[str], group: str | None = None) -> str:
        """A token for one zip of the given outputs (only files inside outputs/ are taken),
        fetched from ``heygem/zip/<token>`` within ZIP_TOKEN_SECONDS. Each file goes under its
        batch's folder; ``group`` ("audio" or "video"): a batch of several narrations gets a
        folder per narration (or per video) inside it."""
        files = [Path(p) for p in paths if self.workspace.contains_output(p) and Path(p).is_file()]
        if not files:
            raise HeygemError("nothing to download")
        return self._zips.issue(zip_members(files, group, self.store.get))

    def zip_files(self, token: str) -> tuple[str, list[tuple[Path, str]]]:
        """The zip's file name and its members (path, name in the archive) for a token."""
        return self._zips.files(token)

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


def safe_display(name: str) -> str:
    """A name to show: the last path part only, control characters dropped."""
    name = str(name).replace("\\", "/").split("/")[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "file"
