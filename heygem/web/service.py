"""What the web UI and the API do, in one place: submit, watch, cancel, retry, history.

Submitting works out the (narration, video) pairs (:mod:`heygem.web.pairs`), stores the
uploads in the batch's own folder (:mod:`heygem.web.intake`; a library presenter,
:mod:`heygem.web.presenters`, is linked, not copied), records the batch in the job store and
wakes the worker. ``presenters`` is the library's own actions; :meth:`Service.queue` the
unfinished batches in run order (:mod:`heygem.web.queue`).

The rules of a batch's state live here, so every front obeys the same ones: an action the
state does not allow now (cancel a finished batch, retry or delete a running one) raises
:class:`ConflictError`, an unknown batch or output :class:`NotFoundError`. The REST API answers
them with 409 and 404, the page with a warning.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from heygem import settings as batch_settings
from heygem.errors import HeygemError
from heygem.jobs import (
    Batch,
    JobStore,
    NewItem,
    Workspace,
    delete_batch_files,
)
from heygem.settings import DEFAULT_MAX_PAIRS
from heygem.states import TERMINAL, BatchState, ItemStatus
from heygem.web.batchfiles import archive_members, finished_outputs, used_bytes
from heygem.web.batchstatus import batch_status, health_status, unknown_batch
from heygem.web.intake import SubmitError, Upload, safe_display, store_uploads
from heygem.web.once import Once
from heygem.web.pairs import UploadPlan, plan_uploads
from heygem.web.presenters import PresenterLibrary
from heygem.web.queue import queue_status
from heygem.web.refusals import ConflictError, NotFoundError
from heygem.web.ziptokens import ZipTokens, zip_members

log = logging.getLogger("heygem")


__all__ = ["ConflictError", "NotFoundError", "Service", "SubmitError", "Upload"]


class Service:
    def __init__(
        self, workspace: Workspace, store: JobStore, worker, weights=None, max_pairs: int = DEFAULT_MAX_PAIRS
    ):
        """worker: the in-process Worker or the scale-out Dispatcher (same face); weights: the
        :class:`~heygem.web.weights_install.WeightsInstaller` where the app runs its models
        itself; max_pairs: the most (narration, video) pairs one batch may hold."""
        self.workspace = workspace
        self.store = store
        self.worker = worker
        self.weights = weights
        self.max_pairs = max_pairs
        self._zips = ZipTokens()  # the History tab's zip downloads
        self._once = Once()  # a submission's request id: the same one twice makes one batch
        self.presenters = PresenterLibrary(workspace, store, worker)
        self._used: tuple[tuple, int] | None = None  # (store's change mark, bytes used) last walked

    # -- submitting ------------------------------------------------------------------------

    def plan(
        self,
        audio: Upload | list[Upload] | None,
        videos: list[Upload],
        pairing: str | None = None,
        manifest: Upload | None = None,
        presenters: list[str] | None = None,
    ) -> UploadPlan:
        """The pairs a submission would make (raises what :meth:`submit` would refuse)."""
        videos = [*videos, *self.presenters.uploads(presenters)]
        audios = audio if isinstance(audio, list) else [audio] if audio else []
        if not audios:
            raise SubmitError("no narration audio was given")
        if not videos:
            raise SubmitError("no videos were given")
        return plan_uploads(audios, videos, pairing or "cross", manifest, self.max_pairs)

    def pair_plan(self, audio, videos: list[Upload], pairing=None, manifest=None, presenters=None) -> dict:
        """:meth:`plan` as plain data for the Batch tab's table of pairs (``template``: those
        pairs as a manifest to fill in, CSV), or ``{"error": reason}``."""
        try:
            planned = self.plan(audio, videos, pairing, manifest, presenters)
        except HeygemError as exc:
            return {"error": str(exc)}
        return planned.summary() | {"template": planned.template_csv()}

    def submit(
        self,
        audio: Upload | list[Upload] | None,
        videos: list[Upload],
        settings: dict | None = None,
        pairing: str | None = None,
        manifest: Upload | None = None,
        presenters: list[str] | None = None,
        request_id: str | None = None,
    ) -> str:
        """Record a batch and return its id. ``audio``: one narration or several; ``videos``:
        uploads, and ``presenters``: library presenters (ids or names), each named as the
        presenter (``Anna.mp4``); ``pairing`` (cross, order or name; also read from a
        ``pairing`` key of ``settings``) or ``manifest`` (CSV or JSON rows naming uploaded
        files) says which narration goes onto which video. Bad videos, and bad narrations
        while another is usable, are recorded as failed with a reason. ``request_id``: the
        same one again gives the first one's batch, making none (:mod:`heygem.web.once`)."""

        def make() -> str:
            return self._submit(audio, videos, settings, pairing, manifest, presenters)

        return self._once.run(request_id, make)

    def _submit(self, audio, videos: list[Upload], settings, pairing, manifest, presenters) -> str:
        given = dict(settings or {})
        pairing = given.pop("pairing", None) or pairing  # the API's settings may carry it
        clean = batch_settings.clean(given)
        planned = self.plan(audio, videos, pairing, manifest, presenters)
        batch_id = self.workspace.new_batch()
        try:  # a disk that filled, a store that failed: keep no half-copied files
            stored = store_uploads(self.workspace, batch_id, planned)
            outputs = self.workspace.batch_outputs(batch_id)
            items = []
            for k in planned.order:
                pair = planned.plan.pairs[k]
                presenter = planned.videos[pair.video].presenter
                items.append(
                    NewItem(
                        safe_display(planned.videos[pair.video].name),
                        str(stored.videos[pair.video]),
                        str(outputs / f"{planned.stems[k]}.mp4"),
                        planned.audio_errors[pair.audio] or stored.video_errors.get(pair.video),
                        str(stored.audios[pair.audio]),
                        safe_display(planned.audios[pair.audio].name),
                        {**(presenter.settings if presenter else {}), **pair.settings},
                        presenter.id if presenter else None,
                    )
                )
            unmatched = [safe_display(name) for name in planned.plan.unmatched]
            first = planned.plan.pairs[planned.order[0]].audio  # stands for the batch where one is shown
            audio_name = safe_display(planned.audios[first].name)
            self.store.add_pairs(batch_id, str(stored.audios[first]), audio_name, clean, items, unmatched)
        except BaseException:
            delete_batch_files(self.workspace, batch_id)
            raise
        log.info(
            "batch %s submitted: %d pair(s) of %d narration(s) and %d video(s) (%s), settings %s%s",
            batch_id,
            len(items),
            len(stored.audios),
            len(stored.videos),
            planned.plan.rule,
            clean,
            f"; not paired: {', '.join(unmatched)}" if unmatched else "",
        )
        if self.store.get(batch_id).finished:  # nothing runnable: it ended here
            self.worker.ended(batch_id)  # its batch.json and notification
        self.worker.wake()
        return batch_id

    # -- watching --------------------------------------------------------------------------

    def status(self, batch_id: str) -> dict:
        """The batch's state as plain JSON (the API's /batch_status)."""
        batch = self.store.get(batch_id)
        if batch is None:
            return unknown_batch(batch_id)
        position = self.store.queue_position(batch.id) if batch.state == "queued" else 0
        return batch_status(batch, position, self.worker)

    def batch(self, batch_id: str) -> Batch:
        batch = self.store.get(batch_id)
        if batch is None:
            raise NotFoundError(f"no batch {batch_id!r}")
        return batch

    def batches(self, state: str | None = None, limit: int = 200) -> list[Batch]:
        """Newest first; with ``state``, only the batches in it."""
        return self.store.batches(limit, state)

    def latest_batch_id(self) -> str | None:
        """The batch a freshly opened page watches: the running one, else the oldest queued
        (the next to run), else the newest."""
        waiting = self.store.unfinished()  # in run order
        running = [b for b in waiting if b.state == BatchState.RUNNING]
        if running or waiting:
            return (running or waiting)[0].id
        newest = self.store.batches(limit=1)
        return newest[0].id if newest else None

    def queue(self) -> dict:
        """The unfinished batches in run order, each with its progress and ETA, and the whole
        queue's ETA (:func:`heygem.web.queue.queue_status`)."""
        return queue_status(self.store.unfinished(), self.store.recent_video_seconds())

    # -- acting ----------------------------------------------------------------------------

    def cancel(self, batch_id: str) -> dict:
        """Stop a batch: its queued videos at once, the running one after its current chunk.
        Refused for a batch that has finished or is already stopping."""
        batch = self.batch(batch_id)
        if not _unfinished(batch):
            raise ConflictError(f"batch {batch_id} has already finished ({batch.state})", "finished")
        if batch.cancel:
            message = f"batch {batch_id}: cancel was already asked (its running video is stopping)"
            raise ConflictError(message, "stopping")
        self.store.cancel_batch(batch_id)
        log.info("batch %s: cancel requested", batch_id)
        self.worker.cancelled(batch_id)
        if self.store.get(batch_id).finished:  # nothing of it was running: it ended here
            self.worker.ended(batch_id)
        return self.status(batch_id)

    def retry_load(self) -> bool:
        """Load the models again after a failed load (the System tab's button)."""
        return self.worker.retry_load()

    def retry(self, batch_id: str) -> int:
        """Queue a finished batch's failed and cancelled videos again; returns how many.
        Refused while the batch runs, or when nothing failed or was cancelled."""
        batch = self.batch(batch_id)
        if _unfinished(batch):
            message = f"batch {batch_id} is still running: wait for it or cancel it first"
            raise ConflictError(message, "running")
        again = (ItemStatus.FAILED, ItemStatus.CANCELLED)
        if not any(i.status in again and i.video for i in batch.items):
            message = f"batch {batch_id}: nothing to retry (no failed or cancelled video)"
            raise ConflictError(message, "nothing_to_retry")
        count = self.store.retry_batch(batch_id)
        log.info("batch %s: %d item(s) queued again", batch_id, count)
        self.worker.retried(batch_id)
        return count

    def delete_output(self, batch_id: str, idx: int) -> None:
        batch = self.batch(batch_id)
        item = batch.items[idx] if 0 <= idx < len(batch.items) else None
        if item is None or not item.output or not self.workspace.contains_output(item.output):
            raise NotFoundError(f"batch {batch_id} has no such output")
        Path(item.output).unlink(missing_ok=True)
        self.store.set_output(batch_id, idx, None)
        log.info("batch %s: deleted output %s", batch_id, Path(item.output).name)

    def delete_batch(self, batch_id: str) -> None:
        """Delete a batch with its files; refused while it runs."""
        if _unfinished(self.batch(batch_id)):
            raise ConflictError(f"batch {batch_id} is still running: cancel it first", "running")
        delete_batch_files(self.workspace, batch_id)
        self.store.delete_batch(batch_id)
        log.info("batch %s deleted", batch_id)

    # -- files -----------------------------------------------------------------------------

    def output_file(self, batch_id: str, name: str) -> Path:
        """The finished output of this batch called ``name`` (a file name, never a path)."""
        found = [p for p in finished_outputs(self.workspace, self.batch(batch_id)) if p.name == name]
        if not found:
            raise NotFoundError(f"batch {batch_id} has no output named {name!r}")
        return found[0]

    def archive_members(self, batch_id: str) -> list[tuple[str, Path | bytes]]:
        """What the batch's zip holds (:func:`heygem.web.batchfiles.archive_members`)."""
        return archive_members(self.workspace, self.batch(batch_id))

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

    # -- the machine -----------------------------------------------------------------------

    def disk(self) -> dict:
        """Bytes used by outputs and uploads, and free on the workspace's disk. Walking every
        file is kept for when the store says files came or went (a video finished, a batch
        was submitted or deleted); free space is one system call and always fresh."""
        mark = (self.store.change_mark(), len(self.store.presenters()))  # a presenter added or deleted
        if self._used is None or self._used[0] != mark:
            self._used = (mark, used_bytes(self.workspace))
        return {"used_bytes": self._used[1], "free_bytes": shutil.disk_usage(self.workspace.root).free}

    def health(self) -> dict:
        """For load balancers and monitors: the engine, the worker thread, the queue, the disk."""
        free = shutil.disk_usage(self.workspace.root).free
        return health_status(self.worker, self.store.queue_length(), free)


def _unfinished(batch: Batch) -> bool:
    return any(i.status not in TERMINAL for i in batch.items)
