"""Responses streamed to the client: a zip written as it is sent (the REST API's archives and the
History tab's downloads), and the REST API's Server-Sent Events.

The zip is made as it is sent (stored, not compressed: MP4 is compressed already), so it
needs no temp file and no memory beyond one read block; ``zipfile`` writes to an unseekable
stream with data descriptors, and ZIP64 is used for a member over 4 GB.

The event stream polls the job store (the worker writes progress there, from this process or
from Celery workers) and sends the batch's status whenever it changes, then ``end``.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from starlette.concurrency import run_in_threadpool

ZIP_BLOCK = 1024 * 1024  # bytes read from a member per write
EVENT_POLL = 0.25  # seconds between looks at the store
KEEPALIVE = 15.0  # seconds without a change before a comment line keeps proxies from closing
FINISHED = ("done", "partial", "failed", "cancelled", "unknown")  # unknown: deleted meanwhile
VOLATILE = ("eta_seconds",)  # fields that change with the clock alone: no event of their own


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


def sse(event: str, data: dict, event_id: int) -> bytes:
    """One Server-Sent Event: the JSON on a single data line."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event}\ndata: {text}\n\n".encode()


async def status_events(status: Callable[[], dict]) -> AsyncIterator[bytes]:
    """``status`` events each time the batch's status (from ``status()``, read off the event
    loop) changes, the first at once; an ``end`` event with the final status when it ends."""
    yield b"retry: 2000\n\n"
    last_key, last_sent, event_id = None, time.monotonic(), 0
    while True:
        current = await run_in_threadpool(status)
        key = json.dumps({k: v for k, v in current.items() if k not in VOLATILE}, sort_keys=True)
        if current["state"] in FINISHED:
            yield sse("end", current, event_id + 1)
            return
        if key != last_key:
            event_id += 1
            last_key, last_sent = key, time.monotonic()
            yield sse("status", current, event_id)
        elif time.monotonic() - last_sent > KEEPALIVE:
            last_sent = time.monotonic()
            yield b": keep-alive\n\n"
        await asyncio.sleep(EVENT_POLL)
