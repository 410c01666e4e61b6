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
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"www-authenticate", b'Basic realm="HeyGem", charset="UTF-8"'),
                    (b"content-type", b"text/plain; charset=utf-8"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": "401 login required / 需要登录\n".encode()})


def build_app(
    demo: gr.Blocks,
    *,
    auth: tuple[str, str] | None,
    allowed: list[str],
    blocked: list[str],
    max_file_size: str,
    i18n,
    css: str,
    routes=(),
) -> FastAPI:
    """The ASGI app to serve: ``routes`` (APIRouters) and Gradio mounted at /, wrapped in
    BasicAuth when ``auth`` is set. The routes come first: Gradio's mount takes every path."""
    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for router in routes:
        api.include_router(router)
    app = gr.mount_gradio_app(
        api,
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
