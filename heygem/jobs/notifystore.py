"""The job store's side of notifications: when each finished batch's is due, and whether it
was sent, is being retried or was given up (:mod:`heygem.jobs.notify` sends them).

Kept in the store, so a notification due when the app stopped is sent after it starts again.
"""

from __future__ import annotations

from collections.abc import Callable

from heygem.jobs.records import Batch
from heygem.jobs.schema import StoreFile


class NotificationStore(StoreFile):
    """Mixed into :class:`~heygem.jobs.store.JobStore`."""

    get: Callable[[str], Batch | None]  # JobStore.get: a batch with its items, read back

    def schedule_notification(self, batch_id: str, when: float) -> None:
        """A finished batch's notification is due at ``when`` (unless it was sent already)."""
        with self._write() as db:
            db.execute(
                "UPDATE batches SET notify_after=? WHERE id=? AND notified=0 AND finished IS NOT NULL",
                (when, batch_id),
            )

    def notifications_due(self, now: float) -> list[Batch]:
        """Finished batches whose notification is due by ``now``, oldest due first."""
        with self._connect() as db:
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM batches WHERE notified=0 AND notify_after <= ? "
                    "AND finished IS NOT NULL ORDER BY notify_after",
                    (now,),
                )
            ]
        return [batch for batch in map(self.get, ids) if batch is not None]

    def next_notification(self) -> float | None:
        """When the next notification is due (unix time); None when none is."""
        with self._connect() as db:
            return db.execute(
                "SELECT MIN(notify_after) FROM batches WHERE notified=0 AND finished IS NOT NULL"
            ).fetchone()[0]

    def notification_sent(self, batch_id: str, attempts: int) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE batches SET notified=1, notify_after=NULL, notify_attempts=?, notify_error=NULL "
                "WHERE id=?",
                (attempts, batch_id),
            )

    def notification_failed(self, batch_id: str, attempts: int, error: str, retry_at: float | None) -> None:
        """A try failed: try again at ``retry_at``, or (None) give it up."""
        with self._write() as db:
            db.execute(
                "UPDATE batches SET notified=?, notify_after=?, notify_attempts=?, notify_error=? WHERE id=?",
                (0 if retry_at is not None else -1, retry_at, attempts, error, batch_id),
            )
