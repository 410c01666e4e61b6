"""The job store's side of scale-out mode: items are sent to Celery as tasks, and the store
follows each by its task id (:mod:`heygem.cluster.dispatcher` drives these).

An item is sent once (``task_id`` recorded in the same transaction that picks it), marked
running when a worker takes it up, and sent again only when its task was lost; how it ends is
recorded by :meth:`heygem.jobs.store.JobStore.finish_item` like any other item's.
"""

from __future__ import annotations

import time

from heygem.jobs.records import Item
from heygem.jobs.schema import StoreFile


class DispatchStore(StoreFile):
    """Mixed into :class:`~heygem.jobs.store.JobStore`."""

    def dispatch_next(self, task_id_for) -> Item | None:
        """The oldest queued item not yet sent, with the task id ``task_id_for(item)`` recorded."""
        with self._write() as db:
            row = self._next_queued(db, unsent_only=True)
            if row is None:
                return None
            item = Item.from_row(row)
            item.task_id = task_id_for(item)
            db.execute(
                "UPDATE items SET task_id=? WHERE batch_id=? AND idx=?",
                (item.task_id, item.batch_id, item.idx),
            )
        return item

    def in_flight(self) -> list[Item]:
        """Items sent to Celery and not finished, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT i.* FROM items i JOIN batches b ON b.id = i.batch_id WHERE i.task_id IS "
                "NOT NULL AND i.status IN ('queued','running') ORDER BY b.seq, i.idx"
            ).fetchall()
        return [Item.from_row(r) for r in rows]

    def cancelling(self) -> list[str]:
        """Batches asked to stop that still have a video queued or running (scale-out: each
        round tells the workers again, so a cancel the broker missed is not lost)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT b.id FROM batches b JOIN items i ON i.batch_id = b.id "
                "WHERE b.cancel = 1 AND i.status IN ('queued','running')"
            ).fetchall()
        return [row[0] for row in rows]

    def requeue(self, item: Item) -> None:
        """Send an item again (its task was lost to an infrastructure failure)."""
        with self._write() as db:
            db.execute(
                "UPDATE items SET task_id=NULL, status='queued', stage='' WHERE batch_id=? AND idx=? "
                "AND status IN ('queued','running')",
                (item.batch_id, item.idx),
            )

    def mark_started(self, item: Item, worker: str) -> None:
        """A worker picked the item up (again: a redelivery counts as a new attempt)."""
        with self._write() as db:
            db.execute(
                "UPDATE items SET status='running', attempts=attempts+1, started=?, worker=?, "
                "progress=0, stage='probing' WHERE batch_id=? AND idx=? AND status IN ('queued','running')",
                (time.time(), worker, item.batch_id, item.idx),
            )
