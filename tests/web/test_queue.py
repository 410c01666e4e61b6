"""The queue as the page shows it: which batch a fresh page watches, and every unfinished batch
in run order with its ETA (real store and workspace, no worker running: the test moves the
items itself)."""

from __future__ import annotations

import pytest

from heygem.web.service import Upload


def submit(service, speech, face_clip, *names: str) -> str:
    return service.submit(Upload(speech, "voice.wav"), [Upload(face_clip, n) for n in names])


def test_a_fresh_page_watches_the_running_batch_then_the_oldest_queued(service, speech, face_clip):
    """Review finding 1: with A running and a newer B queued, a reloaded page watched B, and
    its Cancel stopped B."""
    assert service.latest_batch_id() is None
    first = submit(service, speech, face_clip, "a.mp4")
    second = submit(service, speech, face_clip, "b.mp4")
    assert service.latest_batch_id() == first  # both wait: the one that runs next
    service.store.claim_next()  # A's video runs
    assert service.latest_batch_id() == first
    service.cancel(first)  # stopping: its video ends its chunk
    running = service.store.get(first).items[0]
    service.store.finish_item(running, "cancelled", error="cancelled")
    assert service.latest_batch_id() == second
    service.cancel(second)
    assert service.latest_batch_id() == second  # nothing unfinished: the newest


def test_the_queue_in_run_order_with_each_batchs_eta_and_the_whole_queues(service, speech, face_clip):
    done = submit(service, speech, face_clip, "x.mp4", "y.mp4", "z.mp4")
    for seconds in (10.0, 30.0, 20.0):  # the pace of the videos made lately: median 20 s
        service.store.finish_item(service.store.claim_next(), "done", seconds=seconds)
    assert service.status(done)["state"] == "done"
    empty = service.queue()
    assert empty == {"batches": [], "eta_seconds": None}
    first = submit(service, speech, face_clip, "a.mp4")
    second = submit(service, speech, face_clip, "b.mp4", "c.mp4")
    running = service.store.claim_next()
    service.store.update_progress(running, 0.01, "detecting", 0, 0)  # too early for its own pace
    queue = service.queue()
    rows = [
        (b["batch_id"], b["state"], b["position"], b["total"], b["eta_seconds"]) for b in queue["batches"]
    ]
    assert rows == [(first, "running", 0, 1, 19.8), (second, "queued", 1, 2, 40.0)]
    assert queue["eta_seconds"] == pytest.approx(59.8)
    service.cancel(first)
    stopping = service.queue()
    assert stopping["batches"][0]["stopping"] and stopping["batches"][0]["eta_seconds"] is None
    assert stopping["eta_seconds"] == 40.0  # a stopping batch adds nothing to wait for
