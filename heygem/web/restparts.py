"""What the REST API's routers share: the service they act on, and the URLs their documents
link to, as the client reached the API (behind a proxy's root path too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from heygem.web.service import Service


# Async on purpose: FastAPI runs a plain dependency in a worker thread, and each hop costs
# milliseconds while the batch keeps the cores busy (GET /batches/{id} with one client: 8 ms
# with them plain, 2 ms async). The routes that read the store stay plain, so that their
# SQLite reads run in threads, side by side.
async def _service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(_service)]


def api_base(request: Request) -> str:
    """This API's absolute URL as the client reached it."""
    base = request.base_url
    return f"{base.scheme}://{base.netloc}{request.scope.get('root_path', '')}"


def batch_url(request: Request, batch_id: str) -> str:
    return f"{api_base(request)}/batches/{batch_id}"
