"""The REST API's presenter library: ``/api/v1/presenters``.

POST a presenter once (multipart: one ``file``, optional ``name``, ``settings`` as a JSON
object of its own settings, ``face_point`` as ``"x y"``), then name it in any number of
batches (``POST /batches`` with ``presenter=<id or name>`` fields). GET lists and shows them,
PATCH renames one or changes its settings, DELETE removes one (409 while a queued or running
batch uses it). Thin adapters on :class:`~heygem.web.presenters.PresenterLibrary`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from heygem.jobs import Presenter
from heygem.settings import from_text
from heygem.web import apischema as doc
from heygem.web.apierrors import ApiError
from heygem.web.presenters import presenter_settings
from heygem.web.restforms import check_file, multipart_body, settings_field
from heygem.web.restparts import ServiceDep, api_base
from heygem.web.service import Service, Upload
from heygem.web.uploads import Form, read_form

router = APIRouter()
FIELDS = ("file", "name", "settings", "face_point")

ADD_BODY = multipart_body(
    ["file"],
    {
        "file": {"type": "string", "format": "binary", "description": "a video or still image"},
        "name": {"type": "string", "description": "default: the file's name without its type"},
        "settings": {
            "type": "string",
            "description": "a JSON object of its own settings: face_point, pads, mask, mask_size, "
            'mask_feather, e.g. {"mask": "mouth", "pads": [0, 20, 0, 0]}',
        },
        "face_point": {"type": "string", "description": 'the face to follow: "x y" in source pixels'},
    },
)


PresenterRef = Annotated[str, PathParam(description="a presenter's id (or its name)")]


def presenter_document(service: Service, base: str, presenter: Presenter) -> dict:
    """:meth:`~heygem.web.presenters.PresenterLibrary.document` with its URLs."""
    url = f"{base}/presenters/{presenter.id}"
    return service.presenters.document(presenter) | {
        "url": url,
        "thumbnail_url": f"{url}/thumbnail.jpg" if presenter.thumbnail else None,
    }


def _added(form: Form) -> tuple[Upload, str | None, dict]:
    """The upload, name and settings of a POST /presenters form; raises ApiError."""
    for name in [*form.fields, *(p.field for p in form.files)]:
        if name not in FIELDS:
            raise ApiError(400, "bad_request", f"unknown form field {name!r} (use {', '.join(FIELDS)})")
    files = [p for p in form.files if p.field == "file"]
    if len(files) != 1 or any(p.field != "file" for p in form.files):
        raise ApiError(422, "invalid_input", "send exactly one 'file' (a video or still image)")
    check_file(files[0])
    settings = settings_field(form.fields.get("settings", []), presenter_settings)
    if form.fields.get("face_point"):
        settings["face_point"] = from_text("face_point", form.fields["face_point"][0])
        presenter_settings(settings)  # a bad point: 422 naming it
    name = (form.fields.get("name") or [None])[0]
    return Upload(files[0].path, files[0].name, movable=True), name, settings


@router.post(
    "/presenters",
    status_code=201,
    summary="Add a presenter to the library",
    openapi_extra=ADD_BODY,
    responses={201: {"model": doc.PresenterCreated}, 200: {"model": doc.PresenterCreated}}
    | doc.errors(400, 401, 403, 409, 413, 415, 422, 507),
)
async def add_presenter(request: Request, service: ServiceDep) -> JSONResponse:
    """Stored once by its content: 201 with the new presenter, or 200 with the one that already
    holds the same file (`existing`: true). Its face track is made in the background."""
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length", "")
    declared = int(length) if length.isdigit() else None
    staging = service.workspace.cache / "api-uploads"
    form = await read_form(content_type, request.stream(), staging, request.app.state.limits, declared)
    try:
        upload, name, settings = _added(form)
        presenter, new = await run_in_threadpool(service.presenters.add, upload, name, settings)
    finally:
        await run_in_threadpool(form.remove)
    body = presenter_document(service, api_base(request), presenter) | {"existing": not new}
    return JSONResponse(body, status_code=201 if new else 200, headers={"Location": body["url"]})


@router.get(
    "/presenters", summary="List the presenter library", responses={200: {"model": doc.PresenterList}}
)
def list_presenters(request: Request, service: ServiceDep) -> JSONResponse:
    base = api_base(request)
    return JSONResponse(
        {"presenters": [presenter_document(service, base, p) for p in service.presenters.all()]}
    )


@router.get(
    "/presenters/{ref}",
    summary="A presenter",
    responses={200: {"model": doc.PresenterDoc}, **doc.errors(404)},
)
def get_presenter(request: Request, service: ServiceDep, ref: PresenterRef) -> JSONResponse:
    return JSONResponse(presenter_document(service, api_base(request), service.presenters.get(ref)))


@router.patch(
    "/presenters/{ref}",
    summary="Rename a presenter or change its settings",
    responses={200: {"model": doc.PresenterDoc}, **doc.errors(404, 409, 422)},
)
def change_presenter(
    request: Request, service: ServiceDep, ref: PresenterRef, change: doc.PresenterChange
) -> JSONResponse:
    """A new `face_point` makes its face track again; batches submitted before keep theirs."""
    presenter = service.presenters.update(ref, change.name, change.settings)
    return JSONResponse(presenter_document(service, api_base(request), presenter))


@router.delete(
    "/presenters/{ref}",
    status_code=204,
    summary="Delete a presenter and its file",
    responses=doc.errors(404, 409),
)
def delete_presenter(service: ServiceDep, ref: PresenterRef) -> Response:
    """Refused (409) while a queued or running batch uses it; finished batches keep their copy."""
    service.presenters.delete(ref)
    return Response(status_code=204)


@router.get(
    "/presenters/{ref}/thumbnail.jpg",
    summary="A presenter's thumbnail",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, **doc.errors(404)},
)
def get_thumbnail(service: ServiceDep, ref: PresenterRef) -> FileResponse:
    presenter = service.presenters.get(ref)
    if not presenter.thumbnail:
        raise ApiError(404, "not_found", f"presenter {presenter.name!r} has no thumbnail")
    return FileResponse(presenter.thumbnail, media_type="image/jpeg")
