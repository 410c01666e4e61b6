"""Zips streamed as they are made: the REST API's archives and the History tab's downloads. No
copy of the outputs is ever written to disk.

A zip is made as it is sent (stored, not compressed: MP4 is compressed already), so it needs
no temp file and no memory beyond one read block; ``zipfile`` writes to an unseekable stream
with data descriptors, and ZIP64 is used for a member over 4 GB.

The History tab asks the service for a selection (:meth:`Service.zip_selection`, which checks
every path lies in outputs/) and gets a short-lived token (:mod:`heygem.web.ziptokens`); the
browser fetches ``heygem/zip/<token>``, served here behind the same login as everything else.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from heygem.errors import HeygemError

ZIP_ROUTE = "heygem/zip"  # relative to the app's root, so a sub-path mount works too
ZIP_BLOCK = 1024 * 1024  # bytes read from a member per write


class _Sink(io.RawIOBase):
    """A write-only, unseekable file whose bytes are taken out as they come."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(members: list[tuple[str, Path | bytes]]) -> Iterator[bytes]:
    """The bytes of a zip of ``members`` ((name inside the zip, file or contents)), block by block."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for arcname, member in members:
            if isinstance(member, bytes):
                archive.writestr(zipfile.ZipInfo(arcname, time.localtime()[:6]), member)
            else:
                info = zipfile.ZipInfo.from_file(member, arcname)  # its size decides ZIP64
                with open(member, "rb") as source, archive.open(info, "w") as entry:
                    while block := source.read(ZIP_BLOCK):
                        entry.write(block)
                        yield sink.take()
            yield sink.take()
    yield sink.take()  # the central directory


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
