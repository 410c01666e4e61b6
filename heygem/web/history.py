"""The History tab: every batch; preview, zip, delete outputs, retry, delete a batch."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from heygem.errors import HeygemError
from heygem.web import views
from heygem.web.downloads import ZIP_ROUTE
from heygem.web.i18n import request_lang, tr
from heygem.web.service import Service


def history_tab(service: Service, t, retention_days: float | None, tab: gr.Tab) -> None:
    """Every batch; preview, zip, delete outputs, retry, delete a batch; disk use."""
    page = gr.HTML(elem_id="hg-history")
    with gr.Row():
        batch_pick = gr.Dropdown(label=t("history_batches"), choices=[], elem_id="hg-history-pick")
        refresh = gr.Button(t("refresh"), size="sm")
    picked = gr.CheckboxGroup(label=t("history_outputs"), choices=[], elem_id="hg-history-outputs")
    with gr.Row():
        preview_btn = gr.Button(t("preview"), size="sm")
        zip_btn = gr.Button(t("download_zip"), size="sm", elem_id="hg-zip")
        delete_btn = gr.Button(t("delete_selected"), size="sm", variant="stop")
        retry_btn = gr.Button(t("retry"), size="sm")
        delete_batch_btn = gr.Button(t("delete_batch"), size="sm", variant="stop")
    zip_link = gr.HTML(elem_id="hg-zip-file")
    player = gr.Video(label=t("preview"), interactive=False)

    def history(selected, request: gr.Request):
        lang = request_lang(request)
        batches = service.batches()
        rows = [
            (
                f"{b.id} · {b.audio_name} · {tr('state_' + b.state, lang)} · "
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

    def outputs_of(batch_id):
        status = service.status(batch_id) if batch_id else {"items": []}
        items = [
            (f"{i['video']} → {Path(i['output']).name}", i["output"]) for i in status["items"] if i["output"]
        ]
        return gr.update(choices=items, value=[])

    for trigger in (tab.select, refresh.click):
        trigger(history, batch_pick, [batch_pick, page]).then(outputs_of, batch_pick, picked)
    batch_pick.input(outputs_of, batch_pick, picked)
    preview_btn.click(lambda sel: sel[0] if sel else None, picked, player)

    def make_zip(selected, request: gr.Request):
        if not selected:
            raise gr.Error(tr("nothing_selected", request_lang(request)))
        try:
            token = service.zip_selection(selected)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        return views.zip_link(f"{ZIP_ROUTE}/{token}", len(selected), request_lang(request))

    zip_btn.click(make_zip, picked, zip_link)

    def delete_selected(batch_id, selected, request: gr.Request):
        status = service.status(batch_id)
        for idx, item in enumerate(status["items"]):
            if item["output"] in (selected or []):
                service.delete_output(batch_id, idx)
        gr.Info(tr("deleted", request_lang(request)))

    delete_btn.click(delete_selected, [batch_pick, picked], None).then(outputs_of, batch_pick, picked)

    def delete_whole(batch_id, request: gr.Request):
        try:
            service.delete_batch(batch_id)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        gr.Info(tr("deleted", request_lang(request)))

    delete_batch_btn.click(delete_whole, batch_pick, None).then(history, batch_pick, [batch_pick, page]).then(
        outputs_of, batch_pick, picked
    )
    retry_btn.click(lambda b: service.retry(b) if b else None, batch_pick, None)
