"""The presenter library's records in the job store: one row per presenter (the ``presenters``
table), and which batches use one (each item names its presenter).

A presenter is a video or still stored once by its content's SHA-256 (the web layer stores the
file: :mod:`heygem.web.presenters`), with a name that is unique (case ignored), its own batch
settings (the face it follows, mask and pads) and the state of its face track, which the worker
makes ahead of the batches that use it (:mod:`heygem.jobs.trackprep`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from heygem.jobs.schema import StoreFile
from heygem.states import TrackPrep


@dataclass(frozen=True)
class Presenter:
    id: str  # the first 16 hex digits of sha256: the same file added twice is one presenter
    sha256: str  # of the stored file's bytes
    name: str  # unique in the library, case ignored
    file: str  # the stored file (uploads/library/<sha256>/...)
    original: str  # the name it was uploaded with
    size: int  # bytes
    created: float  # unix time
    settings: dict = field(default_factory=dict)  # its own batch settings, checked (face, mask, pads)
    thumbnail: str | None = None  # a small JPEG of its first frame
    width: int | None = None  # source pixels
    height: int | None = None
    duration: float | None = None  # seconds; None for a still
    track: str = TrackPrep.QUEUED  # its face track, made ahead of its batches
    track_progress: float = 0.0  # 0..1 while the track is made
    track_error: str | None = None  # why it could not be made
    track_frames: int | None = None  # frames the made track covers
    track_seconds: float | None = None  # wall time it took

    @classmethod
    def from_row(cls, row) -> Presenter:
        data = dict(row)
        data["settings"] = json.loads(data["settings"] or "{}")
        return cls(**data)


class NameTakenError(ValueError):
    """Another presenter already has this name (case ignored)."""


class PresenterStore(StoreFile):
    """Mixed into :class:`~heygem.jobs.store.JobStore`."""

    def add_presenter(self, presenter: Presenter) -> Presenter:
        """Record a new presenter; the one already holding its file (same sha256) is returned
        instead, unchanged. Raises :class:`NameTakenError`."""
        columns = [c for c in Presenter.__dataclass_fields__ if c != "settings"]
        values = [getattr(presenter, c) for c in columns]
        try:
            with self._write() as db:
                if row := db.execute(
                    "SELECT * FROM presenters WHERE sha256=?", (presenter.sha256,)
                ).fetchone():
                    return Presenter.from_row(row)
                db.execute(
                    f"INSERT INTO presenters ({', '.join(columns)}, settings) "
                    f"VALUES ({', '.join('?' * len(columns))}, ?)",
                    [*values, json.dumps(presenter.settings)],
                )
        except sqlite3.IntegrityError:
            raise NameTakenError(presenter.name) from None
        return presenter

    def presenter(self, ref: str) -> Presenter | None:
        """A presenter by id, else by name (case ignored)."""
        with self._connect() as db:
            row = (
                db.execute("SELECT * FROM presenters WHERE id=?", (ref,)).fetchone()
                or db.execute("SELECT * FROM presenters WHERE name=?", (ref,)).fetchone()
            )
        return Presenter.from_row(row) if row else None

    def presenter_by_sha(self, sha256: str) -> Presenter | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM presenters WHERE sha256=?", (sha256,)).fetchone()
        return Presenter.from_row(row) if row else None

    def presenters(self) -> list[Presenter]:
        """The library, by name (case ignored)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM presenters ORDER BY name COLLATE NOCASE").fetchall()
        return [Presenter.from_row(r) for r in rows]

    def update_presenter(
        self,
        presenter_id: str,
        name: str | None = None,
        settings: dict | None = None,
        new_track: bool = False,
    ) -> None:
        """Rename it and/or replace its settings; ``new_track``: its face track is made again
        (the face it follows changed). Raises :class:`NameTakenError`."""
        try:
            with self._write() as db:
                if name is not None:
                    db.execute("UPDATE presenters SET name=? WHERE id=?", (name, presenter_id))
                if settings is not None:
                    db.execute(
                        "UPDATE presenters SET settings=? WHERE id=?", (json.dumps(settings), presenter_id)
                    )
                if new_track:
                    db.execute(
                        "UPDATE presenters SET track=?, track_progress=0, track_error=NULL, "
                        "track_frames=NULL, track_seconds=NULL WHERE id=? AND track != ?",
                        (TrackPrep.QUEUED, presenter_id, TrackPrep.LATER),
                    )
        except sqlite3.IntegrityError:
            raise NameTakenError(name) from None

    def delete_presenter(self, presenter_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM presenters WHERE id=?", (presenter_id,))

    def presenter_users(self, presenter_id: str) -> list[str]:
        """The batches with a video of this presenter queued or running, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT i.batch_id FROM items i JOIN batches b ON b.id = i.batch_id "
                "WHERE i.presenter=? AND i.status IN ('queued','running') ORDER BY b.seq",
                (presenter_id,),
            ).fetchall()
        return [r[0] for r in rows]

    # -- its face track, made by the worker ---------------------------------------------------

    def claim_presenter_track(self) -> Presenter | None:
        """Mark the oldest presenter whose track waits as being made, and return it."""
        with self._write() as db:
            row = db.execute(
                "SELECT * FROM presenters WHERE track=? ORDER BY created LIMIT 1", (TrackPrep.QUEUED,)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE presenters SET track=?, track_progress=0 WHERE id=?", (TrackPrep.RUNNING, row["id"])
            )
        return Presenter.from_row(row)

    def presenter_track_progress(self, presenter_id: str, fraction: float) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE presenters SET track_progress=? WHERE id=? AND track=?",
                (fraction, presenter_id, TrackPrep.RUNNING),
            )

    def finish_presenter_track(
        self, presenter_id: str, state: TrackPrep, error: str | None = None, frames=None, seconds=None
    ) -> None:
        """Record how making the track ended (unless it was asked again meanwhile)."""
        with self._write() as db:
            db.execute(
                "UPDATE presenters SET track=?, track_progress=?, track_error=?, track_frames=?, "
                "track_seconds=? WHERE id=? AND track=?",
                (state, 1.0 if state == TrackPrep.DONE else 0.0, error, frames, seconds)
                + (presenter_id, TrackPrep.RUNNING),
            )

    def recover_presenter_tracks(self) -> int:
        """After a crash: tracks left being made wait again. Returns how many."""
        with self._write() as db:
            return db.execute(
                "UPDATE presenters SET track=?, track_progress=0 WHERE track=?",
                (TrackPrep.QUEUED, TrackPrep.RUNNING),
            ).rowcount
