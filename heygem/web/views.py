"""HTML and Markdown the web UI shows: the live batch panel, the engine line, the system panel.

Pure functions of plain data (the service's status dict, the worker's EngineStatus), so
they are cheap to call every second and easy to test. Every name from a user is escaped.
"""

from __future__ import annotations

import html
import time

from heygem.media import human_size
from heygem.web.htmlparts import STATE_COLOURS, bar, fmt_duration
from heygem.web.i18n import tr
from heygem.web.itemsview import counts_text, items_table


def status_html(status: dict | None, engine_state: str, lang: str, archive: str | None = None) -> str:
    """The live panel of one batch: current video, i/N, overall bar, stage, ETA, counts, its
    videos (:func:`heygem.web.itemsview.items_table`); ``archive``: where its finished
    outputs are fetched as one zip (a "Download all" link)."""
    if not status or status.get("state") == "unknown":
        return f'<div class="hg-empty">{html.escape(tr("no_batch", lang))}</div>'
    state = status["state"]
    parts = [f'<div class="hg-batch" data-state="{state}" data-batch="{html.escape(status["batch_id"])}">']
    head = f"<b>{html.escape(status['batch_id'])}</b> · {html.escape(tr('state_' + state, lang))}"
    several = len(status.get("audios") or []) > 1
    if status.get("current"):
        where = {"name": status["current"], "i": status["current_index"], "n": status["total"]}
        if several:
            now = tr("now_pair", lang, audio=status.get("current_audio"), **where)
        else:
            now = tr("now", lang, **where)
        head += f" · {html.escape(now)}"
    if state == "queued":
        head += f" · {html.escape(waiting_text(status, engine_state, lang))}"
    if status.get("eta_seconds"):
        head += f" · {html.escape(tr('eta', lang, time=fmt_duration(status['eta_seconds'])))}"
    parts.append(f'<div class="hg-head">{head}</div>')
    parts.append(bar(status["progress"], STATE_COLOURS.get(state, "#2563eb")))
    pct = f"{status['progress'] * 100:.0f}%"
    if status.get("counts") and len(status["items"]) > 1:
        pct += f" · {counts_text(status['counts'], lang)}"
    parts.append(f'<div class="hg-pct">{html.escape(pct)}</div>')
    if archive:
        done = (status.get("counts") or {}).get("done", 0)
        text = html.escape(tr("download_all", lang, n=done))
        parts.append(f'<a class="hg-download-all" href="{html.escape(archive)}" download>⬇ {text}</a>')
    parts.append(items_table(status["items"], lang, several))
    if status.get("unmatched"):
        left_out = tr("unmatched", lang, names=", ".join(status["unmatched"]))
        parts.append(f'<div class="hg-unmatched">{html.escape(left_out)}</div>')
    parts.append("</div>")
    return "\n".join(parts)


def waiting_text(status: dict, engine_state: str, lang: str) -> str:
    """What a queued batch waits for: the model (loading, or failed with its reason), or the
    batches ahead of it."""
    ahead = status.get("queue_position", 0)
    if engine_state == "error":
        return tr("waiting_model_error", lang, error=status.get("models_error") or "?")
    if engine_state == "loading":
        return tr("waiting_model", lang, pos=ahead + 1)
    return tr("queue_pos", lang, pos=ahead) if ahead else tr("queue_next", lang)


def engine_line(engine_status, lang: str, health=None) -> str:
    """The header: the models' state, or why the queue is not moving (``health``, the loop's)."""
    if health is not None and health.state != "ok":
        text = tr(f"worker_{health.state}", lang, error=health.error)
        return (
            f'<span class="hg-engine" data-state="{health.state}" style="color:#dc2626">'
            f"✕ {html.escape(text)}</span>"
        )
    if engine_status.state == "loading":
        secs = int(time.time() - engine_status.since)
        return f'<span class="hg-engine" data-state="loading">◌ {html.escape(tr("model_loading", lang, secs=secs))}</span>'
    if engine_status.state == "error":
        text = tr("model_error", lang, error=engine_status.error)
        return (
            f'<span class="hg-engine" data-state="error" style="color:#dc2626">✕ {html.escape(text)}</span>'
        )
    if engine_status.engine == "loudness":  # works, but must never look like the real thing
        text = tr("model_loudness", lang, device=engine_status.device)
        return (
            f'<span class="hg-engine" data-state="ready" data-engine="loudness" style="color:#b45309">'
            f"⚠ {html.escape(text)}</span>"
        )
    text = tr(
        "model_ready",
        lang,
        engine=engine_status.engine,
        device=engine_status.device,
        secs=f"{engine_status.load_seconds:.1f}",
    )
    return (
        f'<span class="hg-engine" data-state="ready" data-engine="{html.escape(engine_status.engine)}" '
        f'style="color:#16a34a">● {html.escape(text)}</span>'
    )


def system_markdown(
    engine_status, disk: dict, gpu: str | None, checkpoint_dir: str, retention_days: float | None, lang: str
) -> str:
    rows = [
        ("device", engine_status.device or "…"),
        ("engine", engine_status.engine or engine_status.state),
        ("runtime", engine_status.runtime or "—"),
        ("int8 gate", gate_text(engine_status.int8_gate)),
        ("detector", engine_status.detector or "…"),
        (
            "model load",
            f"{engine_status.load_seconds:.1f} s" if engine_status.load_seconds else "…",
        ),
        ("GPU memory", gpu or "no GPU"),
        ("free disk", human_size(disk["free_bytes"])),
        ("outputs + uploads", human_size(disk["used_bytes"])),
    ]
    lines = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]
    if engine_status.engine == "loudness":
        lines.append(f"\n> **{tr('loudness_warning', lang, folder=checkpoint_dir)}**")
    if engine_status.state == "error":
        lines.append(f"\n> **{tr('model_error', lang, error=engine_status.error)}**")
    if disk["free_bytes"] < 10 * 1024**3:
        lines.append(f"\n> **{tr('disk_low', lang)}**")
    lines.append(
        "\n" + tr("disk", lang, used=human_size(disk["used_bytes"]), free=human_size(disk["free_bytes"]))
    )
    if retention_days:
        lines.append(tr("retention", lang, days=retention_days))
    return "\n".join(lines)


def gate_text(gate: dict | None) -> str:
    """The int8 gate's verdict in one table cell (``—`` when no gate ran: an explicit
    runtime, a GPU, the loudness engine)."""
    if not gate:
        return "—"
    outcome = "passed" if gate["passed"] else "failed"
    return (
        f"{outcome}: mean {gate['mean']:.3f} (≤ {gate['mean_max']:g}), p99.9 {gate['p99_9']:.1f} "
        f"(≤ {gate['p99_9_max']:g}) levels on {gate['frames']} held-out frames → {gate['runtime']}; "
        f"weights {gate['checkpoint_sha256'][:12]}…, measured {gate['measured']} ({gate['isa']})"
    )


def history_html(batches, disk: dict, retention_days: float | None, lang: str) -> str:
    """Every batch, newest first, with its counts; then the disk line."""
    head = "".join(
        f"<th>{html.escape(h)}</th>" for h in ("ID", tr("col_status", lang), "audio", tr("col_video", lang))
    )
    rows = []
    for b in batches:
        c = b.counts
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.created))
        colour = STATE_COLOURS.get(b.state, "#6b7280")
        rows.append(
            f'<tr class="hg-batch-row" data-state="{b.state}"><td>{html.escape(b.id)}<br>'
            f'<small>{when}</small></td><td style="color:{colour};font-weight:600">'
            f"{html.escape(tr('state_' + b.state, lang))}</td><td>{html.escape(narrations_text(b))}</td>"
            f"<td>{c['done']}/{len(b.items)} ✓ · {c['failed']} ✕ · {c['cancelled']} –</td></tr>"
        )
    text = tr("disk", lang, used=human_size(disk["used_bytes"]), free=human_size(disk["free_bytes"]))
    if retention_days:
        text += " " + tr("retention", lang, days=retention_days)
    if disk["free_bytes"] < 10 * 1024**3:
        text += f' <b style="color:#dc2626">{html.escape(tr("disk_low", lang))}</b>'
    table = f'<table class="hg-items"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return f"<div>{text}</div>{table if rows else ''}"


def narrations_text(batch) -> str:
    """A batch's narration, or the first of several and how many more."""
    names = batch.narrations
    return names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"


MAX_PAIR_ROWS = 200  # pairs listed in the Batch tab's table; the count covers them all


def pairs_html(plan: dict | None, lang: str) -> str:
    """The Batch tab's table of the pairs Start would record (:meth:`Service.pair_plan`)."""
    if not plan:
        return ""
    if plan.get("error"):
        return f'<div class="hg-pairs-error" style="color:#dc2626">{html.escape(plan["error"])}</div>'
    counts = tr("pair_count", lang, pairs=plan["pairs"], audios=plan["narrations"], videos=plan["videos"])
    parts = [f'<div class="hg-pairs" data-pairs="{plan["pairs"]}"><b>{html.escape(counts)}</b>']
    if plan["unmatched"]:
        left_out = tr("unmatched", lang, names=", ".join(plan["unmatched"]))
        parts.append(f'<div class="hg-unmatched" style="color:#d97706">{html.escape(left_out)}</div>')
    head = "".join(f"<th>{html.escape(tr(k, lang))}</th>" for k in ("col_audio", "col_video", "col_output"))
    rows = []
    for i, row in enumerate(plan["rows"][:MAX_PAIR_ROWS], 1):
        note = f' style="color:#dc2626" title="{html.escape(row["error"])}"' if row["error"] else ""
        rows.append(
            f'<tr class="hg-pair"{note}><td>{i}. {html.escape(row["audio"])}</td>'
            f"<td>{html.escape(row['video'])}</td><td>{html.escape(row['output'])}</td></tr>"
        )
    more = len(plan["rows"]) - MAX_PAIR_ROWS
    if more > 0:
        rows.append(f'<tr><td colspan="3">… +{more}</td></tr>')
    parts.append(
        f'<table class="hg-items"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    parts.append("</div>")
    return "\n".join(parts)


def zip_link(href: str, count: int, lang: str, text_key: str = "zip_ready") -> str:
    """The link a zip download is fetched from (streamed by the server as it is made)."""
    text = tr(text_key, lang, n=count)
    return f'<a class="hg-zip" href="{html.escape(href)}" download>⬇ {html.escape(text)}</a>'
