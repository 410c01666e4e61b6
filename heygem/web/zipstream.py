"""The History tab's zip downloads, streamed as they are made (:func:`heygem.web.streams.zip_stream`,
as the REST API's archives): no copy of the outputs is ever written to disk.

The History tab asks the service for a selection (:meth:`Service.zip_selection`, which checks
every path lies in outputs/) and gets a short-lived token (:mod:`heygem.web.ziptokens`); the
browser fetches ``heygem/zip/<token>``, served here behind the same login as everything else.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from heygem.errors import HeygemError
from heygem.web.streams import zip_stream

ZIP_ROUTE = "heygem/zip"  # relative to the app's root, so a sub-path mount works too


def zip_routes(service) -> APIRouter:
    """GET ``/heygem/zip/<token>``: the selection behind the token, as one zip."""
    router = APIRouter()

    @router.get(f"/{ZIP_ROUTE}/{{token}}")
    def download_zip(token: str) -> StreamingResponse:
        try:
            name, files = service.zip_files(token)
        except HeygemError as exc:
            raise HTTPException(404, str(exc)) from None
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        members = [(arcname, path) for path, arcname in files]
        return StreamingResponse(zip_stream(members), media_type="application/zip", headers=headers)

    return router
