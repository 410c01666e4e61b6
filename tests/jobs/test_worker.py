"""The in-process worker thread: a store that fails under it does not end it."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from heygem.jobs import JobStore, Worker, Workspace
from heygem.lipsync import EngineSettings
from heygem.testing.processes import wait_for
from heygem.web import views
from heygem.web.service import Service, Upload


@pytest.fixture
def served(tmp_path):
    """A Service over a real store and a real in-process Worker (loudness engine), not started."""
    workspace = Workspace(tmp_path / "ws").create()
    store = JobStore(workspace.db)
    worker = Worker(store, workspace, EngineSettings(engine="loudness", device="cpu"))
    worker.backoff_first = 0.05  # seconds: the back-off doubles from here
    yield Service(workspace, store, worker), store, worker
    worker.stop()


def fail(store: JobStore, method: str, error: Exception, times: float) -> dict:
    """Make ``store.method`` raise ``error`` its next ``times`` calls (a fault injected into the
    real store); returns the counter, which a test may set to 0 to heal it."""
    real = getattr(store, method)
    left = {"times": times}

    def failing(*args, **kwargs):
        if left["times"] > 0:
            left["times"] -= 1
            raise error
        return real(*args, **kwargs)

    setattr(store, method, failing)
    return left


def submit(service: Service, speech, face_clip) -> str:
    return service.submit(Upload(speech, "voice.wav"), [Upload(face_clip, "clip.mp4")])


def state_of(service: Service, batch_id: str) -> str:
    return service.status(batch_id)["state"]


def test_a_locked_store_while_recording_a_result_is_survived(served, speech, face_clip, caplog):
    service, store, worker = served
    fail(store, "finish_item", sqlite3.OperationalError("database is locked"), times=1)
    first = submit(service, speech, face_clip)
    worker.start()
    wait_for(lambda: state_of(service, first) == "done", timeout=120)
    second = submit(service, speech, face_clip)  # the thread is still there
    wait_for(lambda: state_of(service, second) == "done", timeout=120)
    assert [i["attempts"] for i in service.status(first)["items"]] == [1]  # recorded, not redone
    assert worker.health.state == "ok" and service.status(second)["worker_state"] == "ok"
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and "database is locked" in r.message]
    assert logged and logged[0].exc_info  # in the realtime log, with its traceback


def test_a_store_that_keeps_failing_is_reported_down_then_recovers(served, speech, face_clip):
    service, store, worker = served
    first = submit(service, speech, face_clip)
    fault = fail(store, "claim_next", sqlite3.OperationalError("disk I/O error"), times=float("inf"))
    worker.start()
    status = wait_for(lambda: (s := service.status(first))["worker_state"] == "down" and s, timeout=60)
    assert status["state"] == "queued"
    assert status["worker_error"] == "OperationalError: disk I/O error"
    header = views.engine_line(worker.status, "en", worker.health)
    assert 'data-state="down"' in header and "disk I/O error" in header
    fault["times"] = 0  # the disk is back
    wait_for(lambda: state_of(service, first) == "done", timeout=120)
    assert worker.health.state == "ok"
    assert 'data-state="ready"' in views.engine_line(worker.status, "en", worker.health)


def test_a_model_that_failed_to_load_says_why_and_loads_again(tmp_path, random_checkpoint, speech, face_clip):
    workspace = Workspace(tmp_path / "ws").create()
    store = JobStore(workspace.db)
    weights = tmp_path / "checkpoints"
    weights.mkdir()
    flags = EngineSettings(engine="wav2lip", checkpoint_dir=weights, device="cpu")
    worker = Worker(store, workspace, flags).start()
    service = Service(workspace, store, worker)
    try:
        wait_for(lambda: worker.status.state == "error", timeout=60)
        batch_id = submit(service, speech, face_clip)
        status = service.status(batch_id)
        assert (status["state"], status["engine"]) == ("queued", "error")
        assert "wav2lip_gan.pth" in status["engine_error"]  # what to put where
        panel = views.status_html(status, worker.status.state, "en")
        assert "wav2lip_gan.pth" in panel and "System" in panel  # the waiting batch says why
        (weights / "wav2lip.pth").write_bytes(random_checkpoint.read_bytes())  # the cause fixed
        assert service.retry_load()
        done = wait_for(lambda: (s := service.status(batch_id))["state"] == "done" and s, timeout=120)
        assert done["engine"] == "ready" and done["engine_error"] is None
        assert done["items"][0]["engine"] == "wav2lip"
        assert not service.retry_load()  # nothing to retry once loaded
    finally:
        worker.stop()


def test_batch_json_is_rewritten_after_each_video(served, speech, face_clip):
    """A script reading outputs/<batch>/batch.json sees each video as it ends, not only the
    batch's end."""
    import json

    service, store, worker = served
    batch_id = service.submit(
        Upload(speech, "voice.wav"), [Upload(face_clip, "one.mp4"), Upload(face_clip, "two.mp4")]
    )
    worker.prepare()
    assert worker.step()  # one.mp4, in this thread
    worker.records_written()
    record = service.workspace.batch_outputs(batch_id) / "batch.json"
    first = json.loads(record.read_text())
    assert [v["status"] for v in first["videos"]] == ["done", "queued"] and first["state"] == "queued"
    assert worker.step()
    worker.records_written()
    assert json.loads(record.read_text())["state"] == "done"


def test_a_video_claimed_but_never_started_goes_back_to_the_queue(served, speech, face_clip):
    """The store fails between the claim and the run (a lock past its timeout): the video is
    not left running for the life of the process; it runs in a later round, and one that
    can never start fails with the reason after a few claims."""
    service, store, worker = served
    batch_id = submit(service, speech, face_clip)
    worker.prepare()
    fail(store, "get", sqlite3.OperationalError("database is locked"), times=1)
    with pytest.raises(sqlite3.OperationalError):
        worker.step()  # claimed, then the store failed
    assert worker.step()  # put back, claimed again and run
    status = service.status(batch_id)
    assert status["state"] == "done" and status["items"][0]["attempts"] == 2

    again = submit(service, speech, face_clip)
    fault = fail(store, "get", sqlite3.OperationalError("disk I/O error"), times=float("inf"))
    for _ in range(3):
        with pytest.raises(sqlite3.OperationalError):
            worker.step()
    fault["times"] = 0
    assert not worker.step()  # the third claim's failure was recorded; nothing left to run
    (item,) = service.status(again)["items"]
    assert (
        item["status"] == "failed"
        and "could not be started (OperationalError: disk I/O error)" in item["error"]
    )
