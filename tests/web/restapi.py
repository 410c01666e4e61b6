"""Helpers of the REST API tests: the error document check, and every route an app serves."""

from __future__ import annotations

import httpx
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

from heygem.web import apischema

UNKNOWN = "20260101-000000-0badc0de"  # a well-formed batch id that is never made


def error(response: httpx.Response, status: int, code: str, says: str) -> dict:
    """The response is the API's error document with this status, code and message part."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = apischema.ErrorBody.model_validate(response.json()).error
    assert body.code == code and says in body.message, body
    assert "Traceback" not in response.text
    return response.json()["error"]


def routes_of(app, prefix: str = "") -> set[tuple[str, str]]:
    """{(method, path)}: path with its {parameters} as declared; method WEBSOCKET for a
    websocket route, ANY for a mount that is not a router (static files)."""
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            if hasattr(route.app, "routes"):
                found |= routes_of(route.app, prefix + route.path)
            else:
                found.add(("ANY", prefix + route.path))
        elif isinstance(route, WebSocketRoute):
            found.add(("WEBSOCKET", prefix + context.path))
        else:
            assert context.methods, f"a route without methods: {route!r}"
            found |= {(method, prefix + context.path) for method in context.methods}
    return found
