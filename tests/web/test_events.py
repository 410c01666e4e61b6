"""The REST API's event stream in-process: what a client reads, event by event."""

from __future__ import annotations

import asyncio
import json

from heygem.web import events


def read(stream) -> list[tuple[str, int, dict]]:
    """(event, id, data) of every event of an event stream."""

    async def collect():
        return [chunk async for chunk in stream]

    found = []
    for block in b"".join(asyncio.run(collect())).decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], int(fields["id"]), json.loads(fields["data"])))
    return found


def test_a_finished_batch_gets_its_status_then_end():
    """README and the route say: a status event at once, then end; a batch already finished
    when the client asks got only end."""
    done = {"batch_id": "b1", "state": "done", "progress": 1.0}
    assert read(events.status_events(lambda: dict(done))) == [("status", 1, done), ("end", 2, done)]


def test_a_running_batch_gets_each_change_then_end(monkeypatch):
    monkeypatch.setattr(events, "EVENT_POLL", 0.0)
    states = iter(
        [{"state": "running", "progress": 0.2}] * 2
        + [{"state": "running", "progress": 0.6}]
        + [{"state": "done"}]
    )
    got = read(events.status_events(lambda: next(states)))
    assert [(name, i, data.get("progress")) for name, i, data in got] == [
        ("status", 1, 0.2),
        ("status", 2, 0.6),
        ("end", 3, None),
    ]
