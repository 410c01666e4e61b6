"""The Batch, Single, Realtime log and System tabs: one function each.

Each builds its components inside the caller's ``gr.Blocks`` and wires its handlers, which
talk only to the :class:`~heygem.web.service.Service`; each returns its live view
(:class:`~heygem.web.live.Live`), whose timer ticks only while its tab is shown.
"""

from __future__ import annotations

import gradio as gr

from heygem.errors import HeygemError
from heygem.media import human_size
from heygem.settings import (
    IMAGE_EXTENSIONS,
    NARRATION_EXTENSIONS,
    VIDEO_EXTENSIONS,
)
from heygem.states import EngineState
from heygem.web import views
from heygem.web.forms import (
    offered,
    one_path,
    pairing_panel,
    paths_of,
    settings_of,
    settings_panel,
    start_handler,
    watch,
)
from heygem.web.i18n import refusal_text, request_lang, tr
from heygem.web.live import PRIVATE, TICK, Live, header_html
from heygem.web.logfile import tail
from heygem.web.models_panel import weights_note
from heygem.web.preview import preview_panel
from heygem.web.service import Service

# gr.Audio shows an I18n label as "[object Object]" (Gradio 6.31), so this one is bilingual.
AUDIO_LABEL = "音频 · Narration audio (wav, mp3, m4a, flac, ogg)"
VIDEO_TYPES = sorted(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
AUDIO_TYPES = sorted(NARRATION_EXTENSIONS)  # a video's soundtrack too


def batch_tab(service: Service, t, demo: gr.Blocks, header: gr.HTML, trials=None) -> Live:
    """Narrations and videos, paired by a rule or a manifest; live progress; the finished
    videos to play."""
    current = gr.State(None)  # the batch this tab watches
    shown = gr.State([])  # outputs offered in the player list
    timer = gr.Timer(1.0, active=False)
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.File(
                label=t("audios"), file_count="multiple", file_types=AUDIO_TYPES, elem_id="hg-audio"
            )
            files = gr.File(
                label=t("videos"), file_count="multiple", file_types=VIDEO_TYPES, elem_id="hg-videos"
            )
            pairing_inputs = pairing_panel(service, t, audio, files)
            setting_inputs = settings_panel(t, "hg-batch")
            extra = preview_panel(trials, t, "hg-batch", audio, files, paths_of, setting_inputs, settings_of)
            with gr.Row():
                start = gr.Button(t("start_batch"), variant="primary", elem_id="hg-start")
                cancel = gr.Button(t("cancel"), variant="stop", elem_id="hg-cancel")
        with gr.Column(scale=2):
            live_html = gr.HTML(elem_id="hg-live")
            play_pick = gr.Dropdown(label=t("play_output"), choices=[], elem_id="hg-play-pick")
            player = gr.Video(label=t("result"), interactive=False, elem_id="hg-player")

    def live(batch_id, shown_outputs, picked, request: gr.Request):
        html, outputs, finished = watch(service, batch_id, request)
        choices = gr.skip() if outputs == shown_outputs else offered(outputs, picked)
        return html, choices, outputs, header_html(service, request), gr.Timer(active=not finished)

    live_parts = ([current, shown, play_pick], [live_html, play_pick, shown, header, timer])
    start_inputs = [audio, files, *pairing_inputs, *setting_inputs, extra]
    start.click(start_handler(service, paths_of), start_inputs, current, **PRIVATE).then(
        live, *live_parts, **PRIVATE
    )

    def cancel_batch_ui(batch_id, request: gr.Request):
        if not batch_id:
            return
        lang = request_lang(request)
        try:
            service.cancel(batch_id)
        except HeygemError as exc:  # finished or already stopping: the REST API's rules too
            gr.Warning(refusal_text(exc, lang, batch_id))
            return
        gr.Info(tr("cancel_sent", lang))

    cancel.click(cancel_batch_ui, current, None, queue=False, **PRIVATE)
    play_pick.change(lambda p: p or None, play_pick, player, queue=False, **PRIVATE)
    demo.load(lambda: service.latest_batch_id(), None, current, **PRIVATE).then(live, *live_parts, **PRIVATE)
    timer.tick(live, *live_parts, **TICK)
    return Live(timer, live, *live_parts)


def single_tab(service: Service, t, header: gr.HTML, trials=None) -> Live:
    """One narration, one video, with settings of its own; the result plays in the page."""
    current = gr.State(None)
    shown = gr.State([])
    timer = gr.Timer(1.0, active=False)
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(
                label=AUDIO_LABEL, type="filepath", sources=["upload"], elem_id="hg-single-audio"
            )
            video = gr.File(label=t("video"), file_types=VIDEO_TYPES, elem_id="hg-single-video")
            setting_inputs = settings_panel(t, "hg-single")
            extra = preview_panel(trials, t, "hg-single", audio, video, one_path, setting_inputs, settings_of)
            start = gr.Button(t("start_single"), variant="primary", elem_id="hg-single-start")
        with gr.Column():
            live_html = gr.HTML(elem_id="hg-single-live")
            player = gr.Video(label=t("result"), interactive=False, elem_id="hg-single-player")

    def live(batch_id, shown_outputs, request: gr.Request):
        html, outputs, finished = watch(service, batch_id, request)
        played = gr.skip() if outputs == shown_outputs else (outputs[0][1] if outputs else None)
        return html, played, outputs, header_html(service, request), gr.Timer(active=not finished)

    live_parts = ([current, shown], [live_html, player, shown, header, timer])
    single_inputs = [audio, video, gr.State("cross"), gr.State(None), *setting_inputs, extra]
    start.click(start_handler(service, one_path), single_inputs, current, **PRIVATE).then(
        live, *live_parts, **PRIVATE
    )
    timer.tick(live, *live_parts, **TICK)
    return Live(timer, live, *live_parts)


def log_tab(service: Service, t) -> Live:
    """The realtime log file, followed live."""
    box = gr.Textbox(label=t("log"), lines=24, max_lines=24, autoscroll=True, elem_id="hg-log")
    timer = gr.Timer(2.0, active=False)
    timer.tick(lambda: tail(service.workspace.log), None, box, **TICK)
    return Live(timer, lambda: (tail(service.workspace.log), gr.Timer(active=True)), [], [box, timer])


def system_tab(
    service: Service, t, checkpoint_dir: str, retention_days: float | None, header: gr.HTML
) -> Live:
    """Device, engine, detector, model load time, GPU memory, disk; retry a failed model load."""
    panel = gr.Markdown(elem_id="hg-system")
    retry_load = gr.Button(t("retry_load"), visible=False, elem_id="hg-retry-load")
    timer = gr.Timer(2.0, active=False)

    def system_now(request: gr.Request):
        lang = request_lang(request)
        status = service.worker.status
        text = views.system_markdown(
            status, service.disk(), gpu_memory(), checkpoint_dir, retention_days, lang
        )
        text += weights_note(service.weights, lang) if service.weights else ""
        return text, gr.update(visible=status.state == EngineState.ERROR), header_html(service, request)

    def retry_load_ui(request: gr.Request):
        lang = request_lang(request)
        if service.retry_load():
            gr.Info(tr("loading_again", lang))
        else:
            gr.Info(tr("nothing_to_load", lang))
        return gr.update(visible=False)

    timer.tick(system_now, None, [panel, retry_load, header], **TICK)
    retry_load.click(retry_load_ui, None, retry_load, queue=False, **PRIVATE)

    def show(request: gr.Request):
        return *system_now(request), gr.Timer(active=True)

    return Live(timer, show, [], [panel, retry_load, header, timer])


def gpu_memory() -> str | None:
    """'used / total' of the first GPU, when torch is loaded and sees one."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return f"{human_size(total - free)} / {human_size(total)}"
