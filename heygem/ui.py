"""The Gradio web UI, built inside a function: no module state, no torch import.

Handlers only talk to the :class:`~heygem.service.Service`; the work itself happens in the
worker thread, so a closed tab never stops a batch. Live views poll the job store with
``gr.Timer``. The API endpoints /submit_batch, /batch_status and /cancel_batch have stable
names for gradio_client.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from heygem import views
from heygem.applog import tail
from heygem.errors import HeygemError
from heygem.i18n import gradio_i18n, tr
from heygem.service import Service, SubmitError, Upload
from heygem.ui_parts import api_endpoints, history_tab, request_lang, uploads
from heygem.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

AUDIO_TYPES = [".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg"]
# gr.Audio shows an I18n label as "[object Object]" (Gradio 6.31), so this one is bilingual.
AUDIO_LABEL = "音频 · Narration audio (wav, mp3, m4a, flac, ogg)"
VIDEO_TYPES = sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS)
CSS = """
.hg-items {width:100%; border-collapse:collapse; margin-top:8px}
.hg-items td, .hg-items th {padding:4px 8px; border-bottom:1px solid #e5e7eb; text-align:left}
.hg-head {margin-bottom:6px} .hg-pct {font-size:12px; color:#6b7280; margin-top:2px}
"""


def build_ui(
    service: Service, checkpoint_dir: str, retention_days: float | None = None
) -> gr.Blocks:
    t = gradio_i18n()
    worker = service.worker

    def settings_of(engine, detector, quality, height, order, chunk, top, bottom, left, right):
        return {"engine": engine, "detector": detector, "quality": quality, "height": height,
                "frame_order": order, "chunk_seconds": chunk,
                "pads": [int(top or 0), int(bottom or 0), int(left or 0), int(right or 0)]}  # fmt: skip

    def submit(audio, files, settings: dict, request: gr.Request):
        lang = request_lang(request)
        if not audio:
            raise gr.Error(tr("need_audio", lang))
        videos = uploads(files)
        if not videos:
            raise gr.Error(tr("need_videos", lang))
        try:
            batch_id = service.submit(Upload(Path(audio), Path(audio).name), videos, settings)
        except (SubmitError, HeygemError) as exc:
            raise gr.Error(str(exc)) from None
        failed = [i["video"] for i in service.status(batch_id)["items"] if i["status"] == "failed"]
        if failed:
            gr.Warning(tr("bad_uploads", lang, names=", ".join(failed)))
        gr.Info(tr("submitted", lang, id=batch_id, n=len(videos)))
        return batch_id

    def live(batch_id, shown_outputs, request: gr.Request):
        lang = request_lang(request)
        status = service.status(batch_id) if batch_id else None
        outputs = [
            (i["video"], i["output"]) for i in (status or {}).get("items", []) if i["output"]
        ]
        if outputs == shown_outputs:
            choices = gr.skip()
        else:  # offer the finished videos; the first one plays until the user picks another
            choices = gr.update(choices=outputs, value=outputs[0][1] if outputs else None)
        return views.status_html(status, worker.status.state, lang), choices, outputs

    with gr.Blocks(title="HeyGem", delete_cache=(3600, 24 * 3600)) as demo:
        current = gr.State(None)  # the batch this tab watches
        shown = gr.State([])  # outputs offered in the player list
        single_current = gr.State(None)
        single_shown = gr.State([])
        with gr.Row():
            gr.Markdown(t("title"), elem_id="hg-title")
            engine_html = gr.HTML(elem_id="hg-engine")
        with gr.Tabs():
            with gr.Tab(t("tab_batch"), id="batch"):
                with gr.Row():
                    with gr.Column(scale=1):
                        audio = gr.Audio(
                            label=AUDIO_LABEL,
                            type="filepath",
                            sources=["upload"],
                            elem_id="hg-audio",
                        )
                        files = gr.File(
                            label=t("videos"),
                            file_count="multiple",
                            file_types=VIDEO_TYPES,
                            elem_id="hg-videos",
                        )
                        with gr.Accordion(t("settings"), open=False):
                            engine = gr.Dropdown(
                                ["auto", "wav2lip", "preview"], value="auto", label=t("engine")
                            )
                            detector = gr.Dropdown(
                                ["auto", "blazeface", "sfd"], value="auto", label=t("detector")
                            )
                            quality = gr.Radio(
                                ["high", "standard", "small"], value="standard", label=t("quality")
                            )
                            height = gr.Dropdown(
                                ["original", "1080", "720", "480"],
                                value="original",
                                label=t("height"),
                            )
                            order = gr.Radio(
                                ["pingpong", "loop"], value="pingpong", label=t("frame_order")
                            )
                            chunk = gr.Slider(5, 60, value=30, step=5, label=t("chunk_seconds"))
                            with gr.Row():
                                pads = [gr.Number(v, precision=0, minimum=0, maximum=200, label=n, min_width=60)
                                        for n, v in zip("TBLR", (0, 10, 0, 0), strict=True)]  # fmt: skip
                            gr.Markdown(t("pads"))
                        with gr.Row():
                            start = gr.Button(
                                t("start_batch"), variant="primary", elem_id="hg-start"
                            )
                            cancel = gr.Button(t("cancel"), variant="stop", elem_id="hg-cancel")
                    with gr.Column(scale=2):
                        live_html = gr.HTML(elem_id="hg-live")
                        play_pick = gr.Dropdown(
                            label=t("play_output"), choices=[], elem_id="hg-play-pick"
                        )
                        player = gr.Video(label=t("result"), interactive=False, elem_id="hg-player")
            with gr.Tab(t("tab_single"), id="single"):
                with gr.Row():
                    with gr.Column():
                        single_audio = gr.Audio(
                            label=AUDIO_LABEL, type="filepath", sources=["upload"]
                        )
                        single_video = gr.File(label=t("video"), file_types=VIDEO_TYPES)
                        single_start = gr.Button(
                            t("start_single"), variant="primary", elem_id="hg-single-start"
                        )
                    with gr.Column():
                        single_html = gr.HTML(elem_id="hg-single-live")
                        single_player = gr.Video(
                            label=t("result"), interactive=False, elem_id="hg-single-player"
                        )
            with gr.Tab(t("tab_history"), id="history") as history:
                history_tab(service, t, retention_days, history)
            with gr.Tab(t("tab_log"), id="log"):
                log_box = gr.Textbox(
                    label=t("log"), lines=24, max_lines=24, autoscroll=True, elem_id="hg-log"
                )
            with gr.Tab(t("tab_system"), id="system"):
                system_md = gr.Markdown(elem_id="hg-system")

        # -- batch tab -----------------------------------------------------------------
        setting_inputs = [engine, detector, quality, height, order, chunk, *pads]

        # Gradio passes the request only to a named parameter, so the settings are spelled out.
        def start_batch(audio_path, paths, engine, detector, quality, height, order, chunk,
                        top, bottom, left, right, request: gr.Request):  # fmt: skip
            settings = settings_of(
                engine, detector, quality, height, order, chunk, top, bottom, left, right
            )
            return submit(audio_path, paths, settings, request)

        start.click(start_batch, [audio, files, *setting_inputs], current).then(
            live, [current, shown], [live_html, play_pick, shown]
        )

        def cancel_batch_ui(batch_id, request: gr.Request):
            if batch_id:
                service.cancel(batch_id)
                gr.Info(tr("cancel_sent", request_lang(request)))

        cancel.click(cancel_batch_ui, current, None, queue=False)
        play_pick.change(lambda p: p or None, play_pick, player, queue=False)

        def on_load(request: gr.Request):
            return service.latest_batch_id()

        demo.load(on_load, None, current).then(
            live, [current, shown], [live_html, play_pick, shown]
        )
        fast = gr.Timer(1.0)
        fast.tick(
            live,
            [current, shown],
            [live_html, play_pick, shown],
            concurrency_limit=None,
            show_progress="hidden",
        )

        def engine_now(request: gr.Request):
            return views.engine_line(worker.status, request_lang(request))

        fast.tick(engine_now, None, engine_html, concurrency_limit=None, show_progress="hidden")
        demo.load(engine_now, None, engine_html)

        # -- single tab ----------------------------------------------------------------
        def start_single(audio_path, path, engine, detector, quality, height, order, chunk,
                         top, bottom, left, right, request: gr.Request):  # fmt: skip
            settings = settings_of(
                engine, detector, quality, height, order, chunk, top, bottom, left, right
            )
            return submit(audio_path, [path] if path else [], settings, request)

        single_start.click(
            start_single, [single_audio, single_video, *setting_inputs], single_current
        )

        def single_live(batch_id, shown_outputs, request: gr.Request):
            html, _, outputs = live(batch_id, shown_outputs, request)
            video = gr.skip() if outputs == shown_outputs else (outputs[0][1] if outputs else None)
            return html, video, outputs

        fast.tick(single_live, [single_current, single_shown], [single_html, single_player, single_shown],
                  concurrency_limit=None, show_progress="hidden")  # fmt: skip

        # -- log and system ------------------------------------------------------------
        slow = gr.Timer(2.0)
        slow.tick(
            lambda: tail(service.workspace.log),
            None,
            log_box,
            concurrency_limit=None,
            show_progress="hidden",
        )

        def system_now(request: gr.Request):
            return views.system_markdown(worker.status, service.disk(), gpu_memory(), checkpoint_dir,
                                         retention_days, request_lang(request))  # fmt: skip

        slow.tick(system_now, None, system_md, concurrency_limit=None, show_progress="hidden")

        api_endpoints(service)
    return demo


def gpu_memory() -> str | None:
    """'used / total' of the first GPU, when torch is loaded and sees one."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return f"{views.fmt_bytes(total - free)} / {views.fmt_bytes(total)}"
