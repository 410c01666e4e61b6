"""The job store: every batch and its videos in one SQLite file (WAL), the record that
survives closed tabs, crashes and restarts.

A batch is a row in ``batches``; each of its videos a row in ``items`` with a status that
only moves forward: queued -> running -> done | failed | cancelled. On start-up
:meth:`JobStore.recover` puts items that were running when the process died back in the queue;
finished items are never touched again. All access goes through this class; each call opens
its own short transaction, so the worker thread and the web handlers never share a cursor.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,              -- submission order across all tabs and clients
    created REAL NOT NULL,             -- unix time
    audio TEXT NOT NULL,               -- stored copy of the narration
    audio_name TEXT NOT NULL,          -- the name it was uploaded with
    settings TEXT NOT NULL,            -- JSON of the batch's settings
    cancel INTEGER NOT NULL DEFAULT 0, -- 1 once cancel was asked
    finished REAL,                     -- unix time the last item ended
    notified INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS items (
    batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,                -- the name the video was uploaded with
    video TEXT NOT NULL,               -- stored copy of the video
    dest TEXT NOT NULL DEFAULT '',     -- its output's name, fixed at submit (unique in the batch)
    status TEXT NOT NULL,              -- queued | running | done | failed | cancelled
    progress REAL NOT NULL DEFAULT 0,  -- 0..1 of this video
    stage TEXT NOT NULL DEFAULT '',    -- probing | detecting | lipsync | muxing | done
    chunk INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    output TEXT,                       -- finished file
    error TEXT,                        -- one-line reason when failed
    frames INTEGER,
    frames_without_face INTEGER,
    seconds REAL,                      -- wall time of the last attempt
    attempts INTEGER NOT NULL DEFAULT 0,
    engine TEXT,                       -- engine and detector that made the output
    detector TEXT,
    started REAL,
    finished REAL,
    PRIMARY KEY (batch_id, idx)
);
CREATE INDEX IF NOT EXISTS items_by_status ON items(status);
"""

TERMINAL = ("done", "failed", "cancelled")
ADDED_COLUMNS = {"dest": "TEXT NOT NULL DEFAULT ''"}  # column -> declaration, added since v0.1


@dataclass
class Item:
    batch_id: str
    idx: int
    name: str
    video: str
    status: str
    dest: str = ""
    progress: float = 0.0
    stage: str = ""
    chunk: int = 0
    chunks: int = 0
    output: str | None = None
    error: str | None = None
    frames: int | None = None
    frames_without_face: int | None = None
    seconds: float | None = None
    attempts: int = 0
    engine: str | None = None
    detector: str | None = None
    started: float | None = None
    finished: float | None = None


@dataclass
class Batch:
    id: str
    seq: int
    created: float
    audio: str
    audio_name: str
    settings: dict
    cancel: bool
    finished: float | None
    notified: bool
    items: list[Item] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("queued", "running", *TERMINAL), 0)
        for item in self.items:
            counts[item.status] += 1
        return counts

    @property
    def state(self) -> str:
        """queued | running | done | partial (some failed) | failed | cancelled"""
        c = self.counts
        if c["running"]:
            return "running"
        if c["queued"]:
            return "running" if (c["done"] + c["failed"] + c["cancelled"]) else "queued"
        if c["cancelled"]:
            return "cancelled"
        if c["failed"]:
            return "failed" if not c["done"] else "partial"
        return "done"

    @property
    def fraction(self) -> float:
        if not self.items:
            return 1.0
        return sum(1.0 if i.status in TERMINAL else i.progress for i in self.items) / len(
            self.items
        )


class JobStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()  # serialises writers inside this process
        with self._connect() as db:
            db.executescript(SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(items)")}
            for column, declaration in ADDED_COLUMNS.items():  # stores made by older versions
                if column not in columns:
                    db.execute(f"ALTER TABLE items ADD COLUMN {column} {declaration}")

    @contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _write(self):
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------

    def add_batch(self, batch_id: str, audio: str, audio_name: str, settings: dict,
                  videos: list[tuple[str, str, str, str | None]]) -> None:  # fmt: skip
        """videos: (display name, stored path, output path, error or None); an error marks it
        failed at once."""
        now = time.time()
        with self._write() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches").fetchone()[0]
            db.execute(
                "INSERT INTO batches (id, seq, created, audio, audio_name, settings) VALUES (?,?,?,?,?,?)",
                (batch_id, seq, now, audio, audio_name, json.dumps(settings, ensure_ascii=False)),
            )
            for idx, (name, video, dest, error) in enumerate(videos):
                status, finished = ("failed", now) if error else ("queued", None)
                db.execute(
                    "INSERT INTO items (batch_id, idx, name, video, dest, status, error, finished) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    (batch_id, idx, name, video, dest, status, error, finished),
                )
            self._close_if_finished(db, batch_id)

    def claim_next(self) -> Item | None:
        """Mark the oldest queued item running and return it (None when the queue is empty)."""
        with self._write() as db:
            row = db.execute(
                "SELECT i.* FROM items i JOIN batches b ON b.id = i.batch_id "
                "WHERE i.status = 'queued' AND b.cancel = 0 ORDER BY b.seq, i.idx LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE items SET status='running', attempts=attempts+1, started=?, progress=0, "
                "stage='probing', error=NULL WHERE batch_id=? AND idx=?",
                (time.time(), row["batch_id"], row["idx"]),
            )
        item = Item(**dict(row))
        item.status, item.attempts = "running", item.attempts + 1
        return item

    def update_progress(
        self, item: Item, progress: float, stage: str, chunk: int, chunks: int
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE items SET progress=?, stage=?, chunk=?, chunks=? "
                "WHERE batch_id=? AND idx=? AND status='running'",
                (progress, stage, chunk, chunks, item.batch_id, item.idx),
            )

    def finish_item(self, item: Item, status: str, *, output: str | None = None,
                    error: str | None = None, frames: int | None = None,
                    frames_without_face: int | None = None, seconds: float | None = None,
                    engine: str | None = None, detector: str | None = None) -> bool:  # fmt: skip
        """Record an item's end; returns True when that ended its whole batch."""
        assert status in TERMINAL
        with self._write() as db:
            db.execute(
                "UPDATE items SET status=?, output=?, error=?, frames=?, frames_without_face=?, "
                "seconds=?, engine=?, detector=?, finished=?, "
                "progress=CASE WHEN ?='done' THEN 1 ELSE progress END, "
                "stage=CASE WHEN ?='done' THEN 'done' ELSE stage END WHERE batch_id=? AND idx=?",
                (status, output, error, frames, frames_without_face, seconds, engine, detector,
                 time.time(), status, status, item.batch_id, item.idx),
            )  # fmt: skip
            return self._close_if_finished(db, item.batch_id)

    def _close_if_finished(self, db, batch_id: str) -> bool:
        open_items = db.execute(
            "SELECT COUNT(*) FROM items WHERE batch_id=? AND status IN ('queued','running')",
            (batch_id,),
        ).fetchone()[0]
        if open_items:
            return False
        db.execute(
            "UPDATE batches SET finished=? WHERE id=? AND finished IS NULL", (time.time(), batch_id)
        )
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
                "UPDATE batches SET cancel=0, finished=NULL, notified=0 WHERE id=?", (batch_id,)
            )
            count = db.execute(
                "UPDATE items SET status='queued', error=NULL, progress=0, stage='', finished=NULL "
                "WHERE batch_id=? AND status IN ('failed','cancelled') AND video != ''",
                (batch_id,),
            ).rowcount
            self._close_if_finished(db, batch_id)
        return count

    def recover(self) -> int:
        """After a crash: items left running go back to the queue. Returns how many."""
        with self._write() as db:
            return db.execute(
                "UPDATE items SET status='queued', stage='' WHERE status='running'"
            ).rowcount

    def mark_notified(self, batch_id: str) -> None:
        with self._write() as db:
            db.execute("UPDATE batches SET notified=1 WHERE id=?", (batch_id,))

    def set_output(self, batch_id: str, idx: int, output: str | None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE items SET output=? WHERE batch_id=? AND idx=?", (output, batch_id, idx)
            )

    def delete_batch(self, batch_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM batches WHERE id=?", (batch_id,))

    # -- reading ---------------------------------------------------------------------------

    def get(self, batch_id: str) -> Batch | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM batches WHERE id=?", (batch_id,)).fetchone()
            if row is None:
                return None
            items = db.execute(
                "SELECT * FROM items WHERE batch_id=? ORDER BY idx", (batch_id,)
            ).fetchall()
        return _batch(row, items)

    def batches(self, limit: int = 200) -> list[Batch]:
        """Newest first, with their items."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM batches ORDER BY seq DESC LIMIT ?", (limit,)
            ).fetchall()
            items = db.execute(
                "SELECT * FROM items WHERE batch_id IN (SELECT id FROM batches ORDER BY seq DESC LIMIT ?) "
                "ORDER BY batch_id, idx",
                (limit,),
            ).fetchall()
        by_batch: dict[str, list] = {}
        for item in items:
            by_batch.setdefault(item["batch_id"], []).append(item)
        return [_batch(row, by_batch.get(row["id"], [])) for row in rows]

    def queue_position(self, batch_id: str) -> int:
        """How many unfinished batches were submitted before this one (0 = next or running)."""
        with self._connect() as db:
            return db.execute(
                "SELECT COUNT(DISTINCT b.id) FROM batches b JOIN items i ON i.batch_id = b.id "
                "WHERE b.seq < (SELECT seq FROM batches WHERE id=?) AND b.cancel = 0 "
                "AND i.status IN ('queued','running')",
                (batch_id,),
            ).fetchone()[0]

    def integrity_ok(self) -> bool:
        with self._connect() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _batch(row, items) -> Batch:
    data = dict(row)
    data["settings"] = json.loads(data["settings"])
    data["cancel"] = bool(data["cancel"])
    data["notified"] = bool(data["notified"])
    return Batch(**data, items=[Item(**dict(i)) for i in items])
