"""Parts of the web UI that stand on their own: the History tab and the API endpoints."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from heygem import views
from heygem.errors import HeygemError
from heygem.i18n import lang_of, tr
from heygem.service import Service, Upload


def request_lang(request: gr.Request | None) -> str:
    return lang_of(request.headers.get("accept-language") if request else None)


def uploads(paths) -> list[Upload]:
    """Gradio upload paths -> Uploads; Gradio keeps the uploaded name as the file name."""
    return [Upload(Path(p), Path(p).name) for p in (paths or [])]


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
    zip_file = gr.File(label="zip", interactive=False, elem_id="hg-zip-file")
    player = gr.Video(label=t("preview"), interactive=False)

    def history(selected, request: gr.Request):
        lang = request_lang(request)
        batches = service.batches()
        rows = [(f"{b.id} · {b.audio_name} · {tr('state_' + b.state, lang)} · "
                 f"{b.counts['done']}/{len(b.items)}", b.id) for b in batches]  # fmt: skip
        known = any(b.id == selected for b in batches)
        value = selected if known else (rows[0][1] if rows else None)
        return gr.update(choices=rows, value=value), views.history_html(
            batches, service.disk(), retention_days, lang
        )

    def outputs_of(batch_id):
        status = service.status(batch_id) if batch_id else {"items": []}
        items = [(f"{i['video']} → {Path(i['output']).name}", i["output"])
                 for i in status["items"] if i["output"]]  # fmt: skip
        return gr.update(choices=items, value=[])

    for trigger in (tab.select, refresh.click):
        trigger(history, batch_pick, [batch_pick, page]).then(outputs_of, batch_pick, picked)
    batch_pick.input(outputs_of, batch_pick, picked)
    preview_btn.click(lambda sel: sel[0] if sel else None, picked, player)

    def make_zip(selected, request: gr.Request):
        if not selected:
            raise gr.Error(tr("nothing_selected", request_lang(request)))
        try:
            return str(service.zip_outputs(selected))
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None

    zip_btn.click(make_zip, picked, zip_file)

    def delete_selected(batch_id, selected, request: gr.Request):
        status = service.status(batch_id)
        for idx, item in enumerate(status["items"]):
            if item["output"] in (selected or []):
                service.delete_output(batch_id, idx)
        gr.Info(tr("deleted", request_lang(request)))

    delete_btn.click(delete_selected, [batch_pick, picked], None).then(
        outputs_of, batch_pick, picked
    )

    def delete_whole(batch_id, request: gr.Request):
        try:
            service.delete_batch(batch_id)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        gr.Info(tr("deleted", request_lang(request)))

    delete_batch_btn.click(delete_whole, batch_pick, None).then(
        history, batch_pick, [batch_pick, page]
    ).then(outputs_of, batch_pick, picked)
    retry_btn.click(lambda b: service.retry(b) if b else None, batch_pick, None)


def api_endpoints(service: Service) -> None:
    """/submit_batch(audio, videos, settings={}) -> batch id; /batch_status; /cancel_batch."""
    with gr.Row(visible=False):  # file inputs need components so that uploads work as usual
        api_audio = gr.File(label="audio")
        api_videos = gr.File(label="videos", file_count="multiple")
        api_settings = gr.JSON(value={}, label="settings")
        api_id = gr.Textbox(label="batch_id")
        api_submit = gr.Button("submit")

    def submit_batch(audio_path, video_paths, settings):
        audio = Upload(Path(audio_path), Path(audio_path).name) if audio_path else None
        try:
            return service.submit(audio, uploads(video_paths), settings or {})
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None

    api_submit.click(
        submit_batch, [api_audio, api_videos, api_settings], api_id, api_name="submit_batch"
    )

    def batch_status(batch_id: str) -> dict:
        """State of a batch and of each of its videos."""
        return service.status(batch_id)

    def cancel_batch(batch_id: str) -> dict:
        """Cancel a batch: queued videos at once, the running one after its current chunk."""
        return service.cancel(batch_id)

    gr.api(batch_status, api_name="batch_status", concurrency_limit=None)
    gr.api(cancel_batch, api_name="cancel_batch", concurrency_limit=None)
