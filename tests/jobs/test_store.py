"""The job store on its own: order, recovery, cancel and retry, WAL."""

import sqlite3

from heygem.jobs.store import JobStore


def test_items_run_in_submission_order_and_finish_once(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch(
        "b1",
        "a.wav",
        "a.wav",
        {},
        [("x.mp4", "/x", "/o/x.mp4", None), ("bad.mp4", "/bad", "/o/bad.mp4", "bad.mp4: broken")],
    )
    store.add_batch("b2", "a.wav", "a.wav", {"engine": "preview"}, [("y.mp4", "/y", "/o/y.mp4", None)])
    assert store.get("b1").items[1].status == "failed"
    assert store.queue_position("b2") == 1 and store.queue_position("b1") == 0
    first = store.claim_next()
    assert (first.batch_id, first.idx, first.attempts) == ("b1", 0, 1)
    assert store.get("b1").state == "running"
    assert store.claim_next().batch_id == "b2"  # the next queued item, in order
    assert store.finish_item(first, "done", output="/out/x.mp4", frames=10) is True
    batch = store.get("b1")
    assert batch.state == "partial" and batch.finished is not None
    assert batch.counts == {"queued": 0, "running": 0, "done": 1, "failed": 1, "cancelled": 0}
    assert store.batches()[0].id == "b2"  # newest first


def test_recover_requeues_running_items_only(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch(
        "b1", "a.wav", "a.wav", {}, [("x", "/x", "/o/x.mp4", None), ("y", "/y", "/o/y.mp4", None)]
    )
    done = store.claim_next()
    store.finish_item(done, "done", output="/o")
    store.claim_next()  # running when the process "dies"
    reopened = JobStore(tmp_path / "jobs.sqlite")
    assert reopened.recover() == 1
    items = reopened.get("b1").items
    assert [i.status for i in items] == ["done", "queued"]
    again = reopened.claim_next()
    assert (again.idx, again.attempts) == (1, 2)
    assert reopened.integrity_ok()


def test_cancel_then_retry(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch(
        "b1", "a.wav", "a.wav", {}, [("x", "/x", "/o/x.mp4", None), ("y", "/y", "/o/y.mp4", None)]
    )
    running = store.claim_next()
    assert store.cancel_batch("b1") and not store.cancel_batch("nope")
    assert [i.status for i in store.get("b1").items] == ["running", "cancelled"]
    assert store.claim_next() is None
    store.finish_item(running, "cancelled", error="cancelled")
    assert store.get("b1").state == "cancelled"
    assert store.retry_batch("b1") == 2
    assert store.get("b1").state == "queued" and store.claim_next().idx == 0


def test_store_is_wal(tmp_path):
    JobStore(tmp_path / "jobs.sqlite")
    mode = sqlite3.connect(tmp_path / "jobs.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_batch_is_running_only_while_one_of_its_videos_runs(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch(
        "b1", "a.wav", "a.wav", {}, [("x", "/x", "/o/x.mp4", None), ("y", "/y", "/o/y.mp4", None)]
    )
    store.add_batch(
        "b2",
        "a.wav",
        "a.wav",
        {},
        [("z", "/z", "/o/z.mp4", None), ("bad", "/bad", "/o/bad.mp4", "bad: broken")],
    )
    first = store.claim_next()
    # b2 waits behind b1, one of its videos failed at submit: it is queued, with its position
    assert (store.get("b1").state, store.get("b2").state) == ("running", "queued")
    assert store.queue_position("b2") == 1
    store.finish_item(first, "done", output="/o/x.mp4")
    assert store.get("b1").state == "queued"  # between its videos: none of them runs
    assert store.queue_position("b1") == 0


def test_batch_state_from_counts():
    from heygem.states import batch_state

    cases = {
        (("queued", 2),): "queued",
        (("queued", 1), ("failed", 1)): "queued",
        (("queued", 1), ("done", 1)): "queued",
        (("running", 1), ("queued", 1), ("done", 1)): "running",
        (("done", 2),): "done",
        (("done", 1), ("failed", 1)): "partial",
        (("failed", 2),): "failed",
        (("cancelled", 1), ("done", 1)): "cancelled",
    }
    assert {counts: batch_state(dict(counts)) for counts in cases} == cases


def test_listing_by_state_sees_every_batch_and_loads_only_the_page(tmp_path):
    """A running batch behind 10,000 newer finished ones is still listed (the state is read
    from counts per status, not from the newest batches loaded whole)."""
    import sqlite3
    import time

    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch("old-running", "a.wav", "a.wav", {}, [("x", "/x", "/o/x.mp4", None)])
    store.claim_next()
    with sqlite3.connect(store.path) as db:  # 10,000 finished batches at once, quicker than one by one
        now = time.time()
        db.executemany(
            "INSERT INTO batches (id, seq, created, audio, audio_name, settings, finished) VALUES (?,?,?,?,?,?,?)",
            [(f"done-{k}", 2 + k, now, "a.wav", "a.wav", "{}", now) for k in range(10_000)],
        )
        db.executemany(
            "INSERT INTO items (batch_id, idx, name, video, status) VALUES (?, 0, 'y', '/y', 'done')",
            [(f"done-{k}",) for k in range(10_000)],
        )
    assert [b.id for b in store.batches(state="running")] == ["old-running"]
    newest = store.batches(limit=3, state="done")
    assert [b.id for b in newest] == ["done-9999", "done-9998", "done-9997"]
    assert [i.status for i in newest[0].items] == ["done"]
    assert store.finished_before(now + 1) == [
        f"done-{k}" for k in range(10_000)
    ] and not store.finished_before(now - 1)


def test_the_eta_after_a_retry_counts_only_the_retried_videos(tmp_path):
    """A batch finished three days ago, one failed video retried: 10 s in and half done, about
    10 s are left (not "hours", from the first run's start)."""
    import sqlite3
    import time

    from heygem.web.batchstatus import eta_seconds

    store = JobStore(tmp_path / "jobs.sqlite")
    videos = [(name, f"/{name}", f"/o/{name}.mp4", None) for name in ("x", "y", "z")]
    store.add_batch("b1", "a.wav", "a.wav", {}, videos)
    for status in ("done", "done", "failed"):
        store.finish_item(store.claim_next(), status, error=None if status == "done" else "broken")
    days_ago = time.time() - 3 * 86400
    with sqlite3.connect(store.path) as db:  # the first run was three days ago
        db.execute("UPDATE items SET started=?, finished=?", (days_ago, days_ago + 60))
        db.execute("UPDATE batches SET created=?, finished=?", (days_ago, days_ago + 60))
    assert store.retry_batch("b1") == 1
    retried = store.claim_next()
    store.update_progress(retried, 0.5, "lipsync", 1, 2)
    with sqlite3.connect(store.path) as db:  # retried 12 s ago, started 10 s ago
        db.execute("UPDATE batches SET run_started=?", (time.time() - 12,))
        db.execute("UPDATE items SET started=? WHERE idx=2", (time.time() - 10,))
    assert 8 <= eta_seconds(store.get("b1")) <= 14
