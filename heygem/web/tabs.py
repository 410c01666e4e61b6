"""The Single, Realtime log and System tabs: one function each (the Batch tab is
:mod:`heygem.web.batchtab`, the Presenters tab :mod:`heygem.web.librarytab`).

Each builds its components inside the caller's ``gr.Blocks`` and wires its handlers, which
talk only to the :class:`~heygem.web.service.Service`; each returns its live view
(:class:`~heygem.web.live.Live`), whose timer ticks only while its tab is shown.
"""

from __future__ import annotations

import gradio as gr

from heygem.media import human_size
from heygem.states import EngineState
from heygem.web import views
from heygem.web.batchtab import VIDEO_TYPES, cancel_handler
from heygem.web.forms import (
    new_request_id,
    one_path,
    settings_of,
    settings_panel,
    start_handler,
    watch,
    wire_start,
)
from heygem.web.i18n import request_lang, tr
from heygem.web.live import NOW, PRIVATE, TICK, Live, header_html
from heygem.web.logfile import tail
from heygem.web.models_panel import weights_note
from heygem.web.preview import preview_panel
from heygem.web.service import Service

# gr.Audio shows an I18n label as "[object Object]" (Gradio 6.31), so this one is bilingual.
AUDIO_LABEL = "音频 · Narration audio (wav, mp3, m4a, flac, ogg)"


def single_tab(service: Service, t, demo: gr.Blocks, header: gr.HTML, trials=None) -> Live:
    """One narration, one video, with settings of its own; the result plays in the page. The
    browser keeps the id of its last batch (localStorage), so a reload shows it again and its
    Cancel stops it."""
    current = gr.State(None)
    kept = gr.BrowserState(None, storage_key="heygem-single-batch")  # survives a reload
    shown = gr.State([])
    request_id = gr.State(None)
    timer = gr.Timer(1.0, active=False)
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(
                label=AUDIO_LABEL, type="filepath", sources=["upload"], elem_id="hg-single-audio"
            )
            video = gr.File(label=t("single_video"), file_types=VIDEO_TYPES, elem_id="hg-single-video")
            setting_inputs = settings_panel(t, "hg-single")
            extra = preview_panel(trials, t, "hg-single", audio, video, one_path, setting_inputs, settings_of)
            with gr.Row():
                start = gr.Button(t("start_single"), variant="primary", elem_id="hg-single-start")
                cancel = gr.Button(t("cancel"), variant="stop", elem_id="hg-single-cancel")
        with gr.Column():
            live_html = gr.HTML(elem_id="hg-single-live")
            player = gr.Video(label=t("result"), interactive=False, elem_id="hg-single-player")

    def live(batch_id, shown_outputs, request: gr.Request):
        html, outputs, finished = watch(service, batch_id, request)
        played = gr.skip() if outputs == shown_outputs else (outputs[0][1] if outputs else None)
        return html, played, outputs, header_html(service, request), gr.Timer(active=not finished)

    live_parts = ([current, shown], [live_html, player, shown, header, timer])
    single_inputs = [audio, video, gr.State("cross"), gr.State(None), gr.State([]), request_id]
    started = wire_start(
        start, start_handler(service, one_path), [*single_inputs, *setting_inputs, extra], current, request_id
    )
    started.then(lambda batch_id: batch_id, current, kept, **PRIVATE).then(live, *live_parts, **PRIVATE)
    cancel.click(cancel_handler(service), current, None, **NOW).then(live, *live_parts, **PRIVATE)
    demo.load(new_request_id, None, request_id, queue=False, **PRIVATE)
    # The page reads the stored id after the load events have run, and says so with a change.
    kept.change(lambda batch_id: batch_id, kept, current, **PRIVATE).then(live, *live_parts, **PRIVATE)
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
