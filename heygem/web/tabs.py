"""The Batch, Single, Realtime log and System tabs: one function each.

Each builds its components inside the caller's ``gr.Blocks`` and wires its handlers, which
talk only to the :class:`~heygem.web.service.Service`.
"""

from __future__ import annotations

import gradio as gr

from heygem.errors import HeygemError
from heygem.settings import (
    AUDIO_EXTENSIONS,
    DEFAULT_PADS,
    DETECTORS,
    ENGINES,
    FRAME_ORDERS,
    HEIGHTS,
    IMAGE_EXTENSIONS,
    MANIFEST_EXTENSIONS,
    QUALITY_CRF,
    VIDEO_EXTENSIONS,
)
from heygem.states import ItemStatus
from heygem.web import views
from heygem.web.i18n import request_lang, tr
from heygem.web.logfile import tail
from heygem.web.models_panel import weights_note
from heygem.web.preview import preview_panel
from heygem.web.service import Service, Upload

# gr.Audio shows an I18n label as "[object Object]" (Gradio 6.31), so this one is bilingual.
AUDIO_LABEL = "音频 · Narration audio (wav, mp3, m4a, flac, ogg)"
VIDEO_TYPES = sorted(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
AUDIO_TYPES = sorted(AUDIO_EXTENSIONS)
# (label, value); bilingual, as a Radio's choices cannot be I18n keys
PAIRING_CHOICES = [
    ("每个音频 × 每个视频 · every narration × every video", "cross"),
    ("按顺序配对 · by order", "order"),
    ("按文件名配对 · by name (lesson01.wav ↔ lesson01.mp4)", "name"),
    ("清单 · manifest (CSV / JSON)", "manifest"),
]
TICK = {"concurrency_limit": None, "show_progress": "hidden"}  # how every timer handler runs


def settings_panel(t) -> list:
    """The batch settings in an accordion; returns its inputs in :func:`settings_of`'s order."""
    with gr.Accordion(t("settings"), open=False):
        inputs = [
            gr.Dropdown(list(ENGINES), value="auto", label=t("engine")),
            gr.Dropdown(list(DETECTORS), value="auto", label=t("detector")),
            gr.Radio(list(QUALITY_CRF), value="standard", label=t("quality")),
            gr.Dropdown(list(HEIGHTS), value="original", label=t("height")),
            gr.Radio(list(FRAME_ORDERS), value="pingpong", label=t("frame_order")),
            gr.Slider(5, 60, value=30, step=5, label=t("chunk_seconds")),
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


def submit(
    service: Service, audio, files, settings: dict, request: gr.Request, pairing="cross", manifest=None
) -> str:
    """Submit from the page; bad input is a gr.Error, a refused video or narration a warning.
    ``audio``: one path or several; ``pairing``: a rule, or "manifest" with ``manifest``."""
    lang = request_lang(request)
    audios = [Upload.of(p) for p in (audio if isinstance(audio, list) else [audio] if audio else [])]
    if not audios:
        raise gr.Error(tr("need_audio", lang))
    videos = [Upload.of(p) for p in files or []]
    if not videos:
        raise gr.Error(tr("need_videos", lang))
    rule, listed = _pairing_of(pairing, manifest, lang)
    try:
        batch_id = service.submit(audios, videos, settings, rule, listed)
    except HeygemError as exc:
        raise gr.Error(str(exc)) from None
    status = service.status(batch_id)
    several = len(status["audios"]) > 1
    failed = [_item_name(i, several) for i in status["items"] if i["status"] == ItemStatus.FAILED]
    if failed:
        gr.Warning(tr("bad_uploads", lang, names=", ".join(failed)))
    if status["unmatched"]:
        gr.Warning(tr("unmatched", lang, names=", ".join(status["unmatched"])))
    gr.Info(tr("submitted_pairs" if several else "submitted", lang, id=batch_id, n=len(status["items"])))
    return batch_id


def _pairing_of(pairing, manifest, lang: str) -> tuple[str | None, Upload | None]:
    """The page's pairing choice as (rule, manifest upload)."""
    if pairing != "manifest":
        return pairing or "cross", None
    if not manifest:
        raise gr.Error(tr("need_manifest", lang))
    return None, Upload.of(manifest)


def _item_name(item: dict, several: bool) -> str:
    return f"{item['audio']} → {item['video']}" if several else item["video"]


def start_handler(service: Service, videos_of):
    """A Start button's handler: (audio, videos, pairing, manifest, the settings panel's
    values, the preview panel's extra settings) -> batch id; ``videos_of`` turns its video
    input's value into a list of paths."""

    # Gradio passes the request only to a named parameter, so the settings are spelled out.
    def start(
        audio,
        videos,
        pairing,
        manifest,
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
        extra,
        request: gr.Request,
    ):
        settings = settings_of(engine, detector, quality, height, order, chunk, top, bottom, left, right)
        settings = {**settings, **(extra or {})}
        return submit(service, audio, videos_of(videos), settings, request, pairing, manifest)

    return start


def pairing_panel(service: Service, t, audio: gr.File, files: gr.File) -> list:
    """The pairing choice, the manifest upload and the preview table of the pairs Start would
    record, kept up to date; returns [pairing, manifest]."""
    pairing = gr.Radio(PAIRING_CHOICES, value="cross", label=t("pairing"), elem_id="hg-pairing")
    manifest = gr.File(
        label=t("manifest"), file_types=list(MANIFEST_EXTENSIONS), visible=False, elem_id="hg-manifest"
    )
    preview = gr.HTML(elem_id="hg-pairs")

    def show(audios, videos, rule, listed, request: gr.Request):
        if not audios or not videos or (rule == "manifest" and not listed):
            return ""
        chosen = [Upload.of(p) for p in audios]
        given = [Upload.of(p) for p in videos]
        manifest_upload = Upload.of(listed) if rule == "manifest" else None
        plan = service.preview(chosen, given, None if manifest_upload else rule, manifest_upload)
        return views.pairs_html(plan, request_lang(request))

    inputs = [audio, files, pairing, manifest]
    for component in inputs:
        component.change(show, inputs, preview, show_progress="hidden")
    pairing.change(lambda rule: gr.update(visible=rule == "manifest"), pairing, manifest, queue=False)
    return [pairing, manifest]


def watch(service: Service, batch_id, request: gr.Request) -> tuple[str, list]:
    """The live panel of ``batch_id`` and its finished outputs [(video, path)]."""
    status = service.status(batch_id) if batch_id else None
    several = len((status or {}).get("audios") or []) > 1
    items = (status or {}).get("items", [])
    outputs = [(_item_name(i, several), i["output"]) for i in items if i["output"]]
    html = views.status_html(status, service.worker.status.state, request_lang(request))
    return html, outputs


def batch_tab(service: Service, t, timer: gr.Timer, demo: gr.Blocks, previews=None) -> list:
    """Narrations and videos, paired by a rule or a manifest; live progress; returns the
    settings inputs."""
    current = gr.State(None)  # the batch this tab watches
    shown = gr.State([])  # outputs offered in the player list
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.File(
                label=t("audios"), file_count="multiple", file_types=AUDIO_TYPES, elem_id="hg-audio"
            )
            files = gr.File(
                label=t("videos"), file_count="multiple", file_types=VIDEO_TYPES, elem_id="hg-videos"
            )
            pairing_inputs = pairing_panel(service, t, audio, files)
            setting_inputs = settings_panel(t)
            extra = preview_panel(previews, t, "hg-batch", audio, files, _paths, setting_inputs, settings_of)
            with gr.Row():
                start = gr.Button(t("start_batch"), variant="primary", elem_id="hg-start")
                cancel = gr.Button(t("cancel"), variant="stop", elem_id="hg-cancel")
        with gr.Column(scale=2):
            live_html = gr.HTML(elem_id="hg-live")
            play_pick = gr.Dropdown(label=t("play_output"), choices=[], elem_id="hg-play-pick")
            player = gr.Video(label=t("result"), interactive=False, elem_id="hg-player")

    def live(batch_id, shown_outputs, request: gr.Request):
        html, outputs = watch(service, batch_id, request)
        if outputs == shown_outputs:
            choices = gr.skip()
        else:  # offer the finished videos; the first one plays until the user picks another
            choices = gr.update(choices=outputs, value=outputs[0][1] if outputs else None)
        return html, choices, outputs

    live_parts = ([current, shown], [live_html, play_pick, shown])
    start_inputs = [audio, files, *pairing_inputs, *setting_inputs, extra]
    start.click(start_handler(service, _paths), start_inputs, current).then(live, *live_parts)

    def cancel_batch_ui(batch_id, request: gr.Request):
        if batch_id:
            service.cancel(batch_id)
            gr.Info(tr("cancel_sent", request_lang(request)))

    cancel.click(cancel_batch_ui, current, None, queue=False)
    play_pick.change(lambda p: p or None, play_pick, player, queue=False)
    demo.load(lambda: service.latest_batch_id(), None, current).then(live, *live_parts)
    timer.tick(live, *live_parts, **TICK)
    return setting_inputs


def single_tab(service: Service, t, timer: gr.Timer, setting_inputs: list, previews=None) -> None:
    """One narration, one video, the result in the page (with the Batch tab's settings)."""
    current = gr.State(None)
    shown = gr.State([])
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(label=AUDIO_LABEL, type="filepath", sources=["upload"])
            video = gr.File(label=t("video"), file_types=VIDEO_TYPES)
            extra = preview_panel(
                previews, t, "hg-single", audio, video, _one_path, setting_inputs, settings_of
            )
            start = gr.Button(t("start_single"), variant="primary", elem_id="hg-single-start")
        with gr.Column():
            live_html = gr.HTML(elem_id="hg-single-live")
            player = gr.Video(label=t("result"), interactive=False, elem_id="hg-single-player")

    single_inputs = [audio, video, gr.State("cross"), gr.State(None), *setting_inputs, extra]
    start.click(start_handler(service, _one_path), single_inputs, current)

    def live(batch_id, shown_outputs, request: gr.Request):
        html, outputs = watch(service, batch_id, request)
        played = gr.skip() if outputs == shown_outputs else (outputs[0][1] if outputs else None)
        return html, played, outputs

    timer.tick(live, [current, shown], [live_html, player, shown], **TICK)


def _paths(value) -> list[str]:
    return list(value or [])


def _one_path(value) -> list[str]:
    return [value] if value else []


def log_tab(service: Service, t, timer: gr.Timer) -> None:
    """The realtime log file, followed live."""
    box = gr.Textbox(label=t("log"), lines=24, max_lines=24, autoscroll=True, elem_id="hg-log")
    timer.tick(lambda: tail(service.workspace.log), None, box, **TICK)


def system_tab(service: Service, timer: gr.Timer, checkpoint_dir: str, retention_days: float | None) -> None:
    """Device, engine, detector, model load time, GPU memory, disk."""
    panel = gr.Markdown(elem_id="hg-system")

    def system_now(request: gr.Request):
        lang = request_lang(request)
        status = service.worker.status
        text = views.system_markdown(
            status, service.disk(), gpu_memory(), checkpoint_dir, retention_days, lang
        )
        return text + weights_note(service.weights, lang) if service.weights else text

    timer.tick(system_now, None, panel, **TICK)


def gpu_memory() -> str | None:
    """'used / total' of the first GPU, when torch is loaded and sees one."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return f"{views.fmt_bytes(total - free)} / {views.fmt_bytes(total)}"
