"""The REST API: plain HTTP and JSON under /api/v1, beside the Gradio UI on the same port.

For shell scripts, other languages and dashboards (gradio_client stays for Python). One
FastAPI app of its own, mounted by :func:`heygem.web.server.build_app` before Gradio and
behind the same login; its OpenAPI document is at /api/v1/openapi.json, its docs at
/api/v1/docs. Reads answer from the job store in a thread of their own, never through
Gradio's queue. Every route is a thin adapter on :class:`~heygem.web.service.Service`, whose
state rules (409) are the page's too.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import PurePath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from heygem import __version__
from heygem.states import BatchState
from heygem.web import apischema as doc
from heygem.web.apierrors import ApiError, install_error_handlers
from heygem.web.events import status_events
from heygem.web.restforms import SUBMIT_BODY, submission
from heygem.web.restparts import ServiceDep, api_base, batch_url
from heygem.web.restpresenters import router as presenters_router
from heygem.web.service import Service
from heygem.web.uploads import DEFAULT_FILES_PER_REQUEST, Limits, read_form
from heygem.web.zipstream import zip_stream

API_PREFIX = "/api/v1"
DOCS_ASSETS = "/docs-assets"  # Swagger UI's script, styles and icon, served by the API itself
BATCH_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,79}")  # what Workspace.new_batch makes, and no more
DESCRIPTION = """Submit a batch (narrations onto presenter videos, uploaded or from the presenter library),
follow it, download the results.
With `HEYGEM_AUTH` set, every route needs HTTP Basic credentials. Errors are
`{"error": {"code", "message"}}`."""

router = APIRouter()


def build_api(service: Service, max_upload_bytes: int, max_request_bytes: int | None = None) -> FastAPI:
    """The API as an ASGI app, to be mounted at :data:`API_PREFIX`: an upload's files at most
    ``max_upload_bytes`` each, its whole body ``max_request_bytes`` (default: one file's limit
    times :data:`~heygem.web.uploads.DEFAULT_FILES_PER_REQUEST`)."""
    # FastAPI's own docs page loads Swagger UI from a CDN: a site with no way out would get a
    # blank page. fastapi-offline (pinned) ships the same assets and serves them from here.
    api = FastAPIOffline(
        title="HeyGem",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        static_url=DOCS_ASSETS,
    )
    api.state.service = service
    api.state.limits = Limits(
        max_upload_bytes, max_request_bytes or max_upload_bytes * DEFAULT_FILES_PER_REQUEST
    )
    install_error_handlers(api)
    api.include_router(router)
    api.include_router(presenters_router)
    return api


# The dependencies are async on purpose (heygem.web.restparts says why).
def _checked_id(batch_id: str) -> str:
    if not BATCH_ID.fullmatch(batch_id):
        raise ApiError(400, "malformed_id", f"{batch_id[:100]!r} is not a batch id")
    return batch_id


async def _path_id(
    batch_id: Annotated[str, PathParam(description="a batch id, as POST /batches gave")],
) -> str:
    return _checked_id(batch_id)


BatchId = Annotated[str, Depends(_path_id)]


def batch_document(service: Service, base: str, batch_id: str) -> dict:
    """/batch_status's fields, plus where to fetch the batch, each output and the zip."""
    status = service.status(batch_id)
    if status["state"] == "unknown":
        return status
    url = f"{base}/batches/{batch_id}"
    for item in status["items"]:
        name = PurePath(item["output"]).name if item["output"] else None
        item["output_url"] = f"{url}/outputs/{quote(name)}" if name else None
    return {**status, "url": url, "archive_url": f"{url}/archive.zip"}


@router.post(
    "/batches",
    status_code=201,
    summary="Submit a batch",
    openapi_extra=SUBMIT_BODY,
    responses={201: {"model": doc.Created}, **doc.errors(400, 401, 403, 413, 415, 422, 507)},
)
async def create_batch(request: Request, service: ServiceDep) -> JSONResponse:
    """multipart/form-data: `audio` (one or more), `video` files and/or `presenter` fields
    (library presenters by id or name), optional `settings` (a JSON object), `pairing` (cross,
    order or name) or a `manifest` file. Uploads are streamed to disk. The same
    `Idempotency-Key` header twice makes one batch (the second answer names the first's)."""
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length", "")
    declared = int(length) if length.isdigit() else None  # checked before the body is read
    staging = service.workspace.cache / "api-uploads"
    form = await read_form(content_type, request.stream(), staging, request.app.state.limits, declared)
    try:
        given = submission(form)
        batch_id = await run_in_threadpool(
            service.submit,
            given.audios,
            given.videos,
            given.settings,
            given.pairing,
            given.manifest,
            given.presenters,
            request.headers.get("idempotency-key"),
        )
    finally:
        await run_in_threadpool(form.remove)
    url = batch_url(request, batch_id)
    return JSONResponse({"id": batch_id, "url": url}, status_code=201, headers={"Location": url})


@router.get("/batches", summary="List batches", responses={200: {"model": doc.BatchList}, **doc.errors(422)})
def list_batches(
    request: Request,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    state: BatchState | None = None,
) -> JSONResponse:
    """Newest first; `state` keeps only the batches in that state."""
    summaries = [
        {
            "id": b.id,
            "url": batch_url(request, b.id),
            "seq": b.seq,
            "state": b.state,
            "created": b.created,
            "finished": b.finished,
            "audio": b.audio_name,
            "audios": b.narrations,
            "total": len(b.items),
            "counts": b.counts,
            "progress": round(b.fraction, 4),
        }
        for b in service.batches(state, limit)
    ]
    return JSONResponse({"batches": summaries})


@router.get(
    "/batches/{batch_id}",
    summary="A batch's status",
    responses={200: {"model": doc.BatchDoc}, **doc.errors(400, 404)},
)
def get_batch(request: Request, service: ServiceDep, batch_id: BatchId) -> JSONResponse:
    """The same fields as gradio_client's /batch_status, plus download URLs."""
    document = batch_document(service, api_base(request), batch_id)
    if document["state"] == "unknown":
        raise ApiError(404, "not_found", f"no batch {batch_id!r}")
    return JSONResponse(document)


@router.post(
    "/batches/{batch_id}/cancel",
    status_code=202,
    summary="Cancel a batch",
    responses={202: {"model": doc.BatchDoc}, **doc.errors(400, 404, 409)},
)
def cancel_batch(request: Request, service: ServiceDep, batch_id: BatchId) -> JSONResponse:
    """Queued videos are cancelled at once, the running one after its current chunk."""
    service.cancel(batch_id)
    return JSONResponse(batch_document(service, api_base(request), batch_id), status_code=202)


@router.post(
    "/batches/{batch_id}/retry",
    status_code=202,
    summary="Run a finished batch's failed and cancelled videos again",
    responses={202: {"model": doc.BatchDoc}, **doc.errors(400, 404, 409)},
)
def retry_batch(request: Request, service: ServiceDep, batch_id: BatchId) -> JSONResponse:
    service.retry(batch_id)
    return JSONResponse(batch_document(service, api_base(request), batch_id), status_code=202)


@router.delete(
    "/batches/{batch_id}",
    status_code=204,
    summary="Delete a finished batch with its files",
    responses=doc.errors(400, 404, 409),
)
def delete_batch(service: ServiceDep, batch_id: BatchId) -> Response:
    service.delete_batch(batch_id)
    return Response(status_code=204)


@router.get(
    "/batches/{batch_id}/outputs/{name}",
    summary="Download one output",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}, 206: {"description": "a Range"}, **doc.errors(400, 404)},
)
def get_output(service: ServiceDep, batch_id: BatchId, name: str) -> FileResponse:
    """The finished video; `Range` requests are answered (206) so that players can seek."""
    path = service.output_file(batch_id, name)
    return FileResponse(path, media_type="video/mp4", filename=path.name, content_disposition_type="inline")


@router.get(
    "/batches/{batch_id}/archive.zip",
    summary="Download every output as a zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}, **doc.errors(400, 404, 409)},
)
def get_archive(service: ServiceDep, batch_id: BatchId) -> StreamingResponse:
    """The finished outputs and batch.json under a folder named after the batch, made as it
    is sent (no temp file)."""
    members = service.archive_members(batch_id)
    disposition = f'attachment; filename="heygem-{batch_id}.zip"'
    return StreamingResponse(
        zip_stream(members), media_type="application/zip", headers={"Content-Disposition": disposition}
    )


@router.get(
    "/events",
    summary="Follow a batch as Server-Sent Events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **doc.errors(400, 404, 422)},
)
async def events(request: Request, service: ServiceDep, batch: Annotated[str, Query()]) -> StreamingResponse:
    """A `status` event (the batch's document, as GET /batches/{id}) at once and at each
    change, then one `end` event with the final document; the stream then closes."""
    batch_id = _checked_id(batch)
    await run_in_threadpool(service.batch, batch_id)  # 404 before the stream starts
    stream = status_events(partial(batch_document, service, api_base(request), batch_id))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # nginx: do not buffer
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


@router.get(
    "/health",
    summary="Engine, worker, queue and disk",
    responses={200: {"model": doc.Health}, 503: {"model": doc.Health}},
)
def health(service: ServiceDep) -> JSONResponse:
    """200 while the worker runs and the engine has not failed (loading counts as up), else 503."""
    report = service.health()
    return JSONResponse(report, status_code=200 if report["ok"] else 503)
