"""The dispatcher's paths on a real Redis, one step at a time: a publish that fails, a task the
broker lost, a video that cannot be sent, a store error, and a user's retries (with a worker)."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest
import redis as redis_client

from heygem.cluster.dispatcher import Dispatcher
from heygem.cluster.tasks import QUEUE
from heygem.jobs import JobStore, Workspace
from heygem.testing import synthetic
from heygem.testing.processes import FAST_REDELIVERY, REDIS, Redis, Worker, wait_for
from heygem.web.service import Service, Upload

pytestmark = pytest.mark.skipif(
    REDIS is None, reason="redis-server is not installed (apt-get install redis-server)"
)


@pytest.fixture
def broker(tmp_path):
    server = Redis(tmp_path / "redis")
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def dispatcher(tmp_path, broker):
    """A Dispatcher on a real store and Redis, not started: the test steps it."""
    workspace = Workspace(tmp_path / "ws").create()
    return Dispatcher(JobStore(workspace.db), workspace, broker.url)


def add_video(dispatcher: Dispatcher, batch_id: str, audio=None) -> None:
    """A batch of one video whose files lie in the workspace (no worker reads them here)."""
    folder = dispatcher.workspace.batch_uploads(batch_id)
    folder.mkdir(parents=True, exist_ok=True)
    if audio is None:
        audio = folder / "audio-voice.wav"
        audio.write_bytes(b"")
    (folder / "000-v.mp4").write_bytes(b"")
    dest = dispatcher.workspace.batch_outputs(batch_id) / "v.mp4"
    dispatcher.store.add_batch(
        batch_id, str(audio), "voice.wav", {}, [("v.mp4", str(folder / "000-v.mp4"), str(dest), None)]
    )


def item(dispatcher: Dispatcher, batch_id: str):
    return dispatcher.store.get(batch_id).items[0]


def waiting_task_ids(broker: Redis) -> list[str]:
    """Task ids of the messages waiting in the heygem queue."""
    client = redis_client.Redis.from_url(broker.url)
    return [json.loads(raw)["headers"]["id"] for raw in client.lrange(QUEUE, 0, -1)]


def test_a_publish_that_fails_sends_the_video_again_later(dispatcher, broker):
    dispatcher.step()
    assert dispatcher.status.state == "ready"
    broker.stop()
    add_video(dispatcher, "b1")
    dispatcher.step()
    assert dispatcher.status.state == "error" and dispatcher.status.error.startswith("broker unreachable")
    assert (item(dispatcher, "b1").status, item(dispatcher, "b1").task_id) == ("queued", None)
    broker.start()
    dispatcher.step()
    assert dispatcher.status.state == "ready"
    assert waiting_task_ids(broker) == [item(dispatcher, "b1").task_id]  # sent once, under its id


def test_a_task_the_broker_lost_is_sent_again(dispatcher, broker):
    dispatcher.pending_grace = 0.0  # seconds a pending task may be missing from the broker
    add_video(dispatcher, "b1")
    dispatcher.step()
    sent = item(dispatcher, "b1").task_id
    for _ in range(3):  # pending, but waiting in the queue for a worker: left alone
        dispatcher.step()
    assert (item(dispatcher, "b1").task_id, waiting_task_ids(broker)) == (sent, [sent])
    redis_client.Redis.from_url(broker.url).delete(QUEUE)  # lost, as by a Redis without its data
    dispatcher.step()  # missing once
    dispatcher.step()  # still missing: lost, sent again
    dispatcher.step()
    again = item(dispatcher, "b1").task_id
    assert again not in (None, sent) and waiting_task_ids(broker) == [again]


def test_a_video_that_cannot_be_sent_fails_alone(dispatcher, broker, tmp_path, caplog):
    add_video(dispatcher, "b1", audio=tmp_path / "outside the workspace.wav")
    add_video(dispatcher, "b2")
    dispatcher.step()
    refused = item(dispatcher, "b1")
    assert refused.status == "failed" and "could not be sent to the workers" in refused.error
    assert waiting_task_ids(broker) == [item(dispatcher, "b2").task_id]  # the next one went on
    assert dispatcher.status.state == "ready"  # not "broker unreachable"
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)  # with its traceback


def test_a_store_error_is_not_called_a_broker_error(dispatcher, broker, caplog):
    dispatcher.backoff_first = 0.05
    real = dispatcher.store.in_flight
    left = {"times": 2}

    def failing():
        if left["times"]:
            left["times"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return real()

    dispatcher.store.in_flight = failing
    add_video(dispatcher, "b1")
    dispatcher.start()
    try:
        wait_for(lambda: left["times"] == 0 and dispatcher.health.state == "ok", timeout=30)
    finally:
        dispatcher.stop()
    assert dispatcher.status.state == "ready"
    locked = [r for r in caplog.records if "database is locked" in r.getMessage()]
    assert locked and all(r.exc_info and "broker" not in r.getMessage() for r in locked)


def test_retrying_a_video_many_times_never_wears_it_out(tmp_path, broker):
    workspace = Workspace(tmp_path / "shared").create()
    store = JobStore(workspace.db)
    dispatcher = Dispatcher(store, workspace, broker.url).start()
    service = Service(workspace, store, dispatcher)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.4)
    worker = Worker("w1", broker.url, workspace.root, env=FAST_REDELIVERY)
    try:
        batch_id = service.submit(Upload(audio, "voice.wav"), [Upload(broken, "broken.mp4")])
        errors = []
        for _ in range(5):  # more than the deliveries that count as "lost workers"
            assert service.retry(batch_id) == 1
            status = wait_for(lambda: (s := service.status(batch_id))["state"] == "failed" and s, timeout=60)
            errors.append(status["items"][0]["error"])
    finally:
        worker.stop()
        dispatcher.stop()
    assert all(error.startswith("broken.mp4: not a readable video") for error in errors), (
        errors
    )  # as uploaded


def test_a_cancel_while_the_broker_is_away_reaches_the_workers_once_it_is_back(dispatcher, broker):
    """The store records the cancel at once (no error for the user), and the next round with
    Redis tells the workers, so the running video still stops."""
    from heygem.cluster.tasks import cancel_key

    add_video(dispatcher, "b1")
    dispatcher.step()  # sent
    service = Service(dispatcher.workspace, dispatcher.store, dispatcher)
    broker.stop()
    status = service.cancel("b1")  # no exception: the store is the record
    assert status["batch_id"] == "b1" and dispatcher.store.get("b1").cancel
    broker.start()
    client = redis_client.Redis.from_url(broker.url)
    assert client.get(cancel_key("b1")) is None  # the broker missed it
    dispatcher.step()
    assert client.get(cancel_key("b1")) is not None  # told again: a worker's cancel check sees it
