"""The job store's SQLite file: its tables, the columns added since v0.1, the connections
every call opens, and the queue's order.

Opening a store creates the tables it lacks (an older file gets ``presenters``, the library)
and adds the columns an older version's file lacks (:data:`ADDED_COLUMNS`,
:data:`ADDED_BATCH_COLUMNS`), so a store made by any release opens in this one. Each call then opens its own short connection (WAL: readers never wait for the
writer); writes go through :meth:`StoreFile._write`, one ``BEGIN IMMEDIATE`` transaction at a
time per process.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
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
    notified INTEGER NOT NULL DEFAULT 0, -- notification: 0 not (yet) sent, 1 sent, -1 given up
    notify_after REAL,                 -- unix time its next try is due; NULL: none due
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    notify_error TEXT,                 -- why its last try failed
    unmatched TEXT NOT NULL DEFAULT '', -- JSON list of uploaded files the pairing left out
    run_started REAL                   -- unix time of the user's last retry (NULL: none yet)
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
    task_id TEXT,                      -- Celery task it was sent as (scale-out mode only)
    worker TEXT,                       -- the machine that ran it (scale-out mode only)
    engine TEXT,                       -- engine and detector that made the output
    detector TEXT,
    started REAL,
    finished REAL,
    audio TEXT NOT NULL DEFAULT '',    -- stored copy of this pair's narration ('': the batch's)
    audio_name TEXT NOT NULL DEFAULT '', -- the name it was uploaded with ('': the batch's)
    overrides TEXT NOT NULL DEFAULT '', -- JSON of a manifest row's own settings ('': none)
    track_cached INTEGER,              -- 1 when its face track came from the cache
    detected_frames INTEGER,           -- frames the face detector ran on
    detect_seconds REAL,               -- wall time of its face-track pass
    resumed_chunks INTEGER,            -- chunks its last run kept from an earlier one
    chunk_attempts TEXT,               -- JSON list: per chunk, tries of its last run (0: resumed)
    runtime TEXT,                      -- where the network ran (openvino-int8, openvino, torch...)
    enhancer TEXT,                     -- the face enhancer that made the output (gfpgan, restoreformer, none)
    presenter TEXT,                    -- the library presenter it uses (presenters.id), NULL: an upload
    PRIMARY KEY (batch_id, idx)
);
CREATE INDEX IF NOT EXISTS items_by_status ON items(status);
CREATE TABLE IF NOT EXISTS presenters (
    id TEXT PRIMARY KEY,               -- the first 16 hex digits of sha256
    sha256 TEXT NOT NULL UNIQUE,       -- of the file's bytes: one file is one presenter
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    file TEXT NOT NULL,                -- the stored file, uploads/library/<sha256>/<name>
    original TEXT NOT NULL,            -- the name it was uploaded with
    size INTEGER NOT NULL,             -- bytes
    created REAL NOT NULL,             -- unix time
    settings TEXT NOT NULL DEFAULT '{}', -- JSON of its own batch settings (face, mask, pads)
    thumbnail TEXT,                    -- a small JPEG of its first frame, NULL: none could be made
    width INTEGER,
    height INTEGER,
    duration REAL,                     -- seconds (a still: NULL)
    track TEXT NOT NULL DEFAULT 'queued', -- its face track made ahead: queued | running | done | failed | later
    track_progress REAL NOT NULL DEFAULT 0, -- 0..1 while it is made
    track_error TEXT,                  -- why it could not be made
    track_frames INTEGER,              -- frames the track covers
    track_seconds REAL                 -- wall time it took
);
"""

ADDED_COLUMNS = {
    "dest": "TEXT NOT NULL DEFAULT ''",
    "task_id": "TEXT",
    "worker": "TEXT",
    "audio": "TEXT NOT NULL DEFAULT ''",
    "audio_name": "TEXT NOT NULL DEFAULT ''",
    "overrides": "TEXT NOT NULL DEFAULT ''",
    "track_cached": "INTEGER",
    "detected_frames": "INTEGER",
    "detect_seconds": "REAL",
    "resumed_chunks": "INTEGER",
    "chunk_attempts": "TEXT",
    "runtime": "TEXT",
    "enhancer": "TEXT",
    "presenter": "TEXT",
}  # column -> declaration, added since v0.1
ADDED_BATCH_COLUMNS = {
    "notify_after": "REAL",
    "notify_attempts": "INTEGER NOT NULL DEFAULT 0",
    "notify_error": "TEXT",
    "unmatched": "TEXT NOT NULL DEFAULT ''",
    "run_started": "REAL",
}  # likewise, for batches


class StoreFile:
    """One SQLite file, opened (and brought up to date) once; the base of :class:`~heygem.jobs.store.JobStore`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()  # serialises writers inside this process
        with self._connect() as db:
            db.executescript(SCHEMA)
            for table, added in (("items", ADDED_COLUMNS), ("batches", ADDED_BATCH_COLUMNS)):
                columns = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                for column, declaration in added.items():  # stores made by older versions
                    if column not in columns:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

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

    def _next_queued(self, db, unsent_only: bool = False) -> sqlite3.Row | None:
        """The first queued item in queue order (batches as submitted, items as listed; a batch
        being cancelled is skipped); ``unsent_only``: the first not yet sent to Celery."""
        unsent = "AND i.task_id IS NULL " if unsent_only else ""
        return db.execute(
            "SELECT i.* FROM items i JOIN batches b ON b.id = i.batch_id "
            f"WHERE i.status = 'queued' {unsent}AND b.cancel = 0 ORDER BY b.seq, i.idx LIMIT 1"
        ).fetchone()
