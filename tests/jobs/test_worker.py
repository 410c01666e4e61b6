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
