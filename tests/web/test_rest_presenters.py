"""The REST API's presenter library and batches naming presenters: the real FastAPI app on the
service (real store, workspace, ffmpeg), over an in-process transport; every answer checked
against the documented models."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from heygem.web import apischema
from heygem.web.rest import API_PREFIX, build_api
from tests.web.restapi import error


@pytest.fixture
def api(service):
    """The API mounted where the app mounts it, reached as http://studio.example."""
    root = FastAPI()
    root.mount(API_PREFIX, build_api(service, 64 * 2**20))
    with TestClient(root, base_url=f"http://studio.example{API_PREFIX}") as client:
        yield client


def add(api, clip, name: str | None = None, **fields):
    data = {"name": name} if name else {}
    data |= {k: json.dumps(v) if isinstance(v, dict) else v for k, v in fields.items()}
    return api.post("/presenters", files={"file": (clip.name, clip.read_bytes(), "video/mp4")}, data=data)


def test_add_list_use_in_batches_and_delete_a_presenter(api, service, speech, face_clip):
    added = add(api, face_clip, "Anna", face_point="320 180", settings={"mask": "mouth"})
    assert added.status_code == 201, added.text
    anna = apischema.PresenterCreated.model_validate(added.json())
    assert (anna.name, anna.file_name, anna.existing) == ("Anna", "face clip.mp4", False)
    assert anna.settings == {"mask": "mouth", "face_point": [320.0, 180.0]}
    assert anna.track.state == "later"  # no worker here makes tracks
    assert added.headers["location"] == anna.url == f"http://studio.example/api/v1/presenters/{anna.id}"
    again = add(api, face_clip, "Another name")
    assert again.status_code == 200 and again.json()["existing"] and again.json()["id"] == anna.id
    listed = apischema.PresenterList.model_validate(api.get("/presenters").json())
    assert [p.name for p in listed.presenters] == ["Anna"]
    assert api.get("/presenters/anna").json()["id"] == anna.id  # by name too, case ignored
    thumbnail = api.get(anna.thumbnail_url.removeprefix("http://studio.example/api/v1"))
    assert thumbnail.headers["content-type"] == "image/jpeg" and thumbnail.content[:2] == b"\xff\xd8"

    audio = {"audio": ("lesson 1.wav", speech.read_bytes(), "audio/wav")}
    key = {"Idempotency-Key": "lesson-1-anna"}
    created = api.post("/batches", files=audio, data={"presenter": ["Anna"]}, headers=key)
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    repeated = api.post("/batches", files=audio, data={"presenter": ["Anna"]}, headers=key)
    assert repeated.json()["id"] == batch_id and len(service.store.batches()) == 1  # one batch
    item = apischema.BatchDoc.model_validate(api.get(f"/batches/{batch_id}").json()).items[0]
    assert (item.video, item.presenter) == ("Anna.mp4", anna.id)
    assert api.get(f"/presenters/{anna.id}").json()["used_by"] == [batch_id]

    refused = error(api.delete("/presenters/Anna"), 409, "conflict", f"is used by batch {batch_id}")
    assert "'Anna'" in refused["message"]
    assert api.post(f"/batches/{batch_id}/cancel").status_code == 202
    assert api.delete("/presenters/Anna").status_code == 204
    error(api.get(f"/presenters/{anna.id}"), 404, "not_found", "no presenter")
    error(api.post("/batches", files=audio, data={"presenter": ["Anna"]}), 404, "not_found", "'Anna'")


def test_patch_a_presenter(api, face_clip, tmp_path):
    anna = add(api, face_clip, "Anna", face_point="10 20").json()
    still = tmp_path / "ben.jpg"
    still.write_bytes(api.get(f"/presenters/{anna['id']}/thumbnail.jpg").content)
    assert add(api, still).json()["name"] == "ben"
    changed = api.patch(
        f"/presenters/{anna['id']}", json={"name": "Anna K", "settings": {"pads": [0, 5, 0, 0]}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"] == {"face_point": [10.0, 20.0], "pads": [0, 5, 0, 0]}
    dropped = api.patch("/presenters/Anna K", json={"settings": {"face_point": None}})
    assert dropped.json()["settings"] == {"pads": [0, 5, 0, 0]}
    error(api.patch("/presenters/Anna K", json={"name": "BEN"}), 409, "conflict", "already named 'BEN'")
    bad = error(
        api.patch("/presenters/Anna K", json={"settings": {"quality": "high"}}), 422, "invalid_setting", ""
    )
    assert bad["key"] == "quality"
    error(api.patch("/presenters/Anna K", json={"colour": "red"}), 422, "invalid_request", "colour")


def test_what_adding_a_presenter_refuses(api, service, face_clip):
    clip = ("a.mp4", face_clip.read_bytes(), "video/mp4")
    error(
        api.post("/presenters", files={"file": ("notes.txt", b"hi", "text/plain")}),
        415,
        "unsupported_media_type",
        "notes.txt",
    )
    error(
        api.post("/presenters", files=[("file", clip), ("file", clip)]), 422, "invalid_input", "exactly one"
    )
    error(
        api.post("/presenters", files={"file": clip}, data={"colour": "red"}), 400, "bad_request", "'colour'"
    )
    error(
        api.post("/presenters", files={"file": clip}, data={"face_point": "left"}),
        422,
        "invalid_setting",
        "face_point",
    )
    error(
        api.post("/presenters", files={"file": clip}, data={"settings": '{"height": 720}'}),
        422,
        "invalid_setting",
        "a presenter keeps",
    )
    assert service.presenters.all() == [] and list(service.workspace.cache.glob("api-uploads/*")) == []


def test_the_openapi_document_describes_the_library(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert set(paths["/presenters"]) == {"get", "post"}
    assert set(paths["/presenters/{ref}"]) == {"get", "patch", "delete"}
    submit = paths["/batches"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "presenter" in submit["properties"] and submit["required"] == ["audio"]
