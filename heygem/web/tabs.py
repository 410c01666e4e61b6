"""The Batch, Single, Realtime log and System tabs: one function each.

Each builds its components inside the caller's ``gr.Blocks`` and wires its handlers, which
talk only to the :class:`~heygem.web.service.Service`; each returns its live view
(:class:`~heygem.web.live.Live`), whose timer ticks only while its tab is shown.
"""

from __future__ import annotations

import gradio as gr

from heygem.errors import HeygemError
from heygem.settings import (
    DEFAULT_PADS,
    DETECTORS,
    ENGINES,
    FRAME_ORDERS,
    HEIGHTS,
    IMAGE_EXTENSIONS,
    QUALITY_CRF,
    VIDEO_EXTENSIONS,
)
from heygem.states import EngineState, ItemStatus
from heygem.web import views
from heygem.web.i18n import request_lang, tr
from heygem.web.live import PRIVATE, TICK, Live, header_html
from heygem.web.logfile import tail
from heygem.web.service import Service, Upload

# gr.Audio shows an I18n label as "[object Object]" (Gradio 6.31), so this one is bilingual.
AUDIO_LABEL = "音频 · Narration audio (wav, mp3, m4a, flac, ogg)"
VIDEO_TYPES = sorted(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
FINISHED = ("done", "partial", "failed", "cancelled", "unknown")  # batch states a view stops at


def settings_panel(t, prefix: str) -> list:
    """The batch settings in an accordion (each tab has its own; element ids start with
    ``prefix``); returns its inputs in :func:`settings_of`'s order."""
    with gr.Accordion(t("settings"), open=False, elem_id=f"{prefix}-settings"):
        inputs = [
            gr.Dropdown(list(ENGINES), value="auto", label=t("engine"), elem_id=f"{prefix}-engine"),
            gr.Dropdown(list(DETECTORS), value="auto", label=t("detector"), elem_id=f"{prefix}-detector"),
            gr.Radio(list(QUALITY_CRF), value="standard", label=t("quality"), elem_id=f"{prefix}-quality"),
            gr.Dropdown(list(HEIGHTS), value="original", label=t("height"), elem_id=f"{prefix}-height"),
            gr.Radio(list(FRAME_ORDERS), value="pingpong", label=t("frame_order"), elem_id=f"{prefix}-order"),
            gr.Slider(5, 60, value=30, step=5, label=t("chunk_seconds"), elem_id=f"{prefix}-chunk"),
        ]
        with gr.Row():
            for name, value in zip("TBLR", DEFAULT_PADS, strict=True):
                inputs.append(gr.Number(value, precision=0, minimum=0, maximum=200, label=name, min_width=60))
        gr.Markdown(t("pads"))
    return inputs


def settings_of(engine, detector, quality, height, order, chunk, top, bottom, left, right) -> dict:
    pads = [int(top or 0), int(bottom or 0), int(left or 0), int(right or 0)]
    return {
        "engine": engine,
        "detector": detector,
        "quality": quality,
        "height": height,
        "frame_order": order,
        "chunk_seconds": chunk,
        "pads": pads,
    }


def submit(service: Service, audio, files, settings: dict, request: gr.Request) -> str:
    """Submit from the page; bad input is a gr.Error, a refused video a warning."""
    lang = request_lang(request)
    if not audio:
        raise gr.Error(tr("need_audio", lang))
    videos = [Upload.of(p) for p in files or []]
    if not videos:
        raise gr.Error(tr("need_videos", lang))
    try:
        batch_id = service.submit(Upload.of(audio), videos, settings)
    except HeygemError as exc:
        raise gr.Error(str(exc)) from None
    items = service.status(batch_id)["items"]
    failed = [i["video"] for i in items if i["status"] == ItemStatus.FAILED]
    if failed:
        gr.Warning(tr("bad_uploads", lang, names=", ".join(failed)))
    gr.Info(tr("submitted", lang, id=batch_id, n=len(videos)))
    return batch_id


def start_handler(service: Service, videos_of):
    """A Start button's handler: (audio, videos, the settings panel's values) -> batch id;
    ``videos_of`` turns its video input's value into a list of paths."""

    # Gradio passes the request only to a named parameter, so the settings are spelled out.
    def start(
        audio,
        videos,
        engine,
        detector,
        quality,
        height,
        order,
        chunk,
        top,
        bottom,
        left,
        right,
        request: gr.Request,
    ):
        settings = settings_of(engine, detector, quality, height, order, chunk, top, bottom, left, right)
        return submit(service, audio, videos_of(videos), settings, request)

    return start


def watch(service: Service, batch_id, request: gr.Request) -> tuple[str, list, bool]:
    """The live panel of ``batch_id``, its finished outputs [(video, path)], and whether there
    is nothing left to follow (no batch, or a finished one)."""
    status = service.status(batch_id) if batch_id else None
    outputs = [(i["video"], i["output"]) for i in (status or {}).get("items", []) if i["output"]]
    html = views.status_html(status, service.worker.status.state, request_lang(request))
    return html, outputs, status is None or status["state"] in FINISHED


def offered(outputs: list, picked) -> dict:
    """The player list's update for new ``outputs``: the video the user picked keeps playing
    while it is there; otherwise the first one is offered."""
    paths = [path for _, path in outputs]
    if picked in paths:
        return gr.update(choices=outputs)
    return gr.update(choices=outputs, value=paths[0] if paths else None)


def batch_tab(service: Service, t, demo: gr.Blocks, header: gr.HTML) -> Live:
    """One narration and many videos; live progress; the finished videos to play."""
    current = gr.State(None)  # the batch this tab watches
    shown = gr.State([])  # outputs offered in the player list
    timer = gr.Timer(1.0, active=False)
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.Audio(label=AUDIO_LABEL, type="filepath", sources=["upload"], elem_id="hg-audio")
            files = gr.File(
                label=t("videos"), file_count="multiple", file_types=VIDEO_TYPES, elem_id="hg-videos"
            )
            setting_inputs = settings_panel(t, "hg-batch")
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
    start.click(
        start_handler(service, lambda paths: paths), [audio, files, *setting_inputs], current, **PRIVATE
    ).then(live, *live_parts, **PRIVATE)

    def cancel_batch_ui(batch_id, request: gr.Request):
        if batch_id:
            service.cancel(batch_id)
            gr.Info(tr("cancel_sent", request_lang(request)))

    cancel.click(cancel_batch_ui, current, None, queue=False, **PRIVATE)
    play_pick.change(lambda p: p or None, play_pick, player, queue=False, **PRIVATE)
    demo.load(lambda: service.latest_batch_id(), None, current, **PRIVATE).then(live, *live_parts, **PRIVATE)
    timer.tick(live, *live_parts, **TICK)
    return Live(timer, live, *live_parts)


def single_tab(service: Service, t, header: gr.HTML) -> Live:
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
            start = gr.Button(t("start_single"), variant="primary", elem_id="hg-single-start")
        with gr.Column():
            live_html = gr.HTML(elem_id="hg-single-live")
            player = gr.Video(label=t("result"), interactive=False, elem_id="hg-single-player")

    def live(batch_id, shown_outputs, request: gr.Request):
        html, outputs, finished = watch(service, batch_id, request)
        played = gr.skip() if outputs == shown_outputs else (outputs[0][1] if outputs else None)
        return html, played, outputs, header_html(service, request), gr.Timer(active=not finished)

    live_parts = ([current, shown], [live_html, player, shown, header, timer])
    one = start_handler(service, lambda path: [path] if path else [])
    start.click(one, [audio, video, *setting_inputs], current, **PRIVATE).then(live, *live_parts, **PRIVATE)
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
    return f"{views.fmt_bytes(total - free)} / {views.fmt_bytes(total)}"
