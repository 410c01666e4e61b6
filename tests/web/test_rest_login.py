"""With HEYGEM_AUTH set, every route of the app (UI, gradio_client API, REST API) refuses a
request without the right credentials: the routes are enumerated, not listed by hand."""

from __future__ import annotations

import re

import httpx

from heygem.testing.processes import App
from tests.web.restapi import UNKNOWN, error, routes_of


def every_route(tmp_path) -> set[tuple[str, str]]:
    """The routes of the app as app.py builds it (UI, gradio_client API, REST API), built here
    with a worker that is never started."""
    from heygem.jobs import JobStore, Worker, Workspace
    from heygem.lipsync import EngineSettings
    from heygem.web import API_PREFIX, CSS, Service, build_api, build_app, build_ui, gradio_i18n

    workspace = Workspace(tmp_path / "routes-ws").create()
    store = JobStore(workspace.db)
    service = Service(workspace, store, Worker(store, workspace, EngineSettings(engine="loudness")))
    app = build_app(
        build_ui(service, "checkpoints"),
        auth=None,
        allowed=[],
        blocked=[],
        max_file_size="1mb",
        i18n=gradio_i18n(),
        css=CSS,
        mounts={API_PREFIX: build_api(service, 2**20)},
    )
    return routes_of(app)


def concrete(path: str) -> str:
    """A path with each {parameter} filled in: a well-formed batch id, else a plain word."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: UNKNOWN if m[1] == "batch_id" else "x", path)


def test_the_login_guards_every_route(tmp_path):
    from heygem.web import basic_header

    routes = every_route(tmp_path)
    assert ("GET", "/api/v1/batches/{batch_id}") in routes and ("POST", "/gradio_api/upload") in routes
    assert len(routes) > 60  # Gradio's routes were walked too, not only ours
    with App(tmp_path / "ws", env={"HEYGEM_AUTH": "studio:秘密 pass"}).wait_ready() as secured:
        login = {"Authorization": basic_header("studio", "秘密 pass")}
        wrong = {"Authorization": basic_header("studio", "wrong")}
        with httpx.Client(base_url=secured.url.rstrip("/"), timeout=30) as client:
            answers = {}
            for method, path in sorted(routes):
                verb = "GET" if method in ("ANY", "WEBSOCKET") else method
                answers[(method, path)] = client.request(verb, concrete(path)).status_code
                if path.startswith("/api/") and verb != "HEAD":
                    error(client.request(verb, concrete(path), headers=wrong), 401, "unauthorized", "login")
            assert answers == dict.fromkeys(routes, 401)
            assert client.get("/api/v1/health", headers=login).status_code == 200
            assert client.get(f"/api/v1/batches/{UNKNOWN}", headers=login).status_code == 404
