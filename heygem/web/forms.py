"""What the Batch and Single tabs share: the settings panel, Start (off while it submits; the
same request twice makes one batch), and the live view of the batch a tab watches (the pairing
panel is :mod:`heygem.web.pairingpanel`)."""

from __future__ import annotations

import uuid

import gradio as gr

from heygem.errors import HeygemError
from heygem.settings import (
    DEFAULT_ENHANCER_BLEND,
    DEFAULT_PADS,
    DETECTORS,
    ENGINE_LICENCES,
    ENGINES,
    ENHANCERS,
    FRAME_ORDERS,
    HEIGHTS,
    QUALITY_CRF,
)
from heygem.states import FINISHED_STATES, ItemStatus
from heygem.web import views
from heygem.web.i18n import request_lang, tr
from heygem.web.live import PRIVATE
from heygem.web.rest import API_PREFIX
from heygem.web.service import Service, Upload

# Each engine with the licence class of its weights (settings.ENGINE_LICENCES), before one is chosen.
ENGINE_CHOICES = [
    ("auto · 自动：有 Wav2Lip 权重时用 wav2lip，否则 loudness", "auto"),
    (f"wav2lip · 仅限非商业用途 · {ENGINE_LICENCES['wav2lip']}", "wav2lip"),
    (f"musetalk · 可商用（遵守其许可与使用限制）· {ENGINE_LICENCES['musetalk']}", "musetalk"),
    (f"loudness · 无权重，非真实口型 · {ENGINE_LICENCES['loudness']}", "loudness"),
]
assert [value for _, value in ENGINE_CHOICES] == list(ENGINES)  # one label per engine
FINISHED = (*FINISHED_STATES, "unknown")  # batch states a view stops at (unknown: deleted)


def settings_panel(t, prefix: str) -> list:
    """The batch settings in an accordion (each tab has its own; element ids start with
    ``prefix``); returns its inputs in :func:`settings_of`'s order."""
    with gr.Accordion(t("settings"), open=False, elem_id=f"{prefix}-settings"):
        inputs = [
            gr.Dropdown(ENGINE_CHOICES, value="auto", label=t("engine"), elem_id=f"{prefix}-engine"),
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
        with gr.Row():
            inputs.append(
                gr.Dropdown(list(ENHANCERS), value="auto", label=t("enhancer"), elem_id=f"{prefix}-enhancer")
            )
            inputs.append(
                gr.Slider(
                    0,
                    100,
                    value=DEFAULT_ENHANCER_BLEND,
                    step=5,
                    label=t("enhancer_blend"),
                    elem_id=f"{prefix}-blend",
                )
            )
        gr.Markdown(t("enhancer_cost"), elem_id=f"{prefix}-enhancer-cost")
        with gr.Accordion(t("advanced"), open=False, elem_id=f"{prefix}-advanced"):
            inputs.append(
                gr.Slider(-10, 10, value=0, step=1, label=t("sync_offset"), elem_id=f"{prefix}-sync-offset")
            )
            inputs.append(
                gr.Number(None, precision=0, minimum=0, maximum=51, label=t("crf"), elem_id=f"{prefix}-crf")
            )
            inputs.append(
                gr.Slider(1, 50, value=8, step=1, label=t("keyframe_interval"), elem_id=f"{prefix}-keyframes")
            )
    return inputs


def settings_of(
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
    enhancer,
    blend,
    sync_offset=0,
    crf=None,
    keyframes=8,
) -> dict:
    """The settings panel's values as batch settings (a CRF left empty: the quality's)."""
    pads = [int(top or 0), int(bottom or 0), int(left or 0), int(right or 0)]
    return {
        "sync_offset": sync_offset,
        "crf": crf,
        "keyframe_interval": keyframes,
        "engine": engine,
        "detector": detector,
        "quality": quality,
        "height": height,
        "frame_order": order,
        "chunk_seconds": chunk,
        "pads": pads,
        "enhancer": enhancer,
        "enhancer_blend": blend,
    }


def submit(
    service: Service,
    audio,
    files,
    settings: dict,
    request: gr.Request,
    pairing="cross",
    manifest=None,
    presenters=None,
    request_id: str | None = None,
) -> str:
    """Submit from the page; bad input is a gr.Error, a refused video or narration a warning.
    ``audio``: one path or several; ``pairing``: a rule, or "manifest" with ``manifest``;
    ``presenters``: library presenters' ids; ``request_id``: the page's id of this Start."""
    lang = request_lang(request)
    audios = [Upload.of(p) for p in (audio if isinstance(audio, list) else [audio] if audio else [])]
    if not audios:
        raise gr.Error(tr("need_audio", lang))
    videos = [Upload.of(p) for p in files or []]
    if not videos and not presenters:
        raise gr.Error(tr("need_videos", lang))
    rule, listed = pairing_of(pairing, manifest, lang)
    try:
        batch_id = service.submit(audios, videos, settings, rule, listed, presenters, request_id)
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


def pairing_of(pairing, manifest, lang: str) -> tuple[str | None, Upload | None]:
    """The page's pairing choice as (rule, manifest upload)."""
    if pairing != "manifest":
        return pairing or "cross", None
    if not manifest:
        raise gr.Error(tr("need_manifest", lang))
    return None, Upload.of(manifest)


def _item_name(item: dict, several: bool) -> str:
    return f"{item['audio']} → {item['video']}" if several else item["video"]


def start_handler(service: Service, videos_of):
    """A Start button's handler: (audio, videos, pairing, manifest, presenters, request id, the
    settings panel's values, the face and preview panel's extra settings) -> (batch id, a new
    request id); ``videos_of`` turns its video input's value into a list of paths."""

    # Gradio passes the request to a parameter before the others; the settings come after.
    def start(request: gr.Request, audio, videos, pairing, manifest, presenters, request_id, *values):
        *panel, extra = values
        settings = {**settings_of(*panel), **(extra or {})}
        batch_id = submit(
            service, audio, videos_of(videos), settings, request, pairing, manifest, presenters, request_id
        )
        return batch_id, new_request_id()

    return start


def new_request_id() -> str:
    """An id for the page's next Start: pressed twice (a double click, a slow copy), the same
    id comes twice and makes one batch."""
    return uuid.uuid4().hex


def wire_start(button: gr.Button, handler, inputs: list, current: gr.State, request_id: gr.State):
    """Start: the button is off while its submission is copied and recorded, then on again
    whatever happened; returns the event, for the live view to follow."""
    off = button.click(lambda: gr.update(interactive=False), None, button, queue=False, **PRIVATE)
    sent = off.then(handler, inputs, [current, request_id], **PRIVATE)
    return sent.then(lambda: gr.update(interactive=True), None, button, queue=False, **PRIVATE)


def watch(service: Service, batch_id, request: gr.Request) -> tuple[str, list, bool]:
    """The live panel of ``batch_id``, its finished outputs [(video, path)], and whether there
    is nothing left to follow (no batch, or a finished one)."""
    status = service.status(batch_id) if batch_id else None
    several = len((status or {}).get("audios") or []) > 1
    items = (status or {}).get("items", [])
    outputs = [(_item_name(i, several), i["output"]) for i in items if i["output"]]
    finished = status is None or status["state"] in FINISHED
    archive = archive_href(batch_id) if finished and outputs else None
    html = views.status_html(status, service.worker.status.state, request_lang(request), archive)
    return html, outputs, finished


def archive_href(batch_id: str) -> str:
    """Where the page fetches a batch's outputs as one zip (the REST API's archive, streamed;
    relative, so a sub-path mount works too)."""
    return f"{API_PREFIX.lstrip('/')}/batches/{batch_id}/archive.zip"


def offered(outputs: list, picked) -> dict:
    """The player list's update for new ``outputs``: the video the user picked keeps playing
    while it is there; otherwise the first one is offered."""
    paths = [path for _, path in outputs]
    if picked in paths:
        return gr.update(choices=outputs)
    return gr.update(choices=outputs, value=paths[0] if paths else None)


def paths_of(value) -> list[str]:
    return list(value or [])


def one_path(value) -> list[str]:
    return [value] if value else []
