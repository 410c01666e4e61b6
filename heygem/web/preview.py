"""The face, mask and preview panel of the Batch and Single tabs, and the /preview API.

The panel's controls (mask mode, size, feather, and a face picked per video by clicking its
first frame) are kept in a ``gr.State`` of extra settings that the tab's Start button adds to
the batch's settings; "Preview 2 s" renders the chosen video's first two seconds with the
settings as they are now, with the narration chosen (a trial render:
:class:`heygem.lipsync.trialrender.TrialRender`, which the app passes in), optionally with the
face box and mask drawn; when the face enhancer runs, without it (left) and with it (right),
side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from heygem.errors import HeygemError
from heygem.settings import DEFAULT_MASK_FEATHER, DEFAULT_MASK_SIZE, MASK_MODES
from heygem.web.i18n import request_lang, tr
from heygem.web.live import PRIVATE

if TYPE_CHECKING:
    from heygem.lipsync.trialrender import TrialRender

DEFAULT_EXTRA = {"mask": "face", "mask_size": DEFAULT_MASK_SIZE, "mask_feather": DEFAULT_MASK_FEATHER}


def preview_panel(
    trials: TrialRender | None,
    t,
    prefix: str,
    audio: gr.components.Component,
    videos: gr.components.Component,
    paths_of: Callable[[object], list[str]],
    setting_inputs: list,
    settings_of: Callable[..., dict],
) -> gr.State:
    """Build the panel (element ids start with ``prefix``); returns the State of extra settings
    (mask, mask_size, mask_feather, face_points) for the tab's Start button."""
    extra = gr.State(dict(DEFAULT_EXTRA))
    with gr.Accordion(t("face_and_preview"), open=False, elem_id=f"{prefix}-panel"):
        with gr.Row():
            mask = gr.Radio(list(MASK_MODES), value="face", label=t("mask"), elem_id=f"{prefix}-mask")
            size = gr.Slider(-30, 60, value=DEFAULT_MASK_SIZE, step=1, label=t("mask_size"))
            feather = gr.Slider(0, 50, value=DEFAULT_MASK_FEATHER, step=1, label=t("mask_feather"))
        pick = gr.Dropdown(label=t("preview_video"), choices=[], elem_id=f"{prefix}-pick")
        several = isinstance(audio, gr.File) and audio.file_count == "multiple"
        narration = gr.Dropdown(
            label=t("preview_narration"), choices=[], visible=several, elem_id=f"{prefix}-narration"
        )
        frame = gr.Image(
            label=t("first_frame"), type="filepath", interactive=False, elem_id=f"{prefix}-frame"
        )
        with gr.Row():
            overlay = gr.Checkbox(True, label=t("draw_mask"), elem_id=f"{prefix}-overlay")
            button = gr.Button(t("preview_2s"), elem_id=f"{prefix}-preview", interactive=trials is not None)
        status = gr.Markdown(elem_id=f"{prefix}-status")
        clip = gr.Video(label=t("preview_clip"), interactive=False, elem_id=f"{prefix}-clip")

    def offer(value):
        paths = paths_of(value)
        return gr.update(choices=[(Path(p).name, p) for p in paths], value=paths[0] if paths else None)

    def show(path, state, request: gr.Request):
        if not path or trials is None:
            return None, ""
        point = state.get("face_points", {}).get(Path(path).name)
        return _first_frame(trials, path, point, request)

    def picked(path, state, evt: gr.SelectData, request: gr.Request):
        if not path or trials is None or evt.index is None:
            return gr.skip(), state, gr.skip()
        name, (x, y) = Path(path).name, evt.index
        state = {**state, "face_points": {**state.get("face_points", {}), name: [x, y]}}
        image, text = _first_frame(trials, path, (x, y), request)
        lang = request_lang(request)
        return image, state, f"{tr('face_picked', lang, x=x, y=y, name=name)} {text}"

    def tuned(state, mode, grow, fade):
        return {**state, "mask": mode, "mask_size": grow, "mask_feather": fade}

    def render(given: dict, request: gr.Request):  # a set of inputs: one dict, so the request comes too
        sound, path, state, draw, chosen = (given[c] for c in (audio, pick, extra, overlay, narration))
        if isinstance(sound, list):  # several: the one chosen, else the first
            sound = chosen if chosen in sound else (sound or [None])[0]
        values = [given[c] for c in setting_inputs]
        lang = request_lang(request)
        if not sound:
            raise gr.Error(tr("need_audio", lang))
        if not path:
            raise gr.Error(tr("need_preview_video", lang))
        settings = {**settings_of(*values), **state}
        try:
            result = trials.render(Path(sound), Path(path), settings, Path(path).name, overlay=bool(draw))
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        text = tr(
            "preview_done",
            lang,
            seconds=result.duration,
            took=result.seconds,
            engine=result.engine,
            missing=result.frames_without_face,
        )
        if result.side_by_side:
            text += " " + tr("preview_side_by_side", lang, enhancer=result.enhancer)
        return str(result.path), text

    videos.change(offer, videos, pick, queue=False, **PRIVATE)
    if several:
        audio.change(offer, audio, narration, queue=False, **PRIVATE)
    pick.change(show, [pick, extra], [frame, status], **PRIVATE)
    frame.select(picked, [pick, extra], [frame, extra, status], **PRIVATE)
    for control in (mask, size, feather):
        control.change(tuned, [extra, mask, size, feather], extra, queue=False, **PRIVATE)
    button.click(
        render,
        {audio, pick, extra, overlay, narration, *setting_inputs},
        [clip, status],
        concurrency_limit=1,
        **PRIVATE,
    )
    return extra


def _first_frame(trials: TrialRender, path: str, point, request) -> tuple[str, str]:
    """The first-frame image with its faces drawn, and a line saying what was found."""
    try:
        found = trials.first_frame(Path(path), point)
    except HeygemError as exc:
        raise gr.Error(str(exc)) from None
    lang = request_lang(request)
    text = tr("faces_found", lang, n=len(found.boxes)) if found.boxes else tr("no_face_found", lang)
    return str(found.path), text


def preview_endpoint(trials: TrialRender | None) -> None:
    """/preview(audio, video, settings={}) -> (the preview MP4, {duration, seconds, frames,
    frames_without_face, engine, enhancer, side_by_side}); settings as /submit_batch's,
    "overlay": true draws the face box and mask; with the enhancer on, the MP4 shows the clip
    without it (left) and with it (right)."""
    with gr.Row(visible=False):
        api_audio = gr.File(label="audio")
        api_video = gr.File(label="video")
        api_settings = gr.JSON(value={}, label="settings")
        api_clip = gr.File(label="preview")
        api_info = gr.JSON(label="info")
        api_button = gr.Button("preview")

    def preview(audio_path, video_path, settings):
        if trials is None:
            raise gr.Error("previews are not available in this app")
        if not audio_path or not video_path:
            raise gr.Error("/preview needs an audio and a video")
        try:
            result = trials.render(Path(audio_path), Path(video_path), settings or {}, overlay=False)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        info = {
            "duration": result.duration,
            "seconds": result.seconds,
            "frames": result.frames,
            "frames_without_face": result.frames_without_face,
            "engine": result.engine,
            "enhancer": result.enhancer,
            "side_by_side": result.side_by_side,
        }
        return str(result.path), info

    api_button.click(
        preview,
        [api_audio, api_video, api_settings],
        [api_clip, api_info],
        api_name="preview",
        concurrency_limit=1,
    )
