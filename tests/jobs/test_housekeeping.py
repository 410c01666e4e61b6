"""Retention deletes what finished long enough ago, and nothing else."""

from __future__ import annotations

import sqlite3
import time

from heygem.jobs import JobStore, Workspace, sweep_retention

DAY = 86400.0


def batch_with_files(store: JobStore, workspace: Workspace, batch_id: str, finished_days_ago: float | None):
    """A one-video batch with an upload and an output on disk; finished that many days ago
    (None: still queued)."""
    upload = workspace.batch_uploads(batch_id) / "000-v.mp4"
    output = workspace.batch_outputs(batch_id) / "v.mp4"
    for path in (upload, output):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"video")
    store.add_batch(batch_id, str(upload), "a.wav", {}, [("v.mp4", str(upload), str(output), None)])
    if finished_days_ago is not None:
        store.finish_item(store.claim_next(), "done", output=str(output))
        with sqlite3.connect(store.path) as db:  # backdate its end
            db.execute(
                "UPDATE batches SET finished=?, created=? WHERE id=?",
                (
                    time.time() - finished_days_ago * DAY,
                    time.time() - (finished_days_ago + 1) * DAY,
                    batch_id,
                ),
            )
    return upload, output


def test_retention_deletes_only_batches_finished_long_enough_ago(tmp_path):
    workspace = Workspace(tmp_path / "ws").create()
    store = JobStore(workspace.db)
    old = batch_with_files(store, workspace, "old", finished_days_ago=8)
    recent = batch_with_files(store, workspace, "recent", finished_days_ago=6)
    waiting = batch_with_files(store, workspace, "waiting", finished_days_ago=None)  # never finished
    with sqlite3.connect(store.path) as db:  # submitted long ago, still waiting its turn
        db.execute("UPDATE batches SET created=? WHERE id='waiting'", (time.time() - 30 * DAY,))
    elsewhere = tmp_path / "precious.mp4"
    elsewhere.write_bytes(b"keep")
    assert sweep_retention(store, workspace, days=7) == 1
    assert sorted(b.id for b in store.batches()) == ["recent", "waiting"]
    assert not any(p.exists() for p in old) and not workspace.batch_outputs("old").exists()
    assert not workspace.batch_uploads("old").exists()
    assert all(p.exists() for p in (*recent, *waiting, elsewhere))
    assert sweep_retention(store, workspace, days=7) == 0  # nothing more to do


def test_a_start_removes_what_killed_processes_left_and_nothing_else(tmp_path):
    """At start nothing runs in this process: a half-staged REST upload, a half-copied batch
    with no store row, a hidden half-written batch.json and an unfinished segment go; a real
    batch's files, its finished segments and folders that are no batch's stay."""
    from heygem.jobs import remove_partial_files, remove_stale_files

    workspace = Workspace(tmp_path / "ws").create()
    store = JobStore(workspace.db)
    upload, output = batch_with_files(store, workspace, "20261201-101010-0a1b2c3d", None)
    work = workspace.work_dir("20261201-101010-0a1b2c3d", 0)
    work.mkdir(parents=True)
    (work / "segment_00000.mp4").write_bytes(b"kept for the resume")
    stale = [
        workspace.cache / "api-uploads" / "upload-x1y2" / "0000-big.mp4",  # killed mid-upload
        workspace.batch_uploads("20261202-111111-deadbeef") / "000-take.mp4",  # killed mid-submit
        workspace.batch_outputs("20261202-111111-deadbeef") / "take.mp4",
        workspace.batch_outputs("20261201-101010-0a1b2c3d") / ".batch.json.k3j4.tmp",
        work / "segment_00001.part.mp4",
    ]
    kept = [upload, output, work / "segment_00000.mp4", workspace.outputs / "my notes" / "plan.txt"]
    for path in stale + kept[3:]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    remove_stale_files(store, workspace)
    remove_partial_files(workspace.outputs)  # the in-process worker's start does both
    assert [p for p in stale if p.exists()] == [] and all(p.exists() for p in kept)
    assert not workspace.batch_uploads("20261202-111111-deadbeef").exists()
    assert list((workspace.cache / "api-uploads").iterdir()) == []
