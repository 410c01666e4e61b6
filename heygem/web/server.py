"""Serving the Gradio app: one FastAPI app, HTTP Basic login in front of every route.

Gradio's own login leaves the page, its API description and some routes open; a studio on a
shared network wants nothing answered without a password. So, when a login is configured,
an ASGI middleware answers 401 (with a Basic challenge the browser turns into its login
prompt) to any request without the right credentials, API and file routes included.
gradio_client passes them with ``headers={"Authorization": basic_header(user, password)}``.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging

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
    REST API) and Gradio mounted at /, wrapped in BasicAuth when ``auth`` is set. Routes and
    mounts come first: Gradio's mount takes every path."""
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
    if auth:
        app.add_middleware(BasicAuth, user=auth[0], password=auth[1])
    return app


def serve(app: FastAPI, host: str, port: int) -> None:
    log.info("serving on http://%s:%d", host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
