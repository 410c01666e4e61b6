"""The REST API's answers to bad input: each bad request gets its status code and a message,
and nothing is written outside the workspace. Against the real app.py on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import httpx
import pytest

from heygem.testing import synthetic
from heygem.testing.processes import App, wait_for
from tests.web.restapi import UNKNOWN, error

LIMIT_MB = 0.5  # the app's --max-upload-mb here; a fraction, as Gradio once refused it at startup
REQUEST_LIMIT_MB = 6  # its --max-request-mb: a whole submission


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rest-bad-media")
    return {
        "audio": synthetic.speech_wav(folder / "voice.wav", 1.0),
        "video": synthetic.face_video(folder / "clip.mp4", 0.6, size=(160, 90), face=60),
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with its own temp folder (TMPDIR), so that a stray write there shows."""
    root = tmp_path_factory.mktemp("rest-bad")
    (root / "tmp").mkdir()
    limits = ("--max-upload-mb", str(LIMIT_MB), "--max-request-mb", str(REQUEST_LIMIT_MB))
    running = App(root / "ws", None, {"TMPDIR": str(root / "tmp")}, *limits)
    yield running.wait_ready()
    running.stop()


@pytest.fixture(scope="module")
def api(app):
    with httpx.Client(base_url=f"{app.url}api/v1", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def done_batch(api, media):
    """A finished batch of one video, and its output's name."""
    files = [("audio", ("voice.wav", media["audio"].read_bytes(), "audio/wav"))]
    files.append(("video", ("clip.mp4", media["video"].read_bytes(), "video/mp4")))
    batch_id = api.post("/batches", files=files).json()["id"]
    document = wait_for(lambda: (d := api.get(f"/batches/{batch_id}").json())["state"] == "done" and d, 120)
    return batch_id, Path(document["items"][0]["output"]).name


def files_for(media, audio=("voice.wav", None, "audio/wav"), video=("clip.mp4", None, "video/mp4")):
    """Form files: (name, bytes or None for the real media, content type) of each part."""
    parts = []
    for field, (name, data, kind) in (("audio", audio), ("video", video)):
        if name is not None:
            parts.append((field, (name, media[field].read_bytes() if data is None else data, kind)))
    return parts


SUBMISSIONS = {  # case: (form files changes, text fields, status, code, message part)
    "empty audio": (
        {"audio": ("voice.wav", b"", "audio/wav")},
        {},
        422,
        "empty_file",
        "voice.wav: the file is empty",
    ),
    "empty video": (
        {"video": ("clip.mp4", b"", "video/mp4")},
        {},
        422,
        "empty_file",
        "clip.mp4: the file is empty",
    ),
    "text as audio": (
        {"audio": ("notes.txt", b"hello", "text/plain")},
        {},
        415,
        "unsupported_media_type",
        "notes.txt: text/plain is not audio or video",
    ),
    "json as video": (
        {"video": ("v.json", b"{}", "application/json")},
        {},
        415,
        "unsupported_media_type",
        "is not video or image",
    ),
    "settings not JSON": ({}, {"settings": "{quality: high"}, 400, "bad_request", "settings is not JSON"),
    "settings a list": ({}, {"settings": "[1, 2]"}, 422, "invalid_input", "settings must be a JSON object"),
    "bad setting value": (
        {},
        {"settings": '{"quality": "ultra"}'},
        422,
        "invalid_setting",
        "setting 'quality': 'ultra'",
    ),
    "unknown setting": ({}, {"settings": '{"colour": 1}'}, 422, "invalid_setting", "known settings: engine"),
    "bad enhancer blend": (
        {},
        {"settings": '{"enhancer": "gfpgan", "enhancer_blend": 120}'},
        422,
        "invalid_setting",
        "setting 'enhancer_blend': 120 is not allowed (float from 0 to 100)",
    ),
    "unknown pairing": (
        {},
        {"pairing": "zip"},
        422,
        "invalid_input",
        "pairing 'zip' is not allowed (use cross",
    ),
    "nothing pairs by name": (
        {},
        {"pairing": "name"},
        422,
        "invalid_input",
        "no narration has the file name of a video (narrations: voice.wav; videos: clip.mp4)",
    ),
    "unknown field": ({}, {"narration": "x"}, 400, "bad_request", "unknown form field 'narration'"),
    "audio as text": (
        {"audio": (None, None, None)},
        {"audio": "voice.wav"},
        400,
        "bad_request",
        "'audio' must be a file",
    ),
    "no audio": ({"audio": (None, None, None)}, {}, 422, "invalid_input", "no narration"),
    "no video": ({"video": (None, None, None)}, {}, 422, "invalid_input", "no videos"),
    "unreadable audio": (
        {"audio": ("voice.wav", b"RIFF" + b"\0" * 64, "audio/wav")},
        {},
        422,
        "invalid_input",
        "voice.wav: not readable audio",
    ),
    "over the limit": (
        {"video": ("big.mp4", b"\0" * int(8 * LIMIT_MB * 2**20), "video/mp4")},
        {},
        413,
        "too_large",
        f"big.mp4: over the upload limit of {LIMIT_MB:g} MB",
    ),
}


@pytest.mark.parametrize("case", SUBMISSIONS, ids=str)
def test_a_bad_submission_is_refused_with_its_reason(app, api, media, case):
    changes, fields, status, code, says = SUBMISSIONS[case]
    before = sorted((app.workspace / "uploads").iterdir())
    response = api.post("/batches", files=files_for(media, **changes), data=fields)
    found = error(response, status, code, says)
    if code == "invalid_setting":
        assert found["key"] == json.loads(fields["settings"]).popitem()[0]
    assert sorted((app.workspace / "uploads").iterdir()) == before  # no batch was made
    assert list((app.workspace / ".cache" / "api-uploads").iterdir()) == []  # staging removed
    assert list((app.workspace.parent / "tmp").iterdir()) == []  # nothing in the system's temp


def test_a_submission_over_the_request_limit_is_refused_unread(app, api, media):
    """Many files each under the file limit, over the request limit in all: 413 from the
    Content-Length, nothing staged."""
    takes = [("video", (f"take {k}.mp4", b"\0" * int(0.45 * 2**20), "video/mp4")) for k in range(14)]
    response = api.post("/batches", files=files_for(media) + takes)
    error(response, 413, "too_large", f"over the limit of {REQUEST_LIMIT_MB:g} MB (--max-request-mb)")
    assert list((app.workspace / ".cache" / "api-uploads").iterdir()) == []


def test_a_body_that_is_not_a_multipart_form(api):
    error(api.post("/batches", json={"audio": "x"}), 415, "unsupported_media_type", "not application/json")
    broken = {"content-type": "multipart/form-data; boundary=xyz"}
    error(
        api.post("/batches", content=b"--xyz\r\nnot a part", headers=broken), 400, "bad_request", "not valid"
    )
    error(
        api.post("/batches", headers={"content-type": "multipart/form-data"}),
        400,
        "bad_request",
        "no boundary",
    )
    error(api.put("/batches"), 405, "method_not_allowed", "Method Not Allowed")
    error(api.get("/no/such/route"), 404, "not_found", "no route GET /api/v1/no/such/route")


def test_a_path_in_a_file_name_is_dropped(app, api, media):
    name = "escape-check-7f3e.mp4"  # a name nothing else in the test session uses
    files = files_for(
        media, audio=("../../voice.wav", None, "audio/wav"), video=(f"../../{name}", None, "video/mp4")
    )
    response = api.post("/batches", files=files)
    assert response.status_code == 201, response.text
    batch_id = response.json()["id"]
    document = api.get(f"/batches/{batch_id}").json()
    assert document["audio"] == "voice.wav" and document["items"][0]["video"] == name
    stored = sorted(p.name for p in (app.workspace / "uploads" / batch_id).iterdir())
    assert stored == [f"000-{name}", "audio-voice.wav"]
    wait_for(lambda: api.get(f"/batches/{batch_id}").json()["state"] == "done", 120)
    anywhere = app.workspace.parent.parent.rglob(f"*{name}")  # the whole pytest temp tree
    assert [p for p in anywhere if app.workspace not in p.parents] == []


@pytest.mark.parametrize("bad_id", ["a.b", "has space", "-leading-dash", "x" * 81, "中文"])
def test_a_malformed_batch_id(api, bad_id):
    for method, path in [
        ("GET", "/batches/{}"),
        ("POST", "/batches/{}/cancel"),
        ("POST", "/batches/{}/retry"),
        ("DELETE", "/batches/{}"),
        ("GET", "/batches/{}/outputs/x.mp4"),
        ("GET", "/batches/{}/archive.zip"),
    ]:
        error(api.request(method, path.format(bad_id)), 400, "malformed_id", "is not a batch id")
    error(api.get("/events", params={"batch": bad_id}), 400, "malformed_id", "is not a batch id")


def test_an_unknown_batch(api):
    for method, path in [
        ("GET", f"/batches/{UNKNOWN}"),
        ("POST", f"/batches/{UNKNOWN}/cancel"),
        ("POST", f"/batches/{UNKNOWN}/retry"),
        ("DELETE", f"/batches/{UNKNOWN}"),
        ("GET", f"/batches/{UNKNOWN}/outputs/x.mp4"),
        ("GET", f"/batches/{UNKNOWN}/archive.zip"),
    ]:
        error(api.request(method, path), 404, "not_found", UNKNOWN)
    error(api.get("/events", params={"batch": UNKNOWN}), 404, "not_found", UNKNOWN)
    error(api.get("/events"), 422, "invalid_request", "query batch: Field required")
    error(api.get("/batches", params={"limit": 0}), 422, "invalid_request", "query limit")
    error(api.get("/batches", params={"state": "asleep"}), 422, "invalid_request", "query state")


def test_a_second_cancel_and_a_finished_batch(api, done_batch):
    batch_id, _ = done_batch
    error(api.post(f"/batches/{batch_id}/cancel"), 409, "conflict", "has already finished (done)")
    error(api.post(f"/batches/{batch_id}/cancel"), 409, "conflict", "has already finished")
    error(api.post(f"/batches/{batch_id}/retry"), 409, "conflict", "nothing to retry")


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../../heygem.sqlite",
        "..%2F..%2Fheygem.sqlite",
        "%2E%2E",
        "%2Fetc%2Fpasswd",
        "batch.json",
        ".work",
        "clip",
        "other.mp4",
    ],
)
def test_an_output_name_outside_the_batch(app, api, done_batch, name):
    """Sent as written (http.client does not resolve '..' as httpx and browsers do)."""
    batch_id, output = done_batch
    assert (app.workspace / "outputs" / batch_id / "batch.json").is_file()  # there, but not an output
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    try:
        connection.request("GET", f"/api/v1/batches/{batch_id}/outputs/{name}")
        response = connection.getresponse()
        status, body = response.status, response.read().decode()
    finally:
        connection.close()
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found", body
    assert api.get(f"/batches/{batch_id}/outputs/{output}").status_code == 200


def test_another_batchs_output_is_not_served_under_this_one(api, media, done_batch):
    batch_id, output = done_batch
    files = files_for(media, video=("other name.mp4", None, "video/mp4"))
    other = api.post("/batches", files=files).json()["id"]
    wait_for(lambda: api.get(f"/batches/{other}").json()["state"] == "done", 120)
    error(api.get(f"/batches/{other}/outputs/{output}"), 404, "not_found", f"no output named {output!r}")
