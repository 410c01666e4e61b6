"""What the REST API asks of the service beyond what the UI does.

The UI only offers what a batch's state allows (no cancel button on a finished batch); an API
client may ask anything, so these refuse with a reason instead: :class:`NotFoundError` for an
unknown batch or output, :class:`ConflictError` for an action the batch's state does not allow
now. The UI's own actions stay in :class:`heygem.web.service.Service`, which this extends.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from heygem.errors import HeygemError
from heygem.jobs import Batch, batch_manifest
from heygem.states import TERMINAL, ItemStatus
from heygem.web.service import Service

STATE_SCAN = 10_000  # newest batches a listing by state looks through
LOW_DISK = 10 * 1024**3  # bytes free under which health says the disk is low (the UI warns too)


class NotFoundError(HeygemError):
    """No such batch, or no such output in it."""


class ConflictError(HeygemError):
    """An action the batch's state does not allow now (cancel a finished batch, delete a running one)."""


class RestService(Service):
    def batch(self, batch_id: str) -> Batch:
        batch = self.store.get(batch_id)
        if batch is None:
            raise NotFoundError(f"no batch {batch_id!r}")
        return batch

    def batches_in(self, state: str | None, limit: int) -> list[Batch]:
        """Newest first; with ``state``, only the batches in it (among the newest STATE_SCAN)."""
        if state is None:
            return self.store.batches(limit=limit)
        return [b for b in self.store.batches(limit=STATE_SCAN) if b.state == state][:limit]

    def cancel_unfinished(self, batch_id: str) -> dict:
        """:meth:`cancel`, refused for a batch that has finished or is already stopping."""
        batch = self.batch(batch_id)
        if not _unfinished(batch):
            raise ConflictError(f"batch {batch_id} has already finished ({batch.state})")
        if batch.cancel:
            raise ConflictError(f"batch {batch_id}: cancel was already asked (its running video is stopping)")
        return self.cancel(batch_id)

    def retry_finished(self, batch_id: str) -> dict:
        """:meth:`retry`, refused while the batch runs or when nothing failed or was cancelled."""
        batch = self.batch(batch_id)
        if _unfinished(batch):
            raise ConflictError(f"batch {batch_id} is still running: wait for it or cancel it first")
        again = (ItemStatus.FAILED, ItemStatus.CANCELLED)
        if not any(i.status in again and i.video for i in batch.items):
            raise ConflictError(f"batch {batch_id}: nothing to retry (no failed or cancelled video)")
        self.retry(batch_id)
        return self.status(batch_id)

    def delete_finished(self, batch_id: str) -> None:
        """:meth:`delete_batch`, with an unknown batch and a running one told apart."""
        if _unfinished(self.batch(batch_id)):
            raise ConflictError(f"batch {batch_id} is still running: cancel it first")
        self.delete_batch(batch_id)

    def output_file(self, batch_id: str, name: str) -> Path:
        """The finished output of this batch called ``name`` (a file name, never a path)."""
        found = [p for p in self._outputs(self.batch(batch_id)) if p.name == name]
        if not found:
            raise NotFoundError(f"batch {batch_id} has no output named {name!r}")
        return found[0]

    def archive_members(self, batch_id: str) -> list[tuple[str, Path | bytes]]:
        """(name in the zip, file or contents) of the batch's finished outputs and its
        batch.json, made from the store now (the file on disk is rewritten when a batch ends,
        a moment after its state says so)."""
        batch = self.batch(batch_id)
        outputs = self._outputs(batch)
        if not outputs:
            raise ConflictError(f"batch {batch_id} has no finished output yet")
        manifest = json.dumps(batch_manifest(batch).to_json(), ensure_ascii=False, indent=2)
        return [(f"{batch_id}/{f.name}", f) for f in outputs] + [
            (f"{batch_id}/batch.json", manifest.encode())
        ]

    def _outputs(self, batch: Batch) -> list[Path]:
        """The batch's finished outputs that are still there (only files inside outputs/)."""
        paths = [Path(i.output) for i in batch.items if i.output]
        return [p for p in paths if self.workspace.contains_output(p) and p.is_file()]

    def health(self) -> dict:
        """For load balancers and monitors: the engine, the worker thread, the queue, the disk."""
        engine = self.worker.status
        batches, videos = self.store.queue_length()
        free = shutil.disk_usage(self.workspace.root).free
        alive = self.worker.alive
        loop = self.worker.health  # ok, retrying (a round failed) or down (rounds keep failing)
        return {
            "ok": alive and engine.state != "error" and loop.state != "down",
            "engine": {
                "state": engine.state,
                "engine": engine.engine,
                "detector": engine.detector,
                "device": engine.device,
                "runtime": engine.runtime,
                "int8_gate": engine.int8_gate,
                "error": engine.error,
            },
            "worker_alive": alive,
            "worker_state": loop.state,
            "worker_error": loop.error,
            "queue": {"batches": batches, "videos": videos},
            "disk": {"free_bytes": free, "low": free < LOW_DISK},
        }


def _unfinished(batch: Batch) -> bool:
    return any(i.status not in TERMINAL for i in batch.items)
