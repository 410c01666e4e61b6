"""The presenter library's records: a store made before the library opens with it, and a
presenter's batches keep it from being deleted."""

from __future__ import annotations

import sqlite3

import pytest

from heygem.jobs import JobStore, NameTakenError, NewItem, Presenter
from heygem.states import TrackPrep

# The tables as release 0.1 made them: no presenters table, no items.presenter column.
OLD_SCHEMA = """
CREATE TABLE batches (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, created REAL NOT NULL, audio TEXT NOT NULL,
    audio_name TEXT NOT NULL, settings TEXT NOT NULL, cancel INTEGER NOT NULL DEFAULT 0,
    finished REAL, notified INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE items (
    batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    name TEXT NOT NULL, video TEXT NOT NULL, dest TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, stage TEXT NOT NULL DEFAULT '', chunk INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0, output TEXT, error TEXT, frames INTEGER,
    frames_without_face INTEGER, seconds REAL, attempts INTEGER NOT NULL DEFAULT 0, task_id TEXT,
    worker TEXT, engine TEXT, detector TEXT, started REAL, finished REAL, PRIMARY KEY (batch_id, idx)
);
INSERT INTO batches VALUES ('old', 1, 1700000000, '/u/a.wav', 'a.wav', '{}', 0, 1700000100, 1);
INSERT INTO items (batch_id, idx, name, video, dest, status, output)
    VALUES ('old', 0, 'take.mp4', '/u/take.mp4', '/o/take.mp4', 'done', '/o/take.mp4');
"""


def presenter(name: str, sha: str = "a" * 64, **fields) -> Presenter:
    return Presenter(sha[:16], sha, name, f"/lib/{sha}/{name}.mp4", f"{name}.mp4", 10, 1.0, **fields)


def test_a_store_made_before_the_library_opens_with_it(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = JobStore(path)
    old = store.get("old")
    assert old.items[0].presenter is None and old.items[0].output == "/o/take.mp4"  # kept, readable
    store.add_presenter(presenter("Anna", settings={"face_point": [10.0, 20.0]}))
    store.add_pairs(
        "new",
        "/u/b.wav",
        "b.wav",
        {},
        [NewItem("Anna.mp4", "/u/Anna.mp4", "/o/Anna.mp4", presenter="a" * 16)],
    )
    reopened = JobStore(path)  # the upgrade happens once, and opening again changes nothing
    assert reopened.presenter("anna").settings == {"face_point": [10.0, 20.0]}  # by name, case ignored
    assert reopened.presenter("a" * 16).name == "Anna"  # by id
    assert reopened.presenter_users("a" * 16) == ["new"]
    assert reopened.integrity_ok()


def test_names_are_unique_and_one_file_is_one_presenter(tmp_path):
    store = JobStore(tmp_path / "s.sqlite")
    first = store.add_presenter(presenter("Anna"))
    assert store.add_presenter(presenter("Other name")) == first  # same sha256: the one there
    with pytest.raises(NameTakenError):
        store.add_presenter(presenter("ANNA", sha="b" * 64))
    store.add_presenter(presenter("Ben", sha="b" * 64))
    with pytest.raises(NameTakenError):
        store.update_presenter("b" * 16, name="anna")
    assert [p.name for p in store.presenters()] == ["Anna", "Ben"]


def test_a_track_asked_again_while_it_is_made_is_made_again(tmp_path):
    """A new face point while the worker makes the old one's track: the old result is not
    recorded, and the presenter waits for a new track."""
    store = JobStore(tmp_path / "s.sqlite")
    store.add_presenter(presenter("Anna"))
    claimed = store.claim_presenter_track()
    assert claimed.name == "Anna" and store.claim_presenter_track() is None
    store.update_presenter(claimed.id, settings={"face_point": [1, 2]}, new_track=True)
    store.finish_presenter_track(claimed.id, TrackPrep.DONE, frames=25, seconds=1.0)  # the old one's
    assert store.presenter(claimed.id).track == TrackPrep.QUEUED
    again = store.claim_presenter_track()
    assert again.settings == {"face_point": [1, 2]}
    assert store.recover_presenter_tracks() == 1  # the app stopped while it was made
    assert store.presenter(claimed.id).track == TrackPrep.QUEUED
