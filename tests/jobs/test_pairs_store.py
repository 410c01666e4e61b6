"""The job store with (narration, video) pairs: what each item keeps, older stores, what a worker is handed."""

import sqlite3
from pathlib import Path

from heygem.cluster.tasks import item_from, message_for
from heygem.jobs import JobStore, NewItem, Workspace, batch_manifest, work_item


def test_pairs_keep_their_own_narration_settings_and_face_track(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_pairs(
        "b1",
        "/u/a.wav",
        "a.wav",
        {"quality": "small"},
        [
            NewItem("x.mp4", "/u/x.mp4", "/o/x__a.mp4", audio="/u/a.wav", audio_name="a.wav"),
            NewItem(
                "x.mp4",
                "/u/x.mp4",
                "/o/x__b.mp4",
                audio="/u/b.wav",
                audio_name="b.wav",
                overrides={"height": 720},
            ),
            NewItem("x.mp4", "/u/x.mp4", "/o/x__c.mp4", "c.wav: not readable audio", "/u/c.wav", "c.wav"),
        ],
        unmatched=["lonely.mp4"],
    )
    batch = store.get("b1")
    assert batch.narrations == ["a.wav", "b.wav", "c.wav"] and batch.unmatched == ["lonely.mp4"]
    assert [i.status for i in batch.items] == ["queued", "queued", "failed"]
    workspace = Workspace(tmp_path / "ws")
    second = work_item(workspace, batch.audio, batch.settings, batch.items[1])
    assert second.audio == Path("/u/b.wav") and second.settings == {"quality": "small", "height": 720}
    first = store.claim_next()
    store.finish_item(
        first, "done", output="/o/x__a.mp4", track_cached=False, detected_frames=12, detect_seconds=0.3
    )
    entry = batch_manifest(store.get("b1")).to_json()
    assert entry["audio"] is None and entry["audios"] == ["a.wav", "b.wav", "c.wav"]
    assert entry["unmatched"] == ["lonely.mp4"]
    done = entry["videos"][0]
    assert (done["audio"], done["track_cached"], done["detected_frames"], done["detect_seconds"]) == (
        "a.wav",
        False,
        12,
        0.3,
    )


def test_a_store_made_before_pairs_gets_the_new_columns_and_keeps_its_batches(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the v0.2 schema, before pairs
        db.executescript(
            "CREATE TABLE batches (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, created REAL NOT NULL, "
            "audio TEXT NOT NULL, audio_name TEXT NOT NULL, settings TEXT NOT NULL, "
            "cancel INTEGER NOT NULL DEFAULT 0, finished REAL, notified INTEGER NOT NULL DEFAULT 0);"
            "CREATE TABLE items (batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE, "
            "idx INTEGER NOT NULL, name TEXT NOT NULL, video TEXT NOT NULL, dest TEXT NOT NULL DEFAULT '', "
            "status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, stage TEXT NOT NULL DEFAULT '', "
            "chunk INTEGER NOT NULL DEFAULT 0, chunks INTEGER NOT NULL DEFAULT 0, output TEXT, error TEXT, "
            "frames INTEGER, frames_without_face INTEGER, seconds REAL, attempts INTEGER NOT NULL DEFAULT 0, "
            "task_id TEXT, worker TEXT, engine TEXT, detector TEXT, started REAL, finished REAL, "
            "PRIMARY KEY (batch_id, idx));"
            "INSERT INTO batches (id, seq, created, audio, audio_name, settings) "
            "VALUES ('old', 1, 0, '/u/n.wav', 'n.wav', '{}');"
            "INSERT INTO items (batch_id, idx, name, video, dest, status) "
            "VALUES ('old', 0, 'v.mp4', '/u/v.mp4', '/o/v.mp4', 'queued');"
        )
    store = JobStore(path)
    batch = store.get("old")
    assert batch.narrations == ["n.wav"] and batch.unmatched == []
    assert work_item(Workspace(tmp_path), batch.audio, batch.settings, batch.items[0]).audio == Path(
        "/u/n.wav"
    )
    store.add_pairs(
        "new", "/u/a.wav", "a.wav", {}, [NewItem("v.mp4", "/u/v.mp4", "/o/v.mp4", audio="/u/a.wav")]
    )
    assert store.get("new").items[0].audio == "/u/a.wav"


def test_a_pair_travels_to_a_celery_worker_with_its_own_narration(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    root = tmp_path / "ws"
    uploads = root / "uploads" / "b1"
    uploads.mkdir(parents=True)
    pair = NewItem(
        "x.mp4",
        str(uploads / "000-x.mp4"),
        str(root / "outputs/b1/x__b.mp4"),
        audio=str(uploads / "audio-01-b.wav"),
    )
    store.add_pairs("b1", str(uploads / "audio-00-a.wav"), "a.wav", {}, [pair])
    batch = store.get("b1")
    work = work_item(Workspace(root), batch.audio, batch.settings, batch.items[0])
    elsewhere = tmp_path / "mounted elsewhere"
    received = item_from(message_for(work, root, 0.0), elsewhere)
    assert received.audio == elsewhere / "uploads/b1/audio-01-b.wav"
    assert received.dest == elsewhere / "outputs/b1/x__b.mp4"
