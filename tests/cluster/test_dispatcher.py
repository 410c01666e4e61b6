"""The dispatcher against the job store, without a broker."""

from heygem.cluster.dispatcher import Dispatcher
from heygem.jobs.store import JobStore
from heygem.jobs.workspace import Workspace


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
