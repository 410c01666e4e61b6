"""The History tab: every batch; play, zip, delete outputs, cancel, retry, delete a batch.

A batch of several narrations lists its outputs, and zips them, grouped by narration or by
video. Outputs are ticked one by one or all at once, or those of one narration or one
presenter; a batch with finished outputs offers all of them as one zip (the REST API's archive,
streamed). Every action says what it did (or why it could not) in a toast, and the tab shows
the result at once: the batch list, its state and the disk line are read again.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from heygem.errors import HeygemError
from heygem.web import views
from heygem.web.batchtab import cancel_handler
from heygem.web.forms import archive_href
from heygem.web.i18n import refusal_text, request_lang, tr
from heygem.web.live import PRIVATE
from heygem.web.service import Service
from heygem.web.zipstream import ZIP_ROUTE

# (label, value); bilingual, as a Radio's choices cannot be I18n keys. For batches of several
# narrations: the outputs list and the zip's folders go by narration or by video.
GROUP_CHOICES = [("按音频 · by narration", "audio"), ("按视频 · by video", "video")]


def history_tab(service: Service, t, retention_days: float | None, tab: gr.Tab) -> None:
    """Every batch; play, zip, delete outputs, retry, delete a batch; disk use."""
    page = gr.HTML(elem_id="hg-history")
    with gr.Row():
        batch_pick = gr.Dropdown(label=t("history_batches"), choices=[], elem_id="hg-history-pick")
        refresh = gr.Button(t("refresh"), size="sm")
    group = gr.Radio(GROUP_CHOICES, value="audio", label=t("group_by"), elem_id="hg-history-group")
    whole = gr.HTML(elem_id="hg-history-all")
    select_by = gr.Dropdown(label=t("select_by"), choices=[], elem_id="hg-history-select")
    picked = gr.CheckboxGroup(label=t("history_outputs"), choices=[], elem_id="hg-history-outputs")
    with gr.Row():
        play_btn = gr.Button(t("play"), size="sm", elem_id="hg-history-play")
        zip_btn = gr.Button(t("download_zip"), size="sm", elem_id="hg-zip")
        delete_btn = gr.Button(t("delete_selected"), size="sm", variant="stop", elem_id="hg-history-delete")
        retry_btn = gr.Button(t("retry"), size="sm", elem_id="hg-history-retry")
        cancel_btn = gr.Button(t("cancel"), size="sm", variant="stop", elem_id="hg-history-cancel")
        delete_batch_btn = gr.Button(
            t("delete_batch"), size="sm", variant="stop", elem_id="hg-history-delete-batch"
        )
    zip_link = gr.HTML(elem_id="hg-zip-file")
    player = gr.Video(label=t("result"), interactive=False, elem_id="hg-history-player")

    def history(selected, request: gr.Request):
        lang = request_lang(request)
        batches = service.batches()
        rows = [
            (
                f"{b.id} · {views.narrations_text(b)} · {tr('state_' + b.state, lang)} · "
                f"{b.counts['done']}/{len(b.items)}",
                b.id,
            )
            for b in batches
        ]
        known = any(b.id == selected for b in batches)
        value = selected if known else (rows[0][1] if rows else None)
        return gr.update(choices=rows, value=value), views.history_html(
            batches, service.disk(), retention_days, lang
        )

    def outputs_of(batch_id, grouping, request: gr.Request):
        lang = request_lang(request)
        status = service.status(batch_id) if batch_id else {"items": []}
        items = [i for i in status["items"] if i["output"]]
        if len(status.get("audios") or []) < 2:
            choices = [(f"{i['video']} → {Path(i['output']).name}", i["output"]) for i in items]
        else:
            first, second = ("audio", "video") if grouping == "audio" else ("video", "audio")
            items.sort(key=lambda i: (i[first], i[second]))
            choices = [(f"{i[first]} · {i[second]} → {Path(i['output']).name}", i["output"]) for i in items]
        link = views.zip_link(archive_href(batch_id), len(items), lang, "download_all") if items else ""
        return (
            gr.update(choices=choices, value=[]),
            gr.update(choices=selections(items, lang), value=None),
            link,
        )

    def select(chosen, batch_id):
        """Tick the outputs a "select" choice names: all, or one narration's, or one video's;
        the choice is an action, so the menu is emptied again for the next one."""
        if not chosen or not batch_id:
            return gr.skip(), gr.skip()
        key, _, value = chosen.partition(":")
        items = [i for i in service.status(batch_id)["items"] if i["output"]]
        return [i["output"] for i in items if key == "all" or i[key] == value], None

    listed = [picked, select_by, whole]

    def shown_again(event):
        """``event`` then the list, the page and the outputs read again."""
        event.then(history, batch_pick, [batch_pick, page], **PRIVATE).then(
            outputs_of, [batch_pick, group], listed, **PRIVATE
        )

    for trigger in (tab.select, refresh.click):
        trigger(history, batch_pick, [batch_pick, page], **PRIVATE).then(
            outputs_of, [batch_pick, group], listed, **PRIVATE
        )
    batch_pick.input(outputs_of, [batch_pick, group], listed, **PRIVATE)
    group.input(outputs_of, [batch_pick, group], listed, **PRIVATE)
    select_by.input(select, [select_by, batch_pick], [picked, select_by], **PRIVATE)
    shown_again(cancel_btn.click(cancel_handler(service), batch_pick, None, **PRIVATE))
    play_btn.click(lambda sel: sel[0] if sel else None, picked, player, **PRIVATE)

    def make_zip(selected, grouping, request: gr.Request):
        if not selected:
            raise gr.Error(tr("nothing_selected", request_lang(request)))
        try:
            token = service.zip_selection(selected, grouping)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        return views.zip_link(f"{ZIP_ROUTE}/{token}", len(selected), request_lang(request))

    zip_btn.click(make_zip, [picked, group], zip_link, **PRIVATE)

    def delete_selected(batch_id, selected, request: gr.Request):
        lang = request_lang(request)
        if not batch_id or not selected:
            raise gr.Error(tr("nothing_selected", lang))
        status = service.status(batch_id)
        try:
            for idx, item in enumerate(status["items"]):
                if item["output"] in selected:
                    service.delete_output(batch_id, idx)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        gr.Info(tr("deleted_outputs", lang, n=len(selected)))

    shown_again(delete_btn.click(delete_selected, [batch_pick, picked], None, **PRIVATE))

    def delete_whole(batch_id, request: gr.Request):
        if not batch_id:
            raise gr.Error(tr("no_batch_picked", request_lang(request)))
        try:
            service.delete_batch(batch_id)
        except HeygemError as exc:  # the REST API's rules too (404, 409)
            raise gr.Error(refusal_text(exc, request_lang(request), batch_id)) from None
        gr.Info(tr("deleted_batch", request_lang(request), id=batch_id))

    shown_again(delete_batch_btn.click(delete_whole, batch_pick, None, **PRIVATE))

    def retry(batch_id, request: gr.Request):
        lang = request_lang(request)
        if not batch_id:
            raise gr.Error(tr("no_batch_picked", lang))
        try:
            count = service.retry(batch_id)
        except HeygemError as exc:  # the REST API's rules too (404, 409)
            gr.Warning(refusal_text(exc, lang, batch_id))
            return
        gr.Info(tr("retried", lang, n=count, id=batch_id))

    shown_again(retry_btn.click(retry, batch_pick, None, **PRIVATE))


def selections(items: list[dict], lang: str) -> list[tuple[str, str]]:
    """The "select" choices for a batch's finished outputs: all of them, each narration's and
    each video's (a presenter's), as (label, "all:" / "audio:<name>" / "video:<name>")."""
    choices = [(tr("select_all", lang, n=len(items)), "all:")]
    for key in ("audio", "video"):
        names = sorted({i[key] for i in items})
        if len(names) > 1:
            for name in names:
                count = sum(i[key] == name for i in items)
                choices.append((tr(f"select_{key}", lang, name=name, n=count), f"{key}:{name}"))
    return choices
