"""Scale-out on a real Redis (Debian's redis-server) with two Celery workers in subprocesses."""

import time

import pytest
from gradio_client import handle_file

from heygem.testing import synthetic
from heygem.testing.processes import FAST_REDELIVERY, REDIS, App, Redis, Worker, finished, wait_for

pytestmark = pytest.mark.skipif(
    REDIS is None, reason="redis-server is not installed (apt-get install redis-server)"
)


@pytest.fixture
def cluster(tmp_path):
    redis = Redis(tmp_path)
    workspace = tmp_path / "shared"
    env = {"HEYGEM_BROKER": redis.url, **FAST_REDELIVERY}
    app, workers = None, []
    try:
        app = App(workspace, env=env).wait_ready(marker="connected to broker")
        workers = [Worker(name, redis.url, workspace, env=FAST_REDELIVERY) for name in ("w1", "w2")]
        yield redis, app, workers
    finally:
        for worker in workers:
            worker.stop()
        if app:
            app.stop()
        redis.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster-media")
    videos = [
        synthetic.face_video(folder / f"host {k}.mp4", 8.0, size=(480, 270), face=160) for k in range(4)
    ]
    return {"audio": synthetic.speech_wav(folder / "voice.wav", 8.0), "videos": videos}


def submit(app, media, settings=None):
    client = app.client()
    batch_id = client.predict(
        handle_file(media["audio"]),
        [handle_file(v) for v in media["videos"]],
        settings or {},
        api_name="/submit_batch",
    )
    return client, batch_id


def outputs_once(app, batch_id):
    files = sorted(p.name for p in (app.workspace / "outputs" / batch_id).glob("*.mp4"))
    assert files == [f"host {k}.mp4" for k in range(4)]  # exactly one output each, no -1 copies
    assert not list((app.workspace / "outputs").rglob("*.part.mp4"))


def test_two_workers_share_a_batch(cluster, media):
    _, app, _ = cluster
    client, batch_id = submit(app, media)
    status = wait_for(lambda: finished(client, batch_id), timeout=180)
    assert status["state"] == "done"
    assert {i["worker"] for i in status["items"]} == {"w1", "w2"}
    outputs_once(app, batch_id)


def test_a_killed_worker_is_replaced_and_nothing_runs_twice(cluster, media):
    _, app, (w1, w2) = cluster
    client, batch_id = submit(app, media, {"chunk_seconds": 0.5})

    def running_on_w1():
        items = client.predict(batch_id, api_name="/batch_status")["items"]
        return [
            i
            for i in items
            if i["worker"] == "w1"
            and i["status"] == "running"
            and i["progress"] < 0.5
            and i["stage"] in ("detecting", "lipsync")
        ]

    victim = wait_for(running_on_w1, timeout=120, every=0.1)[0]
    w1.kill()
    status = wait_for(lambda: finished(client, batch_id), timeout=240)
    assert status["state"] == "done"
    redone = next(i for i in status["items"] if i["video"] == victim["video"])
    assert redone["worker"] == "w2" and redone["attempts"] >= 2
    outputs_once(app, batch_id)


def test_redis_restart_mid_batch_loses_nothing(cluster, media):
    redis, app, _ = cluster
    client, batch_id = submit(app, media)
    wait_for(
        lambda: any(
            i["status"] == "done" for i in client.predict(batch_id, api_name="/batch_status")["items"]
        ),
        timeout=120,
        every=0.2,
    )
    redis.restart()
    time.sleep(1)
    status = wait_for(lambda: finished(client, batch_id), timeout=240)
    assert status["state"] == "done"
    outputs_once(app, batch_id)
