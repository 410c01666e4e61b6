"""Scale-out on a real Redis (Debian's redis-server) with two Celery workers in subprocesses."""

import pytest
from gradio_client import handle_file

from heygem.testing import synthetic
from heygem.testing.processes import FAST_REDELIVERY, REDIS, App, Pauses, Redis, Worker, finished, wait_for

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


def test_a_killed_worker_is_replaced_and_nothing_runs_twice(tmp_path, media):
    """w1 dies mid-video; w2, which mounts the shared workspace at another path (README: each
    machine at its own), takes the video over and resumes from the chunks w1 finished."""
    redis = Redis(tmp_path / "redis")
    workspace = tmp_path / "shared"
    workspace.mkdir()
    elsewhere = tmp_path / "mounted-elsewhere"
    elsewhere.symlink_to(workspace, target_is_directory=True)  # w2's own path to the same files
    pauses = Pauses(tmp_path / "pauses", "video*:lipsync:2")  # w1 is held in a video's chunk 2
    app = w1 = w2 = None
    try:
        app = App(workspace, env={"HEYGEM_BROKER": redis.url, **FAST_REDELIVERY}).wait_ready(
            marker="connected to broker"
        )
        w1 = Worker("w1", redis.url, workspace, env={**FAST_REDELIVERY, **pauses.env})
        client, batch_id = submit(app, media, {"chunk_seconds": 0.5})
        pauses.any_reached()
        (victim,) = [
            i for i in client.predict(batch_id, api_name="/batch_status")["items"] if i["status"] == "running"
        ]
        w1.kill()  # mid-video, its message not acknowledged
        w2 = Worker("w2", redis.url, elsewhere, env=FAST_REDELIVERY)
        status = wait_for(lambda: finished(client, batch_id), timeout=240)
        assert status["state"] == "done"
        redone = next(i for i in status["items"] if i["video"] == victim["video"])
        assert redone["worker"] == "w2" and redone["attempts"] >= 2
        assert redone["resumed_chunks"] >= 1  # w1's first chunk kept, though w2's paths differ
        outputs_once(app, batch_id)
    finally:
        for process in (w1, w2, app):
            if process:
                process.stop()
        redis.stop()


def test_redis_restart_mid_batch_loses_nothing(tmp_path, media):
    """Redis restarts while a video is held in its second chunk on a worker (a pause point, so
    the restart falls mid-video whatever the machine's speed): every video still ends once."""
    redis = Redis(tmp_path / "redis")
    workspace = tmp_path / "shared"
    pauses = Pauses(tmp_path / "pauses", "video1:lipsync:2")
    app, workers = None, []
    try:
        app = App(workspace, env={"HEYGEM_BROKER": redis.url, **FAST_REDELIVERY}).wait_ready(
            marker="connected to broker"
        )
        env = {**FAST_REDELIVERY, **pauses.env}
        workers = [Worker(name, redis.url, workspace, env=env) for name in ("w1", "w2")]
        client, batch_id = submit(app, media, {"chunk_seconds": 2.0})
        pauses.reached("video1:lipsync:2")
        held = client.predict(batch_id, api_name="/batch_status")["items"][0]
        redis.restart()
        pauses.release("video1:lipsync:2")
        status = wait_for(lambda: finished(client, batch_id), timeout=240)
        assert held["status"] == "running"  # the restart fell while it ran
        assert status["state"] == "done"
        outputs_once(app, batch_id)
    finally:
        for process in (*workers, app):
            if process:
                process.stop()
        redis.stop()
