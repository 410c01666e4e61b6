"""The queue as the Batch tab's Queue panel shows it: every unfinished batch in run order, its
progress and ETA, and the whole queue's ETA.

A running batch's ETA is its own pace so far (:func:`heygem.web.batchstatus.eta_seconds`);
a batch that has not started yet, and a running one without a pace yet, is estimated from the
pace of the videos made lately (the median wall time of the last ones, any batch): each video
left costs that much. Every video weighs the same (a narration's length is not stored), so
the figures are estimates; with no video made yet there is none. Pure: batches in, a dict out.
"""

from __future__ import annotations

import statistics

from heygem.jobs import Batch
from heygem.states import TERMINAL, BatchState
from heygem.web.batchstatus import eta_seconds


def videos_left(batch: Batch) -> float:
    """Videos of the batch still to make, the running one counted by what is left of it."""
    return sum(0.0 if i.status in TERMINAL else 1.0 - i.progress for i in batch.items)


def queue_status(batches: list[Batch], recent_seconds: list[float]) -> dict:
    """``batches``: the unfinished ones in run order (:meth:`heygem.jobs.JobStore.unfinished`);
    ``recent_seconds``: wall times of the videos made lately. Each row: ``batch_id``,
    ``state`` (running or queued), ``stopping`` (cancel asked, its running video ends its
    chunk), ``position`` (0: runs now or next), ``audios``, ``total``, ``counts``, ``progress``
    (0-1), ``eta_seconds`` (None: no estimate); ``eta_seconds`` of the whole queue (None when
    some batch has no estimate)."""
    pace = statistics.median(recent_seconds) if recent_seconds else None
    rows, total = [], 0.0
    for position, batch in enumerate(batches):
        own = eta_seconds(batch) if batch.state == BatchState.RUNNING else None
        left = videos_left(batch) if not batch.cancel else 0.0
        estimate = own if own is not None else (round(left * pace, 1) if pace is not None else None)
        if batch.cancel and batch.state == BatchState.RUNNING:
            estimate = None  # it stops after its running chunk
        rows.append(
            {
                "batch_id": batch.id,
                "state": batch.state,
                "stopping": batch.cancel,
                "position": position,
                "audios": batch.narrations,
                "total": len(batch.items),
                "counts": batch.counts,
                "progress": round(batch.fraction, 4),
                "eta_seconds": estimate,
            }
        )
        if total is not None and not batch.cancel:
            total = total + estimate if estimate is not None else None
    return {"batches": rows, "eta_seconds": round(total, 1) if total is not None and rows else None}
