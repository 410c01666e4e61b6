"""The queue as the Batch tab's Queue panel shows it: every unfinished batch in run order, its
progress and ETA, and the whole queue's ETA (:func:`queue_status`, and as HTML: :func:`queue_html`).

A running batch's ETA is its own pace so far (:func:`heygem.web.batchstatus.eta_seconds`);
a batch that has not started yet, and a running one without a pace yet, is estimated from the
pace of the videos made lately (the median wall time of the last ones, any batch): each video
left costs that much. Every video weighs the same (a narration's length is not stored), so
the figures are estimates; with no video made yet there is none. Pure: batches in, a dict out.
"""

from __future__ import annotations

import html
import statistics

from heygem.jobs import Batch
from heygem.states import TERMINAL, BatchState
from heygem.web.batchstatus import eta_seconds
from heygem.web.htmlparts import STATE_COLOURS, bar, fmt_duration
from heygem.web.i18n import tr
from heygem.web.itemsview import counts_text


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


def queue_html(queue: dict, watched: str | None, lang: str) -> str:
    """The Queue panel: a line with the whole queue's ETA, then a row per unfinished batch
    (``watched``: the one the tab follows, marked)."""
    rows = queue["batches"]
    if not rows:
        return f'<div class="hg-queue" data-batches="0">{html.escape(tr("queue_empty", lang))}</div>'
    left = queue["eta_seconds"]
    head = tr("queue_head", lang, n=len(rows))
    if left is not None:
        head += " · " + tr("eta", lang, time=fmt_duration(left))
    lines = []
    for row in rows:
        state = "stopping" if row["stopping"] else row["state"]
        colour = STATE_COLOURS.get(row["state"], "#6b7280")
        names = row["audios"][0] + (f" +{len(row['audios']) - 1}" if len(row["audios"]) > 1 else "")
        eta = fmt_duration(row["eta_seconds"]) if row["eta_seconds"] is not None else "–"
        mark = " ◀" if row["batch_id"] == watched else ""
        lines.append(
            f'<tr class="hg-queue-row" data-batch="{html.escape(row["batch_id"])}" data-state="{state}">'
            f"<td>{row['position'] + 1}</td><td><b>{html.escape(row['batch_id'])}</b>{mark}<br>"
            f"<small>{html.escape(names)} · {html.escape(counts_text(row['counts'], lang))}</small></td>"
            f'<td style="color:{colour};font-weight:600">{html.escape(tr("queue_" + state, lang))}</td>'
            f'<td style="min-width:120px">{bar(row["progress"], colour)}</td><td>{html.escape(eta)}</td></tr>'
        )
    cols = "".join(
        f"<th>{html.escape(tr(k, lang))}</th>"
        for k in ("col_order", "col_batch", "col_status", "col_progress", "col_eta")
    )
    table = f'<table class="hg-items"><thead><tr>{cols}</tr></thead><tbody>{"".join(lines)}</tbody></table>'
    return f'<div class="hg-queue" data-batches="{len(rows)}"><b>{html.escape(head)}</b>{table}</div>'
