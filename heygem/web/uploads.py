"""A multipart/form-data body streamed to disk: the REST API's uploads, never held in memory.

Starlette's own form parser keeps each file in a SpooledTemporaryFile in the system's temp
folder and has no size limit for files. Here every file part goes straight into a staging
folder inside the workspace as it arrives, each part is cut off at the upload limit (the same
``--max-upload-mb`` Gradio applies to each file), the whole body at the request limit
(``--max-request-mb``), and text fields are small. A body whose Content-Length is over the
request limit, or does not fit on the disk with :data:`DISK_MARGIN` to spare, is refused before
a byte of it is read (413, 507); a body without one is checked as it arrives. The caller hands
the files to :meth:`heygem.web.service.Service.submit` (which moves them into the batch) and
then removes the staging folder, whatever happened.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from heygem.jobs import safe_name
from heygem.web.apierrors import ApiError

MAX_PARTS = 1000  # files and fields in one request
MAX_FIELD_BYTES = 64 * 1024  # a text field (the settings JSON) is small
DEFAULT_FILES_PER_REQUEST = 8  # without --max-request-mb, a body may hold this many files at their limit
DISK_MARGIN = 1024**3  # bytes an upload leaves free on the workspace's disk, for the outputs to come
DISK_CHECK_EVERY = 64 * 1024**2  # bytes received between looks at the free space (no Content-Length)


@dataclass
class FilePart:
    field: str  # the form field it came in (audio, video)
    name: str  # the file name the client gave (may hold a path; reduced at submit)
    content_type: str  # as the client declared it, lower case, without parameters
    path: Path  # where it is on disk now, inside the staging folder
    size: int = 0  # bytes


@dataclass
class Form:
    folder: Path  # the staging folder; remove() deletes it with every file
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Limits:
    file_bytes: int  # one file part at most (--max-upload-mb)
    request_bytes: int  # the whole body at most (--max-request-mb)
    disk_margin: int = DISK_MARGIN  # bytes left free on the staging folder's disk


async def read_form(
    content_type: str,
    chunks: AsyncIterator[bytes],
    staging: Path,
    limits: Limits,
    content_length: int | None = None,
) -> Form:
    """The body as a :class:`Form`; raises :class:`ApiError` (400, 413, 415 or 507) after
    removing whatever it had written. ``staging`` is the folder the per-request folder is made
    in; ``content_length``: the body's declared size, checked before anything is read."""
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        shown = kind.decode("latin-1") or "none"
        raise ApiError(415, "unsupported_media_type", f"send multipart/form-data, not {shown}")
    if not params.get(b"boundary"):
        raise ApiError(400, "bad_request", "the multipart body has no boundary")
    staging.mkdir(parents=True, exist_ok=True)
    if content_length is not None:
        _check_size(content_length, limits)
        _check_disk(staging, content_length, limits)
    form = Form(Path(tempfile.mkdtemp(dir=staging, prefix="upload-")))
    receiver = _Receiver(form, limits.file_bytes)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    received, checked = 0, 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            _check_size(received, limits)  # a body without Content-Length, or longer than it said
            if content_length is None and received - checked >= DISK_CHECK_EVERY:
                _check_disk(staging, DISK_CHECK_EVERY, limits)
                checked = received
            if receiver.refused:
                continue  # read the rest and drop it: clients read the answer after sending
            parser.write(chunk)
            await run_in_threadpool(receiver.flush)
        if receiver.refused:
            raise receiver.refused
        parser.finalize()
        await run_in_threadpool(receiver.flush)
    except BaseException as exc:  # a bad body, a limit, a client gone: nothing stays behind
        receiver.close()
        form.remove()
        if isinstance(exc, FormParserError):
            raise ApiError(400, "bad_request", "the body is not valid multipart/form-data") from None
        raise
    receiver.close()
    return form


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.request_bytes:
        limit = limits.request_bytes / 2**20
        raise ApiError(413, "too_large", f"the request is over the limit of {limit:g} MB (--max-request-mb)")


def _check_disk(folder: Path, coming: int, limits: Limits) -> None:
    """Refuse (507) when ``coming`` more bytes would leave less than the margin free."""
    free = shutil.disk_usage(folder).free
    if free - coming < limits.disk_margin:
        raise ApiError(
            507,
            "insufficient_storage",
            f"not enough free disk space for this upload: {coming / 2**20:.0f} MB coming, "
            f"{free / 2**20:.0f} MB free, {limits.disk_margin / 2**20:.0f} MB kept free",
        )


class _Receiver:
    """The parser's callbacks: they only queue bytes; :meth:`flush` writes them (off the event
    loop). The first limit crossed is kept in ``refused`` and nothing more is written."""

    def __init__(self, form: Form, max_file_bytes: int):
        self.form, self.max_file_bytes = form, max_file_bytes
        self.refused: ApiError | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header = [b"", b""]
        self._part: FilePart | None = None  # the file part being received
        self._text: bytearray | None = None  # or the text field
        self._name = ""
        self._pending: list[tuple[FilePart, bytes | None]] = []  # None: the part ended
        self._open: dict[Path, BinaryIO] = {}  # the files of the parts being received

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._add(0, data[start:end]),
            "on_header_value": lambda data, start, end: self._add(1, data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _refuse(self, status: int, code: str, message: str) -> None:
        self.refused = self.refused or ApiError(status, code, message)

    def _begin(self) -> None:
        self._headers, self._part, self._text = {}, None, None

    def _add(self, which: int, data: bytes) -> None:
        self._header[which] += data

    def _header_end(self) -> None:
        self._headers[self._header[0].lower()] = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition"))
        self._name = _text(options.get(b"name", b""))
        if len(self.form.files) + len(self.form.fields) >= MAX_PARTS:
            self._refuse(413, "too_large", f"more than {MAX_PARTS} parts in one request")
        elif b"filename" not in options:
            self._text = bytearray()
        else:
            name = _text(options[b"filename"])
            kind = parse_options_header(self._headers.get(b"content-type"))[0].decode("latin-1")
            stored = self.form.folder / f"{len(self.form.files):04d}-{safe_name(name, 'file')}"
            self._part = FilePart(self._name, name, kind, stored)
            self.form.files.append(self._part)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.refused:
            return
        if self._text is not None:
            self._text += data[start:end]
            if len(self._text) > MAX_FIELD_BYTES:
                self._refuse(413, "too_large", f"form field {self._name!r} is over {MAX_FIELD_BYTES} bytes")
        elif self._part is not None:
            self._part.size += end - start
            if self._part.size > self.max_file_bytes:
                limit = self.max_file_bytes / 2**20
                self._refuse(413, "too_large", f"{self._part.name}: over the upload limit of {limit:g} MB")
            else:
                self._pending.append((self._part, bytes(data[start:end])))

    def _end(self) -> None:
        if self.refused:
            return
        if self._text is not None:
            self.form.fields.setdefault(self._name, []).append(_text(bytes(self._text)))
        elif self._part is not None:
            self._pending.append((self._part, None))  # complete: close its file

    def flush(self) -> None:
        """Write the queued bytes to their files; a part's file is closed when the part ends
        (an empty part still gets its empty file)."""
        for part, data in self._pending:
            if part.path not in self._open:
                self._open[part.path] = open(part.path, "wb")  # noqa: SIM115 - closed at the part's end
            file = self._open[part.path]
            if data is None:
                file.close()
                del self._open[part.path]
            else:
                file.write(data)
        self._pending.clear()

    def close(self) -> None:
        for file in self._open.values():
            file.close()
        self._open.clear()


def _text(raw: bytes) -> str:
    """A header value or field as text: UTF-8 (what browsers and curl send), else Latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
