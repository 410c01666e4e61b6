"""The real app.py in a subprocess, driven through gradio_client (loudness engine, CPU)."""

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from gradio_client import handle_file

from heygem.testing import synthetic
from heygem.testing.processes import App, Pauses, finished, wait_for


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    corrupt = folder / "broken clip.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    return {
        "audio": synthetic.speech_wav(folder / "讲解 narration.wav", 2.0),
        "a": synthetic.face_video(folder / "lesson one.mp4", 1.0, size=(320, 180), face=120),
        "b": synthetic.face_video(folder / "第二课.mp4", 1.0, size=(320, 180), face=120),
        "long": synthetic.face_video(folder / "long take.mp4", 6.0, size=(480, 270), face=160),
        "corrupt": corrupt,
    }


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def notify_server():
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.fixture(scope="module")
def app(tmp_path_factory, notify_server):
    running = App(tmp_path_factory.mktemp("workspace"), env={"HEYGEM_NOTIFY_URL": notify_server})
    yield running.wait_ready()
    running.stop()


def test_batch_with_a_corrupt_video(app, clips):
    client = app.client()
    batch_id = client.predict(
        handle_file(clips["audio"]),
        [handle_file(clips["a"]), handle_file(clips["corrupt"]), handle_file(clips["b"])],
        api_name="/submit_batch",
    )
    status = wait_for(lambda: finished(client, batch_id), timeout=120)
    assert status["state"] == "partial"
    assert [i["status"] for i in status["items"]] == ["done", "failed", "done"]
    assert status["items"][1]["video"] == "broken clip.mp4"
    assert "broken clip.mp4: not a readable video" in status["items"][1]["error"]
    outputs = sorted((app.workspace / "outputs" / batch_id).glob("*.mp4"))
    assert [p.name for p in outputs] == ["lesson one.mp4", "第二课.mp4"]
    assert [i["output"] for i in status["items"]] == [str(outputs[0]), None, str(outputs[1])]
    manifest = json.loads((app.workspace / "outputs" / batch_id / "batch.json").read_text())
    assert manifest["counts"] == {"queued": 0, "running": 0, "done": 2, "failed": 1, "cancelled": 0}
    assert manifest["audio"] == "讲解 narration.wav"
    notice = wait_for(lambda: [n for n in Hook.received if n["batch_id"] == batch_id], timeout=30)[0]
    assert notice["state"] == "partial" and notice["counts"]["done"] == 2
    assert notice["videos"][0]["output"] == str(outputs[0])


def test_status_while_running_and_cancel(tmp_path, clips):
    """Cancel while the first video is held in its second chunk: it stops once that chunk is
    finished (its first two chunks kept for a retry, no third), the queued ones at once."""
    pauses = Pauses(tmp_path / "pauses", "video1:lipsync:2")
    with App(tmp_path / "ws", env=pauses.env).wait_ready() as app:
        client = app.client()
        batch_id = client.predict(
            handle_file(clips["audio"]),
            [handle_file(clips["long"]), handle_file(clips["a"]), handle_file(clips["b"])],
            {"chunk_seconds": 0.5},
            api_name="/submit_batch",
        )
        pauses.reached("video1:lipsync:2")
        status = client.predict(batch_id, api_name="/batch_status")
        assert status["state"] == "running"
        assert status["current"] == "long take.mp4" and status["current_index"] == 1 and status["total"] == 3
        assert 0 < status["items"][0]["progress"] < 1 and status["items"][0]["chunks"] == 5
        assert [i["status"] for i in status["items"][1:]] == ["queued", "queued"]
        cancelled = client.predict(batch_id, api_name="/cancel_batch")
        assert [i["status"] for i in cancelled["items"][1:]] == ["cancelled", "cancelled"]
        pauses.release("video1:lipsync:2")
        final = wait_for(lambda: finished(client, batch_id), timeout=60)
        app.stop()
    assert final["state"] == "cancelled" and final["items"][0]["status"] == "cancelled"
    outputs = app.workspace / "outputs" / batch_id
    kept = sorted(p.name for p in (outputs / ".work" / "0000").glob("segment_*.mp4"))
    assert kept == ["segment_00000.mp4", "segment_00001.mp4"]  # chunk 2 finished, chunk 3 never
    assert not list(outputs.glob("*.mp4")) and not list(outputs.rglob("*.part.mp4"))


def test_unknown_batch_and_empty_submission(app, clips):
    client = app.client()
    assert client.predict("no-such-batch", api_name="/batch_status")["state"] == "unknown"
    with pytest.raises(Exception, match="no videos"):
        client.predict(handle_file(clips["audio"]), [], api_name="/submit_batch")
    with pytest.raises(Exception, match="broken clip.mp4"):
        client.predict(handle_file(clips["corrupt"]), [handle_file(clips["a"])], api_name="/submit_batch")


def test_kill_mid_batch_and_restart_resumes(tmp_path, clips):
    pauses = Pauses(tmp_path / "pauses", "video2:lipsync:3")  # chunks 1 and 2 of video 2 are done
    with App(tmp_path / "ws", env=pauses.env).wait_ready() as first:
        client = first.client()
        batch_id = client.predict(
            handle_file(clips["audio"]),
            [handle_file(clips["a"]), handle_file(clips["long"]), handle_file(clips["b"])],
            {"chunk_seconds": 0.2},
            api_name="/submit_batch",
        )
        pauses.reached("video2:lipsync:3")
        items = client.predict(batch_id, api_name="/batch_status")["items"]
        finished_at = (tmp_path / "ws" / "outputs" / batch_id / "lesson one.mp4").stat().st_mtime_ns
        first.kill()
    assert [i["status"] for i in items] == ["done", "running", "queued"]

    second = App(tmp_path / "ws", port=first.port).wait_ready()
    try:
        client = second.client()
        status = wait_for(lambda: finished(client, batch_id), timeout=180)
    finally:
        second.stop()
    assert status["state"] == "done"
    assert [i["attempts"] for i in status["items"]] == [1, 2, 1]  # the finished one was not redone
    assert status["items"][0]["output"] == items[0]["output"]
    assert (tmp_path / "ws" / "outputs" / batch_id / "lesson one.mp4").stat().st_mtime_ns == finished_at
    resumed = status["items"][1]
    assert resumed["resumed_chunks"] == 2 and resumed["chunk_attempts"][:3] == [0, 0, 1]
    assert not list((tmp_path / "ws" / "outputs").rglob("*.part.mp4"))
    with sqlite3.connect(tmp_path / "ws" / "heygem.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_browser_reaches_outputs_and_uploads_only(app, clips):
    import urllib.error
    import urllib.parse
    import urllib.request

    from heygem.testing.processes import ROOT

    client = app.client()
    batch_id = client.predict(
        handle_file(clips["audio"]), [handle_file(clips["a"])], api_name="/submit_batch"
    )
    output = wait_for(lambda: finished(client, batch_id), timeout=120)["items"][0]["output"]
    upload = next((app.workspace / "uploads" / batch_id).glob("000-*"))

    def code(path):
        try:
            url = f"{app.url}gradio_api/file={urllib.parse.quote(str(path))}"
            return urllib.request.urlopen(url, timeout=10).status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert code(output) == 200 and code(upload) == 200
    refused = [
        app.workspace / "heygem.sqlite",
        app.workspace / "运行实时日志.log",
        "/etc/passwd",
        ROOT / "app.py",
        ROOT / "heygem" / "service.py",
        f"{app.workspace}/outputs/../heygem.sqlite",
        "app.py",
    ]
    assert {str(p): code(p) for p in refused} == {str(p): 403 for p in refused}


@pytest.mark.parametrize(
    ("settings", "allowed"),
    [
        ({"chunk_seconds": "abc"}, "from 0.1 to 600"),
        ({"height": "720p"}, "original, 1080, 720, 480"),
        ({"pads": [1, 2]}, "four whole pixel counts"),
        ({"quality": "ultra"}, "high, standard, small"),
        ({"enhancer": "codeformer"}, "auto, none, gfpgan, restoreformer"),
        ({"speed": "fast"}, "known settings: engine"),
    ],
)
def test_a_bad_setting_is_refused_at_submit(app, clips, settings, allowed):
    client = app.client()
    before = sorted(p.name for p in (app.workspace / "uploads").iterdir())
    with sqlite3.connect(app.workspace / "heygem.sqlite") as db:
        batches = db.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
    ((key, value),) = settings.items()
    with pytest.raises(Exception) as refused:
        client.predict(
            handle_file(clips["audio"]), [handle_file(clips["a"])], settings, api_name="/submit_batch"
        )
    message = str(refused.value)
    assert f"setting {key!r}: {value!r} is not allowed" in message and allowed in message
    with sqlite3.connect(app.workspace / "heygem.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == batches  # nothing queued
    assert sorted(p.name for p in (app.workspace / "uploads").iterdir()) == before  # nothing stored


class FlakyHook(BaseHTTPRequestHandler):
    """Answers 500 to the first two POSTs, 204 after: a receiver that was briefly down."""

    posts: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FlakyHook.posts.append(body)
        self.send_response(500 if len(FlakyHook.posts) <= 2 else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_failed_notification_is_retried_until_it_arrives(tmp_path, clips):
    server = HTTPServer(("127.0.0.1", 0), FlakyHook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "HEYGEM_NOTIFY_URL": f"http://127.0.0.1:{server.server_port}/hook",
        "HEYGEM_NOTIFY_RETRY_SECONDS": "0.2,0.2,0.2",
    }
    try:
        with App(tmp_path / "ws", env=env).wait_ready() as app:
            client = app.client()
            batch_id = client.predict(
                handle_file(clips["audio"]), [handle_file(clips["a"])], api_name="/submit_batch"
            )
            wait_for(lambda: finished(client, batch_id), timeout=120)
            sent = wait_for(
                lambda: (
                    (n := client.predict(batch_id, api_name="/batch_status")["notification"])["state"]
                    == "sent"
                    and n
                ),
                timeout=30,
            )
            app.stop()
    finally:
        server.shutdown()
    assert sent["attempts"] == 3 and sent["error"] is None
    assert [post["batch_id"] for post in FlakyHook.posts] == [batch_id] * 3
    log = (tmp_path / "ws" / "运行实时日志.log").read_text()
    assert "HTTP Error 500" in log  # each failure is in the realtime log


def test_the_console_says_where_the_log_is(tmp_path):
    import shlex

    from heygem.testing.processes import ROOT

    workspace = tmp_path / "elsewhere"
    with App(workspace, None, None, "--log-name", "studio log.txt").wait_ready() as app:
        app.stop()
    assert f"tail -f {shlex.quote(str(workspace / 'studio log.txt'))}" in app.log.read_text()
    assert "tail -f" not in (ROOT / "start_app.sh").read_text()  # app.py says it, knowing the path


PUBLIC = {  # the README's list
    "/submit_batch",
    "/batch_status",
    "/cancel_batch",
    "/preview",
    "/add_presenter",
    "/presenters",
    "/download_models",
    "/download_status",
}


def test_only_the_documented_endpoints_are_public(app):
    import urllib.request

    client = app.client()
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == PUBLIC
    assert not api["unnamed_endpoints"]
    info = json.loads(
        urllib.request.urlopen(f"{app.url}gradio_api/info?all_endpoints=true", timeout=10).read()
    )
    assert set(info["named_endpoints"]) == PUBLIC
    with pytest.raises(ValueError, match="Cannot find a function"):  # page events: not callable
        client.predict("no-batch", [], api_name="/delete_selected")


def test_the_engine_choice_names_each_engines_licence_class(app):
    import urllib.request

    config = json.loads(urllib.request.urlopen(app.url + "config", timeout=30).read())
    ids = ("hg-batch-engine", "hg-single-engine")  # the Batch and Single tabs' settings panels
    engines = [c["props"] for c in config["components"] if c["props"].get("elem_id") in ids]
    assert len(engines) == 2
    for props in engines:
        labels = {value: label for label, value in props["choices"]}
        assert list(labels) == ["auto", "wav2lip", "musetalk", "loudness"]
        assert "non-commercial use only" in labels["wav2lip"]
        assert "commercial use under its licence, with its use restrictions" in labels["musetalk"]
        assert "not real lip-sync" in labels["loudness"]
