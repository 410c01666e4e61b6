"""The job store: every batch and its videos in one SQLite file (WAL), the record that
survives closed tabs, crashes and restarts.

A batch is a row in ``batches``; each of its (narration, video) pairs a row in ``items``
(older stores: one narration per batch, its items' ``audio`` empty) with a status:
queued -> running -> done | failed | cancelled. Three things move one back to queued:
:meth:`JobStore.retry_batch` (a user's retry of failed and cancelled items),
:meth:`JobStore.recover` at start-up (items that were running when the process died) and
:meth:`~heygem.jobs.dispatchstore.DispatchStore.requeue` (a Celery task lost); a done item is
never touched again. All access goes through this class; each call opens
its own short transaction, so the worker thread and the web handlers never share a cursor
(:mod:`heygem.jobs.schema`: the tables; :mod:`~heygem.jobs.dispatchstore` and
:mod:`~heygem.jobs.notifystore`: the scale-out and notification columns' methods).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from heygem.jobs.dispatchstore import DispatchStore
from heygem.jobs.notifystore import NotificationStore
from heygem.jobs.presenterstore import PresenterStore
from heygem.jobs.records import Batch, Item, NewItem, Outcome
from heygem.states import TERMINAL, ItemStatus, batch_state


class JobStore(DispatchStore, NotificationStore, PresenterStore):
    """The queue itself (submit, claim, progress, finish, cancel, retry, recover) and what the
    UI reads; scale-out dispatch, notifications and the presenter library come from the three
    mixins, the file and its schema from :class:`~heygem.jobs.schema.StoreFile`."""

    # -- writing ---------------------------------------------------------------------------

    def add_batch(
        self,
        batch_id: str,
        audio: str,
        audio_name: str,
        settings: dict,
        videos: list[tuple[str, str, str, str | None]],
    ) -> None:
        """videos: (display name, stored path, output path, error or None); an error marks it
        failed at once. Every video gets the batch's narration."""
        self.add_pairs(batch_id, audio, audio_name, settings, [NewItem(*video) for video in videos])

    def add_pairs(
        self,
        batch_id: str,
        audio: str,
        audio_name: str,
        settings: dict,
        items: list[NewItem],
        unmatched: list[str] | None = None,
    ) -> None:
        """A batch of (narration, video) pairs, run in the order given; ``audio`` and
        ``audio_name`` stand for the batch (its first narration) where one is shown;
        ``unmatched``: uploaded files the pairing left out, kept to be shown."""
        now = time.time()
        left_out = json.dumps(unmatched, ensure_ascii=False) if unmatched else ""
        with self._write() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches").fetchone()[0]
            db.execute(
                "INSERT INTO batches (id, seq, created, audio, audio_name, settings, unmatched) "
                "VALUES (?,?,?,?,?,?,?)",
                (batch_id, seq, now, audio, audio_name, json.dumps(settings, ensure_ascii=False), left_out),
            )
            for idx, item in enumerate(items):
                status, finished = ("failed", now) if item.error else ("queued", None)
                overrides = json.dumps(item.overrides, ensure_ascii=False) if item.overrides else ""
                db.execute(
                    "INSERT INTO items (batch_id, idx, name, video, dest, status, error, finished, "
                    "audio, audio_name, overrides, presenter) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (batch_id, idx, item.name, item.video, item.dest, status, item.error, finished)
                    + (item.audio, item.audio_name, overrides, item.presenter),
                )
            self._close_if_finished(db, batch_id)

    def claim_next(self) -> Item | None:
        """Mark the oldest queued item running and return it (None when the queue is empty)."""
        with self._write() as db:
            row = self._next_queued(db)
            if row is None:
                return None
            db.execute(
                "UPDATE items SET status='running', attempts=attempts+1, started=?, progress=0, "
                "stage='probing', error=NULL WHERE batch_id=? AND idx=?",
                (time.time(), row["batch_id"], row["idx"]),
            )
        item = Item.from_row(row)
        item.status, item.attempts = ItemStatus.RUNNING, item.attempts + 1
        return item

    def update_progress(self, item: Item, progress: float, stage: str, chunk: int, chunks: int) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE items SET progress=?, stage=?, chunk=?, chunks=? "
                "WHERE batch_id=? AND idx=? AND status='running'",
                (progress, stage, chunk, chunks, item.batch_id, item.idx),
            )

    def finish_item(self, item: Item, status: str, **outcome) -> bool:
        """Record an item's end (``outcome``: the other fields of :class:`Outcome`); returns
        True when that ended its whole batch."""
        assert status in TERMINAL
        values = asdict(Outcome(status, **outcome)) | {
            "batch_id": item.batch_id,
            "idx": item.idx,
            "now": time.time(),
        }
        if values["chunk_attempts"] is not None:
            values["chunk_attempts"] = json.dumps(values["chunk_attempts"])
        with self._write() as db:
            db.execute(
                "UPDATE items SET status=:status, output=:output, error=:error, frames=:frames, "
                "frames_without_face=:frames_without_face, seconds=:seconds, engine=:engine, "
                "detector=:detector, track_cached=:track_cached, detected_frames=:detected_frames, "
                "detect_seconds=:detect_seconds, resumed_chunks=:resumed_chunks, "
                "chunk_attempts=:chunk_attempts, runtime=:runtime, enhancer=:enhancer, finished=:now, "
                "progress=CASE WHEN :status='done' THEN 1 ELSE progress END, "
                "stage=CASE WHEN :status='done' THEN 'done' ELSE stage END "
                "WHERE batch_id=:batch_id AND idx=:idx "
                "AND (status IN ('queued','running') OR :status='done')",  # a finished output always counts
                values,
            )
            return self._close_if_finished(db, item.batch_id)

    def _close_if_finished(self, db, batch_id: str) -> bool:
        open_items = db.execute(
            "SELECT COUNT(*) FROM items WHERE batch_id=? AND status IN ('queued','running')",
            (batch_id,),
        ).fetchone()[0]
        if open_items:
            return False
        db.execute("UPDATE batches SET finished=? WHERE id=? AND finished IS NULL", (time.time(), batch_id))
        return True

    def cancel_batch(self, batch_id: str) -> bool:
        """Ask a batch to stop: queued items become cancelled at once, a running one stops
        after its current chunk. Returns False for an unknown batch."""
        with self._write() as db:
            found = db.execute("UPDATE batches SET cancel=1 WHERE id=?", (batch_id,)).rowcount
            db.execute(
                "UPDATE items SET status='cancelled', error='cancelled', finished=? "
                "WHERE batch_id=? AND status='queued'",
                (time.time(), batch_id),
            )
            self._close_if_finished(db, batch_id)
        return bool(found)

    def retry_batch(self, batch_id: str) -> int:
        """Queue a finished batch's failed and cancelled items again; returns how many."""
        with self._write() as db:
            db.execute(
                "UPDATE batches SET cancel=0, finished=NULL, notified=0, notify_after=NULL, "
                "notify_attempts=0, notify_error=NULL, run_started=? WHERE id=?",
                (time.time(), batch_id),
            )
            count = db.execute(
                "UPDATE items SET status='queued', error=NULL, progress=0, stage='', finished=NULL, task_id=NULL "
                "WHERE batch_id=? AND status IN ('failed','cancelled') AND video != ''",
                (batch_id,),
            ).rowcount
            self._close_if_finished(db, batch_id)
        return count

    def recover(self, keep_dispatched: bool = False) -> int:
        """After a crash: items left running go back to the queue. Returns how many.

        keep_dispatched: scale-out mode, where items sent to Celery stay with their task
        (the broker redelivers them); otherwise every unfinished item runs here again."""
        with self._write() as db:
            if not keep_dispatched:
                db.execute("UPDATE items SET task_id=NULL WHERE status IN ('queued','running')")
            return db.execute(
                "UPDATE items SET status='queued', stage='' WHERE status='running' AND task_id IS NULL"
            ).rowcount

    def set_output(self, batch_id: str, idx: int, output: str | None) -> None:
        with self._write() as db:
            db.execute("UPDATE items SET output=? WHERE batch_id=? AND idx=?", (output, batch_id, idx))

    def delete_batch(self, batch_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM batches WHERE id=?", (batch_id,))

    # -- reading ---------------------------------------------------------------------------

    def get(self, batch_id: str) -> Batch | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM batches WHERE id=?", (batch_id,)).fetchone()
            if row is None:
                return None
            items = db.execute("SELECT * FROM items WHERE batch_id=? ORDER BY idx", (batch_id,)).fetchall()
        return Batch.from_rows(row, items)

    def batches(self, limit: int = 200, state: str | None = None) -> list[Batch]:
        """Newest first, with their items; with ``state``, only the batches in it (of every
        batch: the states come from counts per status, so only the page is loaded whole)."""
        with self._connect() as db:
            if state is None:
                ids = [r[0] for r in db.execute("SELECT id FROM batches ORDER BY seq DESC LIMIT ?", (limit,))]
            else:
                ids = self._ids_in_state(db, state)[:limit]
            marks = ",".join("?" * len(ids))
            rows = db.execute(
                f"SELECT * FROM batches WHERE id IN ({marks}) ORDER BY seq DESC", ids
            ).fetchall()
            items = db.execute(
                f"SELECT * FROM items WHERE batch_id IN ({marks}) ORDER BY batch_id, idx", ids
            ).fetchall()
        by_batch: dict[str, list] = {}
        for item in items:
            by_batch.setdefault(item["batch_id"], []).append(item)
        return [Batch.from_rows(row, by_batch.get(row["id"], [])) for row in rows]

    @staticmethod
    def _ids_in_state(db, state: str) -> list[str]:
        """Every batch in ``state``, newest first (:func:`heygem.states.batch_state` of its
        counts per status, the one rule)."""
        counts: dict[str, dict[str, int]] = {}
        for batch_id, status, count in db.execute(
            "SELECT b.id, i.status, COUNT(i.status) FROM batches b LEFT JOIN items i ON i.batch_id = b.id "
            "GROUP BY b.id, i.status ORDER BY b.seq DESC"
        ):
            counts.setdefault(batch_id, {})[status] = count
        return [batch_id for batch_id, by_status in counts.items() if batch_state(by_status) == state]

    def unfinished(self) -> list[Batch]:
        """The batches with a video queued or running, in the order they run (oldest first)."""
        with self._connect() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT b.id FROM batches b WHERE EXISTS (SELECT 1 FROM items i WHERE i.batch_id = b.id "
                    "AND i.status IN ('queued','running')) ORDER BY b.seq"
                )
            ]
        return [batch for batch in map(self.get, ids) if batch is not None]

    def recent_video_seconds(self, count: int = 50) -> list[float]:
        """Wall times of the last ``count`` videos made (any batch), newest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT seconds FROM items WHERE status='done' AND seconds > 0 ORDER BY finished DESC LIMIT ?",
                (count,),
            )
            return [row[0] for row in rows]

    def finished_before(self, when: float) -> list[str]:
        """Ids of the batches that finished before ``when`` (unix time), oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id FROM batches WHERE finished IS NOT NULL AND finished < ? ORDER BY seq", (when,)
            )
            return [row[0] for row in rows]

    def queue_position(self, batch_id: str) -> int:
        """How many unfinished batches were submitted before this one (0 = next or running)."""
        with self._connect() as db:
            return db.execute(
                "SELECT COUNT(DISTINCT b.id) FROM batches b JOIN items i ON i.batch_id = b.id "
                "WHERE b.seq < (SELECT seq FROM batches WHERE id=?) AND b.cancel = 0 "
                "AND i.status IN ('queued','running')",
                (batch_id,),
            ).fetchone()[0]

    def queue_length(self) -> tuple[int, int]:
        """(batches, videos) not finished yet: queued or running."""
        with self._connect() as db:
            row = db.execute(
                "SELECT COUNT(DISTINCT batch_id), COUNT(*) FROM items WHERE status IN ('queued','running')"
            ).fetchone()
        return row[0], row[1]

    def change_mark(self) -> tuple:
        """A value that changes whenever files may have come or gone: a batch added or deleted,
        a video finished, an output deleted (what the disk-use figure is cached against)."""
        with self._connect() as db:
            return tuple(
                db.execute(
                    "SELECT (SELECT COUNT(*) FROM batches), (SELECT MAX(seq) FROM batches), "
                    "(SELECT MAX(finished) FROM items), (SELECT COUNT(*) FROM items WHERE output IS NOT NULL)"
                ).fetchone()
            )

    def integrity_ok(self) -> bool:
        with self._connect() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
