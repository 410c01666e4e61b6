"""With HEYGEM_AUTH set, every route of the app (UI, gradio_client API, REST API) refuses a
request without the right credentials: the routes are enumerated, not listed by hand."""

from __future__ import annotations

import re

import httpx
import pytest
from gradio_client import handle_file

from heygem.testing import synthetic
from heygem.testing.processes import App, finished, wait_for
from tests.web.restapi import UNKNOWN, error, routes_of


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """One app with a login for this module's tests: they only knock, read and run a batch."""
    running = App(tmp_path_factory.mktemp("secured") / "ws", env={"HEYGEM_AUTH": "studio:秘密 pass"})
    yield running.wait_ready()
    running.stop()


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


def test_the_login_guards_every_route(secured, tmp_path):
    from heygem.web import basic_header

    routes = every_route(tmp_path)
    assert ("GET", "/api/v1/batches/{batch_id}") in routes and ("POST", "/gradio_api/upload") in routes
    assert len(routes) > 60  # Gradio's routes were walked too, not only ours
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
        # The browser resends the login to a hostile page's form too: its Origin refuses it.
        cross_site = {**login, "Origin": "http://evil.example"}
        for path in ("/api/v1/batches", f"/api/v1/batches/{UNKNOWN}/cancel", "/gradio_api/queue/join"):
            error(client.post(path, headers=cross_site), 403, "forbidden", "evil.example")
        assert client.delete(f"/api/v1/batches/{UNKNOWN}", headers=cross_site).status_code == 403
        same_site = {**login, "Origin": secured.url.rstrip("/")}
        assert client.delete(f"/api/v1/batches/{UNKNOWN}", headers=same_site).status_code == 404


def test_the_ui_and_the_gradio_api_ask_for_the_login(secured, tmp_path):
    """The pages and Gradio's own routes by hand (the enumeration above walks them too): the
    scheme is case-insensitive, a Bearer token is no login, and gradio_client with the login
    runs a batch."""
    import urllib.error
    import urllib.request

    from heygem.web.server import basic_header

    routes = [
        "",
        "config",
        "gradio_api/info",
        "gradio_api/queue/status",
        "theme.css",
        f"gradio_api/file={secured.workspace}/outputs",
        "gradio_api/startup-events",
        "heygem/zip/any-token",
    ]

    def code(route, method="GET", headers=None):
        request = urllib.request.Request(secured.url + route, method=method, headers=headers or {})
        try:
            return urllib.request.urlopen(request, timeout=10).status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert {r: code(r) for r in routes} == dict.fromkeys(routes, 401)
    for route in ("gradio_api/upload", "gradio_api/call/batch_status", "gradio_api/queue/join"):
        assert code(route, "POST") == 401
    assert code("", headers={"Authorization": basic_header("studio", "wrong")}) == 401
    login = {"Authorization": basic_header("studio", "秘密 pass")}
    assert code("", headers=login) == 200 and code("config", headers=login) == 200
    token = login["Authorization"].split()[1]
    for scheme in ("basic", "BASIC", "bAsIc"):  # the scheme is case-insensitive (RFC 7235)
        assert code("", headers={"Authorization": f"{scheme} {token}"}) == 200, scheme
    assert code("", headers={"Authorization": f"Bearer {token}"}) == 401
    from gradio_client import Client

    client = Client(secured.url, headers=login, verbose=False)
    audio = synthetic.speech_wav(tmp_path / "讲解 narration.wav", 2.0)
    video = synthetic.face_video(tmp_path / "lesson one.mp4", 1.0, size=(320, 180), face=120)
    batch_id = client.predict(handle_file(audio), [handle_file(video)], api_name="/submit_batch")
    assert wait_for(lambda: finished(client, batch_id), timeout=120)["state"] == "done"


def test_listening_beyond_loopback_asks_for_a_login_it_made(tmp_path):
    """``--host 0.0.0.0`` and no HEYGEM_AUTH: a password made on the first start, kept in the
    workspace (0600) and printed with the URL, never logged; ``--no-auth`` opens it on purpose."""
    import stat

    workspace = tmp_path / "ws"
    with App(workspace, None, None, "--host", "0.0.0.0").wait_ready() as app:
        user, password = app.login()
        kept = workspace / "login.txt"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        console = app.log.read_text()
        assert f"login: user {user}, password {password}" in console and f"kept in {kept}" in console
        assert f":{app.port} (on this machine: http://127.0.0.1:{app.port})" in console
        assert password not in (workspace / "运行实时日志.log").read_text()
        with httpx.Client(base_url=app.url.rstrip("/"), timeout=30) as client:
            assert client.get("/").status_code == 401
            error(client.get("/api/v1/health"), 401, "unauthorized", "login")
            assert client.get("/api/v1/health", headers=app.headers()).status_code == 200
        app.stop()
    with App(workspace, None, None, "--host", "0.0.0.0", "--no-auth").wait_ready() as opened:
        assert httpx.get(f"{opened.url}api/v1/health", timeout=30).status_code == 200
        assert "without login (--no-auth)" in (workspace / "运行实时日志.log").read_text()
        assert kept.read_text() == f"{user}:{password}\n"  # kept for the next start with a login
        opened.stop()
