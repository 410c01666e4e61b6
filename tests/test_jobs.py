"""The job store on its own, and the small pure helpers of the web app."""

import itertools
import sqlite3
import threading

import pytest

from heygem.atomic import replacing
from heygem.dispatcher import Dispatcher
from heygem.i18n import TEXT, lang_of, tr
from heygem.jobs import JobStore
from heygem.views import status_html
from heygem.workspace import Workspace, safe_name


def test_items_run_in_submission_order_and_finish_once(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch(
        "b1",
        "a.wav",
        "a.wav",
        {},
        [("x.mp4", "/x", "/o/x.mp4", None), ("bad.mp4", "/bad", "/o/bad.mp4", "bad.mp4: broken")],
    )
    store.add_batch(
        "b2", "a.wav", "a.wav", {"engine": "preview"}, [("y.mp4", "/y", "/o/y.mp4", None)]
    )
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


def test_a_cluster_result_seen_before_its_start_still_names_its_worker(tmp_path):
    # a short video can start and end on a worker between two looks of the dispatcher
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch("b1", "a.wav", "a.wav", {}, [("x", "/x", str(tmp_path / "x.mp4"), None)])
    sent = store.dispatch_next(lambda item: "task-1")
    dispatcher = Dispatcher(store, Workspace(tmp_path), "redis://127.0.0.1:1/0")  # never connects
    dispatcher._finish(sent, {"status": "done", "output": "x.mp4", "worker": "w2", "frames": 5})
    item = store.get("b1").items[0]
    assert (item.status, item.worker, item.attempts) == ("done", "w2", 1)
    assert store.get("b1").state == "done"


def test_store_is_wal(tmp_path):
    JobStore(tmp_path / "jobs.sqlite")
    mode = sqlite3.connect(tmp_path / "jobs.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_batch_ids_are_reserved_once_even_when_they_clash(tmp_path):
    workspace = Workspace(tmp_path).create()
    taken: list[str] = []

    def submitter():  # every thread proposes the same ids in the same order
        ids = (f"20261124-015125-{k:04x}" for k in itertools.count())
        taken.extend(workspace.new_batch(lambda: next(ids)) for _ in range(5))

    threads = [threading.Thread(target=submitter) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 40 and len(set(taken)) == 40
    assert sorted(p.name for p in workspace.uploads.iterdir()) == sorted(taken)
    default = {workspace.new_batch() for _ in range(200)}  # the same second, mostly
    assert len(default) == 200


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "batch.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), replacing(target) as temp:
        temp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    with replacing(target) as temp:
        temp.write_text("new")
        assert target.read_text() == "old"  # not visible before the end
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o644
    assert sorted(tmp_path.iterdir()) == [target]


def test_safe_names():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("-rf lesson 1.mp4") == "rf lesson 1.mp4"
    assert safe_name("课程 第一讲.MP4") == "课程 第一讲.mp4"
    assert safe_name("a\"b'c.mov") == "a_b_c.mov"
    assert safe_name("..") == "file" and safe_name("C:\\x\\y.mp4") == "y.mp4"
    assert safe_name(".hidden.mp4") == "hidden.mp4"


def test_output_check_resolves_links_and_dots(tmp_path):
    ws = Workspace(tmp_path).create()
    (ws.outputs / "b").mkdir()
    assert ws.contains_output(ws.outputs / "b" / "x.mp4")
    assert not ws.contains_output(ws.outputs / ".." / "heygem.sqlite")
    (ws.outputs / "link").symlink_to(tmp_path)
    assert not ws.contains_output(ws.outputs / "link" / "heygem.sqlite")


def test_language_and_translations():
    assert lang_of("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert lang_of("en-US,en;q=0.9") == "en" and lang_of(None) == "en"
    assert tr("start_batch", "zh") == "开始批量生成" and tr("tab_log", "zh") == "运行实时日志"
    assert all(en and zh for en, zh in TEXT.values())


def test_status_panel_escapes_names():
    status = {"batch_id": "b", "state": "running", "progress": 0.5, "current": "<script>x</script>",
              "current_index": 1, "total": 1, "eta_seconds": 90,
              "items": [{"video": "<img src=x>", "status": "running", "progress": 0.5, "stage": "lipsync",
                         "chunk": 2, "chunks": 3, "error": None, "output": None}]}  # fmt: skip
    page = status_html(status, "ready", "zh")
    assert "<script>" not in page and "<img" not in page
    assert "口型同步 第 2/3 块" in page and "预计剩余 1 min 30 s" in page
