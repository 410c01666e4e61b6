"""Who may use the app: a login unless it listens on loopback only, and no state change from
another site (in-process: the login's choice and the same-origin middleware on a tiny app)."""

from __future__ import annotations

import stat

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from heygem.web.login import USER, banner, choose_login, is_loopback
from heygem.web.server import SameOrigin


def test_loopback_is_only_this_machine():
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.20", "studio.example"]))


def test_a_login_is_made_once_kept_private_and_used_again(tmp_path):
    kept = tmp_path / "ws" / "login.txt"
    assert choose_login("127.0.0.1", None, kept) is None and not kept.exists()  # loopback: open
    first = choose_login("0.0.0.0", None, kept)
    assert first.user == USER and len(first.password) >= 20 and first.kept_in == kept
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600  # the owner's alone
    assert kept.read_text() == f"{USER}:{first.password}\n"
    assert choose_login("192.168.1.20", None, kept) == first  # the next start: the same one
    text = banner("0.0.0.0", 7860, first)
    assert ":7860" in text and first.password in text and str(kept) in text


def test_heygem_auth_wins_and_no_auth_opens_on_purpose(tmp_path):
    kept = tmp_path / "login.txt"
    given = choose_login("0.0.0.0", "studio:秘密:pass", kept)
    assert (given.user, given.password, given.kept_in) == ("studio", "秘密:pass", None)
    assert choose_login("127.0.0.1", "studio:pw", kept).user == "studio"  # asked for: always on
    assert choose_login("0.0.0.0", None, kept, no_auth=True) is None
    assert not kept.exists()
    with pytest.raises(ValueError, match="user:password"):
        choose_login("0.0.0.0", "no-colon", kept)
    kept.write_text("garbage")
    with pytest.raises(ValueError, match="delete it for a new one"):
        choose_login("0.0.0.0", None, kept)


@pytest.fixture
def guarded():
    """A tiny app behind SameOrigin: every route answers "ok" (POST "changed")."""

    async def page(request):
        return PlainTextResponse("changed" if request.method != "GET" else "ok")

    async def socket(websocket):
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    routes = [Route("/act", page, methods=["GET", "POST", "DELETE"]), WebSocketRoute("/ws", socket)]
    app = SameOrigin(Starlette(routes=routes))
    with TestClient(app, base_url="http://studio.local:7860") as client:
        yield client


def test_a_state_change_from_another_site_is_refused(guarded):
    evil = {"Origin": "http://evil.example"}
    refused = guarded.post("/act", headers=evil, files={"video": ("a.mp4", b"x")})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "http://evil.example" in refused.json()["error"]["message"]
    assert guarded.delete("/act", headers=evil).status_code == 403
    other_port = {"Origin": "http://studio.local:9999"}  # another app on the same machine
    assert guarded.post("/act", headers=other_port).status_code == 403
    assert guarded.post("/act", headers={"Referer": "http://evil.example/page"}).status_code == 403
    assert guarded.post("/act", headers={"Origin": "null"}).status_code == 403  # a sandboxed page
    assert guarded.get("/act", headers=evil).text == "ok"  # reading is not changing


def test_the_apps_own_pages_and_scripts_pass(guarded):
    assert guarded.post("/act", headers={"Origin": "http://studio.local:7860"}).text == "changed"
    assert guarded.post("/act", headers={"Referer": "http://studio.local:7860/?tab=1"}).text == "changed"
    assert guarded.post("/act").text == "changed"  # curl, gradio_client: no Origin, no Referer
    proxied = {"Origin": "https://heygem.example", "X-Forwarded-Host": "heygem.example"}
    assert guarded.post("/act", headers=proxied).text == "changed"  # behind a reverse proxy


def test_a_websocket_from_another_site_is_closed(guarded):
    with guarded.websocket_connect(
        "ws://studio.local:7860/ws", headers={"Origin": "http://studio.local:7860"}
    ) as ws:
        assert ws.receive_text() == "hello"
    with (
        pytest.raises(WebSocketDisconnect),
        guarded.websocket_connect(
            "ws://studio.local:7860/ws", headers={"Origin": "http://evil.example"}
        ) as ws,
    ):
        ws.receive_text()
