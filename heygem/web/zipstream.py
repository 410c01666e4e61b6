"""Zip downloads streamed as they are made: no copy of the outputs is ever written to disk.

The History tab asks the service for a selection (:meth:`Service.zip_selection`, which checks
every path lies in outputs/) and gets a short-lived token (:mod:`heygem.web.ziptokens`); the
browser fetches ``heygem/zip/<token>``, served here behind the same login as everything else.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from heygem.errors import HeygemError

ZIP_ROUTE = "heygem/zip"  # relative to the app's root, so a sub-path mount works too
BLOCK = 1 << 20  # bytes read from a file at a time


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that keeps what was written until it is taken."""

    def __init__(self):
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_stream(files: list[tuple[Path, str]]) -> Iterator[bytes]:
    """A zip of ``files`` ((path, name in the archive)), stored (mp4 is compressed already),
    as the bytes to send, made while they are sent (zip64 and data descriptors: any size)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path, name in files:
            with open(path, "rb") as source, archive.open(name, "w", force_zip64=True) as member:
                while block := source.read(BLOCK):
                    member.write(block)
                    yield sink.take()
    yield sink.take()  # the central directory, written on close


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
        return StreamingResponse(zip_stream(files), media_type="application/zip", headers=headers)

    return router
