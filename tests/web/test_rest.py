"""The REST API against the real app.py on 127.0.0.1 (loudness engine, CPU), driven with httpx
and, as the README shows it, with the curl binary."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import httpx
import pytest

from heygem.testing import synthetic
from heygem.testing.processes import App, wait_for
from heygem.web import apischema
from heygem.web.rest import build_api
from tests.web.restapi import UNKNOWN, routes_of

ROOT = Path(__file__).resolve().parents[2]
FINISHED = ("done", "partial", "failed", "cancelled")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rest-clips")
    return {
        "audio": synthetic.speech_wav(folder / "讲解 narration.wav", 2.0),
        "long audio": synthetic.speech_wav(folder / "long narration.wav", 40.0),
        "a": synthetic.face_video(folder / "lesson one.mp4", 1.0, size=(320, 180), face=120),
        "b": synthetic.face_video(folder / "第二课.mp4", 1.0, size=(320, 180), face=120),
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = App(tmp_path_factory.mktemp("rest-workspace"), None, None, "--max-upload-mb", "256")
    yield running.wait_ready()
    running.stop()


@pytest.fixture
def api(app):
    with httpx.Client(base_url=f"{app.url}api/v1", timeout=60) as client:
        yield client


def submit(api, audio: Path, videos: list[Path], settings: dict | None = None) -> httpx.Response:
    files = [("audio", (audio.name, audio.read_bytes(), "audio/wav"))]
    files += [("video", (v.name, v.read_bytes(), "video/mp4")) for v in videos]
    data = {"settings": json.dumps(settings)} if settings is not None else {}
    return api.post("/batches", files=files, data=data)


def follow(api, batch_id: str) -> list[tuple[str, int, dict]]:
    """Every (event, id, data) of the batch's event stream, until the server closes it."""
    events, fields = [], {}
    with api.stream("GET", "/events", params={"batch": batch_id}, timeout=120) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if not line and "data" in fields:
                events.append((fields["event"], int(fields["id"]), json.loads(fields["data"])))
                fields = {}
            elif not line.startswith(":") and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    return events


def finished(api, batch_id: str) -> dict | None:
    document = api.get(f"/batches/{batch_id}").json()
    return document if document["state"] in FINISHED else None


def test_submit_follow_download_and_list(app, api, clips):
    response = submit(api, clips["audio"], [clips["a"], clips["b"]], {"quality": "small"})
    assert response.status_code == 201, response.text
    created = apischema.Created.model_validate(response.json())
    assert response.headers["location"] == created.url == f"{app.url}api/v1/batches/{created.id}"

    events = follow(api, created.id)
    assert [e[0] for e in events[:-1]] == ["status"] * (len(events) - 1) and events[-1][0] == "end"
    ids = [e[1] for e in events]
    assert ids == sorted(set(ids))
    for _, _, data in events:
        apischema.BatchDoc.model_validate(data)
    progress = [data["progress"] for _, _, data in events]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any(data["state"] == "running" for _, _, data in events)
    final = events[-1][2]
    assert final["state"] == "done" and final["settings"] == {"quality": "small"}

    document = apischema.BatchDoc.model_validate(api.get(created.url).json())
    assert [i.video for i in document.items] == ["lesson one.mp4", "第二课.mp4"]
    assert document.items == [apischema.ItemDoc.model_validate(i) for i in final["items"]]
    output = Path(document.items[1].output)
    assert output.parent == app.workspace / "outputs" / created.id
    whole = httpx.get(document.items[1].output_url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content == output.read_bytes()
    part = httpx.get(document.items[1].output_url, headers={"Range": "bytes=100-1123"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1123/{output.stat().st_size}"
    assert part.content == output.read_bytes()[100:1124]
    past_end = httpx.get(document.items[1].output_url, headers={"Range": f"bytes={output.stat().st_size}-"})
    assert past_end.status_code == 416

    manifest = app.workspace / "outputs" / created.id / "batch.json"
    wait_for(manifest.is_file, timeout=30)  # written when the batch ends, off the worker's thread
    archive = httpx.get(document.archive_url)
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert created.id in archive.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(archive.content)) as unzipped:
        assert unzipped.testzip() is None
        names = [f"{created.id}/lesson one.mp4", f"{created.id}/第二课.mp4", f"{created.id}/batch.json"]
        assert unzipped.namelist() == names
        for item in document.items:
            assert unzipped.read(f"{created.id}/{Path(item.output).name}") == Path(item.output).read_bytes()
        assert json.loads(unzipped.read(names[2]))["batch_id"] == created.id

    newer = submit(api, clips["audio"], [clips["a"]]).json()["id"]
    wait_for(lambda: finished(api, newer), timeout=120)
    listed = apischema.BatchList.model_validate(api.get("/batches").json()).batches
    assert [b.id for b in listed[:2]] == [newer, created.id]  # newest first
    assert listed[1].counts["done"] == 2 and listed[1].total == 2 and listed[1].url == created.url
    assert [b.id for b in apischema.BatchList.model_validate(api.get("/batches?limit=1").json()).batches] == [
        newer
    ]
    assert api.get("/batches", params={"state": "running"}).json() == {"batches": []}
    assert created.id in [b["id"] for b in api.get("/batches", params={"state": "done"}).json()["batches"]]


def test_cancel_retry_delete(app, api, clips):
    """A 40 s narration on two videos in 0.5 s chunks runs for seconds: every request below is
    answered long before it could end, so each answer is fixed by the batch's state alone."""
    batch_id = submit(api, clips["long audio"], [clips["a"], clips["b"]], {"chunk_seconds": 0.5}).json()["id"]
    busy = api.delete(f"/batches/{batch_id}")
    assert busy.status_code == 409 and "still running" in busy.json()["error"]["message"]
    assert api.post(f"/batches/{batch_id}/retry").status_code == 409

    cancelled = api.post(f"/batches/{batch_id}/cancel")
    assert cancelled.status_code == 202
    assert apischema.BatchDoc.model_validate(cancelled.json()).items[1].status == "cancelled"
    again = api.post(f"/batches/{batch_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert follow(api, batch_id)[-1][2]["state"] == "cancelled"
    assert api.post(f"/batches/{batch_id}/cancel").status_code == 409  # finished: nothing to cancel

    retried = api.post(f"/batches/{batch_id}/retry")
    assert retried.status_code == 202 and retried.json()["state"] in ("queued", "running")
    done = wait_for(lambda: finished(api, batch_id), timeout=240)
    assert done["state"] == "done"
    nothing = api.post(f"/batches/{batch_id}/retry")
    assert nothing.status_code == 409 and "nothing to retry" in nothing.json()["error"]["message"]

    assert api.delete(f"/batches/{batch_id}").status_code == 204
    assert api.get(f"/batches/{batch_id}").status_code == 404
    assert api.delete(f"/batches/{batch_id}").status_code == 404
    assert not (app.workspace / "outputs" / batch_id).exists()
    assert not (app.workspace / "uploads" / batch_id).exists()


def test_a_state_change_from_another_site_is_refused(app, api, clips):
    """A hostile page's form POST (the browser sends its Origin) queues nothing, through the REST
    API or Gradio's own event and upload routes; the app's page and scripts are unaffected."""
    before = api.get("/batches").json()["batches"]
    evil = {"Origin": "http://evil.example"}
    files = [("audio", ("a.wav", clips["audio"].read_bytes(), "audio/wav"))]
    files += [("video", ("a.mp4", clips["a"].read_bytes(), "video/mp4"))]
    refused = api.post("/batches", files=files, headers=evil)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert api.post(f"/batches/{UNKNOWN}/cancel", headers=evil).status_code == 403  # before its 404
    with httpx.Client(base_url=app.url, timeout=30) as page:
        for route in ("gradio_api/queue/join", "gradio_api/upload", "gradio_api/run/submit_batch"):
            assert page.post(route, headers=evil, json={}).status_code == 403, route
    assert api.get("/batches").json()["batches"] == before  # nothing was queued
    own = {"Origin": app.url.rstrip("/")}
    assert api.post("/batches", files=files, headers=own).status_code == 201  # the app's own page


def test_openapi_lists_every_route(api):
    document = api.get("/openapi.json").json()
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    expected = {
        ("POST", "/batches"),
        ("GET", "/batches"),
        ("GET", "/batches/{batch_id}"),
        ("POST", "/batches/{batch_id}/cancel"),
        ("POST", "/batches/{batch_id}/retry"),
        ("DELETE", "/batches/{batch_id}"),
        ("GET", "/batches/{batch_id}/outputs/{name}"),
        ("GET", "/batches/{batch_id}/archive.zip"),
        ("GET", "/events"),
        ("GET", "/health"),
        ("POST", "/presenters"),
        ("GET", "/presenters"),
        ("GET", "/presenters/{ref}"),
        ("PATCH", "/presenters/{ref}"),
        ("DELETE", "/presenters/{ref}"),
        ("GET", "/presenters/{ref}/thumbnail.jpg"),
    }
    assert listed == expected
    served = routes_of(build_api(None, 1)) - {
        ("HEAD", path) for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect")
    }
    docs = {
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("ANY", "/docs-assets"),
    }
    assert served - docs == expected  # the API serves no route its document leaves out
    assert document["servers"] == [{"url": "/api/v1"}]
    form = document["paths"]["/batches"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert set(form["schema"]["properties"]) == {
        "audio",
        "video",
        "settings",
        "pairing",
        "manifest",
        "presenter",
    }
    docs = api.get("/docs")
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text


def test_health(api):
    health = api.get("/health")
    assert health.status_code == 200
    report = apischema.Health.model_validate(health.json())
    assert report.ok and report.worker_alive and report.engine.state == "ready"
    assert report.engine.engine == "loudness" and report.disk.free_bytes > 0


def readme_curl_flow() -> str:
    """The README's curl block: the fenced bash block that submits to $API/batches."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    flow = [b for b in blocks if "$API/batches" in b]
    assert len(flow) == 1, "the README shows the REST flow in one bash block"
    return flow[0]


def test_the_readme_curl_flow_works_as_written(app, clips, tmp_path):
    if not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")):
        pytest.skip("curl, jq or bash is not installed (scripts/system-deps.sh installs them where it may)")
    flow = readme_curl_flow()
    assert len([line for line in flow.splitlines() if line.lstrip().startswith(("curl", "ID=$(curl"))]) == 5
    shutil.copyfile(clips["audio"], tmp_path / "narration.wav")
    shutil.copyfile(clips["a"], tmp_path / "a.mp4")
    shutil.copyfile(clips["b"], tmp_path / "b.mp4")
    script = tmp_path / "flow.sh"
    script.write_text("set -euo pipefail\n" + flow.replace("http://127.0.0.1:7860/", app.url))
    run = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "event: status" in run.stdout and "event: end" in run.stdout
    assert '"done"' in run.stdout.splitlines()[-1]  # the status line the README pipes through jq
    batch_id = json.loads(run.stdout.split("event: end\ndata: ")[1].splitlines()[0])["batch_id"]
    output = app.workspace / "outputs" / batch_id / "a.mp4"
    assert (tmp_path / "a-start.mp4").read_bytes() == output.read_bytes()[:1024]
    with zipfile.ZipFile(tmp_path / "results.zip") as unzipped:
        assert sorted(unzipped.namelist()) == sorted(
            f"{batch_id}/{n}" for n in ("a.mp4", "b.mp4", "batch.json")
        )


def test_several_narrations_paired_by_order_and_by_a_manifest(api, clips, tmp_path):
    """Two narrations and two videos: `order` pairs first with first; a manifest picks its own pairs."""
    second = synthetic.speech_wav(tmp_path / "second.wav", 1.0)
    files = [("audio", (p.name, p.read_bytes(), "audio/wav")) for p in (clips["audio"], second)]
    files += [("video", (p.name, p.read_bytes(), "video/mp4")) for p in (clips["a"], clips["b"])]
    response = api.post("/batches", files=files, data={"pairing": "order"})
    assert response.status_code == 201, response.text
    document = wait_for(lambda: finished(api, response.json()["id"]), timeout=180)
    assert [(i["audio"], i["video"], i["status"]) for i in document["items"]] == [
        (clips["audio"].name, clips["a"].name, "done"),
        ("second.wav", clips["b"].name, "done"),
    ]
    assert document["audios"] == [clips["audio"].name, "second.wav"]
    apischema.BatchDoc.model_validate(document)

    rows = f"audio,video,output\nsecond.wav,{clips['b'].name},just one\n"
    manifest = [("manifest", ("jobs.csv", rows.encode(), "text/csv"))]
    response = api.post("/batches", files=files + manifest)
    assert response.status_code == 201, response.text
    document = wait_for(lambda: finished(api, response.json()["id"]), timeout=180)
    assert [(i["audio"], i["video"], Path(i["output"]).name) for i in document["items"]] == [
        ("second.wav", clips["b"].name, "just one.mp4")
    ]
    bad = api.post("/batches", files=files, data={"pairing": "zip"})
    assert bad.status_code == 422 and "pairing 'zip'" in bad.json()["error"]["message"]
