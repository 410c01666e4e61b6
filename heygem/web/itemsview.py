"""The live panel's table of a batch's videos, cheap for a batch of any size.

A batch of up to :data:`FOLD_AFTER` videos gets a row each. A bigger one (a course: 20
narrations × 10 presenters) gets the videos that need an eye, the running one and every
failure (up to :data:`MAX_FAILED_ROWS`), then one row per narration for the rest with its
counts, so the panel a page polls every second stays a few kB whatever the batch (1,000 pairs
were ~400 kB a tick with a row each). Every text is in the page's language.
"""

from __future__ import annotations

import html
from collections import Counter

from heygem.web.htmlparts import STATE_COLOURS, bar, fmt_duration
from heygem.web.i18n import tr

FOLD_AFTER = 12  # videos a batch may have and still get a row each
MAX_FAILED_ROWS = 50  # failures listed one by one in a folded table; the count covers the rest
STATUS_ORDER = ("done", "running", "queued", "failed", "cancelled")


def stage_text(item: dict, lang: str) -> str:
    stage = item.get("stage") or ""
    if item["status"] != "running" or not stage:
        return ""
    key = f"stage_{stage}"
    return tr(key, lang, chunk=item.get("chunk") or 1, chunks=item.get("chunks") or 1)


def counts_text(counts: dict, lang: str) -> str:
    """ "12 done · 1 running · 30 queued · 2 failed", in the page's language (zero counts left out)."""
    return " · ".join(f"{counts[s]} {tr('state_' + s, lang)}" for s in STATUS_ORDER if counts.get(s))


def items_table(items: list[dict], lang: str, pairs: bool = False) -> str:
    """The videos of a batch (``pairs``: it has several narrations, so each row names its own):
    a row each, or folded (module docstring) past :data:`FOLD_AFTER`."""
    keys = ("col_audio", "col_video") if pairs else ("col_video",)
    cols = "".join(
        f"<th>{html.escape(tr(k, lang))}</th>" for k in (*keys, "col_status", "col_progress", "col_detail")
    )
    numbered = list(enumerate(items, 1))
    if len(items) <= FOLD_AFTER:
        rows = [_row(i, item, lang, pairs) for i, item in numbered]
    else:
        rows = _folded(numbered, lang, pairs, len(keys) + 3)
    return f'<table class="hg-items"><thead><tr>{cols}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _row(i: int, item: dict, lang: str, pairs: bool) -> str:
    status = item["status"]
    detail = item.get("error") if status in ("failed", "cancelled") else stage_text(item, lang)
    if status == "done" and item.get("frames_without_face"):
        detail = tr("frames_without_face", lang, n=item["frames_without_face"], total=item["frames"])
    if status == "done" and item.get("seconds"):
        detail = (detail + " · " if detail else "") + fmt_duration(item["seconds"])
    colour = STATE_COLOURS.get(status, "#6b7280")
    audio = f"<td>{i}. {html.escape(item.get('audio') or '')}</td>" if pairs else ""
    video = html.escape(item["video"]) if pairs else f"{i}. {html.escape(item['video'])}"
    return (
        f'<tr class="hg-item" data-status="{status}">{audio}<td>{video}</td>'
        f'<td style="color:{colour};font-weight:600">{html.escape(tr("state_" + status, lang))}</td>'
        f'<td style="min-width:120px">{bar(item["progress"] if status != "done" else 1.0, colour)}</td>'
        f"<td>{html.escape(detail or '')}</td></tr>"
    )


def _folded(numbered: list[tuple[int, dict]], lang: str, pairs: bool, width: int) -> list[str]:
    """The running videos and the failures a row each, then a row per narration for the rest."""
    running = [(i, item) for i, item in numbered if item["status"] == "running"]
    failed = [(i, item) for i, item in numbered if item["status"] == "failed"]
    rows = [_row(i, item, lang, pairs) for i, item in running + failed[:MAX_FAILED_ROWS]]
    if len(failed) > MAX_FAILED_ROWS:
        more = tr("more_failed", lang, n=len(failed) - MAX_FAILED_ROWS)
        rows.append(f'<tr class="hg-more"><td colspan="{width}">{html.escape(more)}</td></tr>')
    shown = {i for i, _ in running + failed}
    by_narration: dict[str, Counter] = {}
    for i, item in numbered:
        by_narration.setdefault(item.get("audio") or "", Counter())[item["status"]] += 0 if i in shown else 1
    for narration, counts in by_narration.items():
        done = sum(counts.values())
        if not done:
            continue
        name = narration if pairs else tr("other_videos", lang)
        text = tr("folded", lang, name=name, n=done, counts=counts_text(counts, lang))
        rows.append(
            f'<tr class="hg-fold" data-audio="{html.escape(narration)}"><td colspan="{width}">'
            f"{html.escape(text)}</td></tr>"
        )
    return rows
