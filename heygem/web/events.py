"""The REST API's Server-Sent Events: a batch followed as it runs.

The stream polls the job store (the worker writes progress there, from this process or from
Celery workers) and sends the batch's status whenever it changes, then ``end``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool

from heygem.states import FINISHED_STATES

EVENT_POLL = 0.25  # seconds between looks at the store
KEEPALIVE = 15.0  # seconds without a change before a comment line keeps proxies from closing
FINISHED = (*FINISHED_STATES, "unknown")  # unknown: deleted meanwhile
VOLATILE = ("eta_seconds",)  # fields that change with the clock alone: no event of their own


def sse(event: str, data: dict, event_id: int) -> bytes:
    """One Server-Sent Event: the JSON on a single data line."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\nevent: {event}\ndata: {text}\n\n".encode()


async def status_events(status: Callable[[], dict]) -> AsyncIterator[bytes]:
    """``status`` events each time the batch's status (from ``status()``, read off the event
    loop) changes, the first at once (a batch already finished too); an ``end`` event with the
    final status when it ends."""
    yield b"retry: 2000\n\n"
    last_key, last_sent, event_id = None, time.monotonic(), 0
    while True:
        current = await run_in_threadpool(status)
        key = json.dumps({k: v for k, v in current.items() if k not in VOLATILE}, sort_keys=True)
        if current["state"] in FINISHED:
            if event_id == 0:  # a client always gets one status event first
                event_id += 1
                yield sse("status", current, event_id)
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
