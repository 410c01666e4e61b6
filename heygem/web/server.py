"""Serving the Gradio app: one FastAPI app, HTTP Basic login in front of every route, and no
state change from another site.

Gradio's own login leaves the page, its API description and some routes open; a studio on a
shared network wants nothing answered without a password. So, when a login is configured
(:mod:`heygem.web.login` says when), an ASGI middleware answers 401 (with a Basic challenge
the browser turns into its login prompt) to any request without the right credentials, API
and file routes included. gradio_client passes them with
``headers={"Authorization": basic_header(user, password)}``.

A browser resends cached Basic credentials to any page's form, and a multipart POST needs no
CORS preflight, so a hostile page could submit or delete batches with them (or, on loopback,
with no login at all). :class:`SameOrigin` refuses every state-changing request (POST, PUT,
PATCH, DELETE: the REST API's, Gradio's event submission and uploads, which also make zip
tokens) whose ``Origin``, else ``Referer``, names another host than the one it was sent to,
with 403 and the REST API's JSON error, as Django and starlette-csrf do. A request with
neither header (curl, gradio_client, scripts) passes: browsers always send ``Origin`` with a
cross-site POST. Both are pure ASGI: uploads stream through them untouched.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from urllib.parse import urlsplit

import gradio as gr
import uvicorn
from fastapi import FastAPI

log = logging.getLogger("heygem")


def basic_header(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


class BasicAuth:
    """ASGI middleware: every HTTP and websocket request must carry the configured login."""

    def __init__(self, app, user: str, password: str):
        self.app = app
        self.expected = basic_header(user, password).split()[1].encode()  # the base64 credentials

    def allowed(self, header: bytes) -> bool:
        """An Authorization header with the Basic scheme (any case, RFC 7235) and the login."""
        scheme, _, credentials = header.strip().partition(b" ")
        return scheme.lower() == b"basic" and hmac.compare_digest(credentials.strip(), self.expected)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if self.allowed(dict(scope.get("headers") or []).get(b"authorization", b"")):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        content_type, body = refusal(scope.get("path", ""))
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"www-authenticate", b'Basic realm="HeyGem", charset="UTF-8"'),
                    (b"content-type", content_type),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_port(netloc: str) -> tuple[str, int | None]:
    """("host", port or None) of a URL's netloc or a Host header, the host in lower case."""
    try:
        parts = urlsplit(f"//{netloc.strip()}")
        return parts.hostname or "", parts.port
    except ValueError:  # a malformed port
        return "", None


def foreign_origin(scope) -> str | None:
    """The site (scheme://host:port) a request's Origin, else Referer, names when that is not
    the site the request was sent to; None when it is, or when it carries neither header.

    The site sent to is the Host header, or a proxy's X-Forwarded-Host (a page on another site
    cannot set that: a custom header needs a CORS preflight, which this app never grants). A
    Host without a port (a proxy on 80 or 443, whose scheme this process may not know) is
    matched by its name."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
    claimed = headers.get("origin") or headers.get("referer")
    if not claimed:
        return None
    origin = urlsplit(claimed) if claimed != "null" else None  # "null": a sandboxed or file: page
    if origin is None or not origin.scheme or not origin.netloc:
        return claimed
    host, port = _host_port(origin.netloc)
    port = port or DEFAULT_PORTS.get(origin.scheme)
    for sent_to in (headers.get("host"), headers.get("x-forwarded-host", "").split(",")[0]):
        ours, our_port = _host_port(sent_to or "")
        if ours and ours == host and our_port in (None, port):
            return None
    return f"{origin.scheme}://{origin.netloc}"


class SameOrigin:
    """ASGI middleware: a state-changing request from another site gets 403 (see the module
    docstring); a websocket opened from another site is closed."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        changing = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope.get("method", "GET") in STATE_CHANGING
        )
        foreign = foreign_origin(scope) if changing else None
        if foreign is None:
            return await self.app(scope, receive, send)
        log.warning(
            "refused %s %s from another site (%s)", scope.get("method", "WS"), scope.get("path"), foreign
        )
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        message = f"refused: a request from {foreign}, another site than this app's"
        body = json.dumps({"error": {"code": "forbidden", "message": message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def refusal(path: str) -> tuple[bytes, bytes]:
    """The 401's content type and body: the REST API's JSON error under /api/, else text."""
    if path.startswith("/api/"):
        error = {"error": {"code": "unauthorized", "message": "login required (HTTP Basic)"}}
        return b"application/json", json.dumps(error).encode()
    return b"text/plain; charset=utf-8", "401 login required / 需要登录\n".encode()


def build_app(
    demo: gr.Blocks,
    *,
    auth: tuple[str, str] | None,
    allowed: list[str],
    blocked: list[str],
    max_file_size: int,
    i18n,
    css: str,
    mounts: dict | None = None,
    routes=(),
) -> FastAPI:
    """The ASGI app to serve: ``routes`` (APIRouters), ``mounts`` ({path prefix: ASGI app}, the
    REST API) and Gradio mounted at /, behind :class:`SameOrigin` and, when ``auth`` is set,
    :class:`BasicAuth`. Routes and mounts come first: Gradio's mount takes every path."""
    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for router in routes:
        root.include_router(router)
    for prefix, mounted in (mounts or {}).items():
        root.mount(prefix, mounted)
    app = gr.mount_gradio_app(
        root,
        demo,
        path="",
        allowed_paths=allowed,
        blocked_paths=blocked,
        max_file_size=max_file_size,
        i18n=i18n,
        css=css,
        show_error=True,
        ssr_mode=False,
    )
    app.add_middleware(SameOrigin)
    if auth:
        app.add_middleware(BasicAuth, user=auth[0], password=auth[1])  # the outermost: asked first
    return app


def serve(app: FastAPI, host: str, port: int) -> None:
    log.info("serving on http://%s:%d", host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
