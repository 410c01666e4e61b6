"""The Batch tab: narrations onto uploaded videos and library presenters, paired by a rule or a
manifest; the live panel of the batch it watches; the queue of every unfinished batch, each
one to watch or cancel.

A page opened (or reloaded) watches the running batch, else the one that runs next
(:meth:`~heygem.web.service.Service.latest_batch_id`), so its Cancel stops what it shows. The
Queue panel lists every unfinished batch in run order with its ETA and the whole queue's;
"Watch" makes the tab follow the batch picked there, "Cancel this batch" stops it. A finished
batch offers its outputs as one zip (the REST API's archive, streamed).
"""

from __future__ import annotations

import gradio as gr

from heygem.errors import HeygemError
from heygem.settings import IMAGE_EXTENSIONS, NARRATION_EXTENSIONS, VIDEO_EXTENSIONS
from heygem.web.forms import (
    new_request_id,
    offered,
    paths_of,
    settings_of,
    settings_panel,
    start_handler,
    watch,
    wire_start,
)
from heygem.web.i18n import refusal_text, request_lang, tr
from heygem.web.live import NOW, PRIVATE, TICK, Live, header_html
from heygem.web.pairingpanel import pairing_panel, presenter_choices, presenters_pick
from heygem.web.preview import preview_panel
from heygem.web.queue import queue_html
from heygem.web.service import Service

VIDEO_TYPES = sorted(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
AUDIO_TYPES = sorted(NARRATION_EXTENSIONS)  # a video's soundtrack too


def cancel_handler(service: Service):
    """A Cancel button's handler on a batch id: the service's rules (finished, already
    stopping) answered with a warning in the page's language."""

    def cancel(batch_id, request: gr.Request):
        if not batch_id:
            return
        lang = request_lang(request)
        try:
            service.cancel(batch_id)
        except HeygemError as exc:  # the REST API's rules too
            gr.Warning(refusal_text(exc, lang, batch_id))
            return
        gr.Info(tr("cancel_sent", lang))

    return cancel


def batch_tab(service: Service, t, demo: gr.Blocks, header: gr.HTML, tab: gr.Tab, trials=None) -> Live:
    current = gr.State(None)  # the batch this tab watches
    shown = gr.State([])  # outputs offered in the player list
    queued = gr.State([])  # ids of the unfinished batches the queue's pick offers
    request_id = gr.State(None)  # this page's id for its next Start
    timer = gr.Timer(1.0, active=False)
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.File(
                label=t("audios"), file_count="multiple", file_types=AUDIO_TYPES, elem_id="hg-audio"
            )
            files = gr.File(
                label=t("videos"), file_count="multiple", file_types=VIDEO_TYPES, elem_id="hg-videos"
            )
            presenters = presenters_pick(service, t)
            pairing_inputs = pairing_panel(service, t, audio, files, presenters)
            setting_inputs = settings_panel(t, "hg-batch")
            extra = preview_panel(trials, t, "hg-batch", audio, files, paths_of, setting_inputs, settings_of)
            with gr.Row():
                start = gr.Button(t("start_batch"), variant="primary", elem_id="hg-start")
                cancel = gr.Button(t("cancel"), variant="stop", elem_id="hg-cancel")
        with gr.Column(scale=2):
            live_html = gr.HTML(elem_id="hg-live")
            with gr.Accordion(t("queue"), open=True, elem_id="hg-queue-panel"):
                queue_panel = gr.HTML(elem_id="hg-queue")
                with gr.Row():
                    queue_pick = gr.Dropdown(label=t("queue_pick"), choices=[], elem_id="hg-queue-pick")
                    watch_button = gr.Button(t("watch"), size="sm", elem_id="hg-queue-watch")
                    cancel_picked = gr.Button(
                        t("cancel_picked"), size="sm", variant="stop", elem_id="hg-queue-cancel"
                    )
            play_pick = gr.Dropdown(label=t("play_output"), choices=[], elem_id="hg-play-pick")
            player = gr.Video(label=t("result"), interactive=False, elem_id="hg-player")

    def live(batch_id, shown_outputs, picked, queue_ids, in_queue, request: gr.Request):
        html, outputs, finished = watch(service, batch_id, request)
        choices = gr.skip() if outputs == shown_outputs else offered(outputs, picked)
        queue = service.queue()
        ids = [row["batch_id"] for row in queue["batches"]]
        offer = gr.skip()
        if ids != queue_ids:
            labels = [
                (f"{row['position'] + 1}. {row['batch_id']}", row["batch_id"]) for row in queue["batches"]
            ]
            keep = in_queue if in_queue in ids else (ids[0] if ids else None)
            offer = gr.update(choices=labels, value=keep)
        page = queue_html(queue, batch_id, request_lang(request))
        ticking = not finished or bool(ids)  # the queue moves on after the watched batch ends
        return (
            html,
            choices,
            outputs,
            page,
            offer,
            ids,
            header_html(service, request),
            gr.Timer(active=ticking),
        )

    live_parts = (
        [current, shown, play_pick, queued, queue_pick],
        [live_html, play_pick, shown, queue_panel, queue_pick, queued, header, timer],
    )
    start_inputs = [audio, files, *pairing_inputs, presenters, request_id, *setting_inputs, extra]
    wire_start(start, start_handler(service, paths_of), start_inputs, current, request_id).then(
        live, *live_parts, **PRIVATE
    )
    cancel.click(cancel_handler(service), current, None, **NOW).then(live, *live_parts, **PRIVATE)
    cancel_picked.click(cancel_handler(service), queue_pick, None, **NOW).then(live, *live_parts, **PRIVATE)

    def watch_picked(batch_id, request: gr.Request):
        if not batch_id:
            raise gr.Error(tr("no_batch_picked", request_lang(request)))
        gr.Info(tr("watching", request_lang(request), id=batch_id))
        return batch_id

    watch_button.click(watch_picked, queue_pick, current, **PRIVATE).then(live, *live_parts, **PRIVATE)
    play_pick.change(lambda p: p or None, play_pick, player, queue=False, **PRIVATE)

    def offer_presenters(chosen):
        choices = presenter_choices(service)
        known = {value for _, value in choices}
        return gr.update(choices=choices, value=[c for c in chosen or [] if c in known])

    for shown_again in (demo.load, tab.select):
        shown_again(offer_presenters, presenters, presenters, **PRIVATE)
    demo.load(new_request_id, None, request_id, queue=False, **PRIVATE)
    demo.load(lambda: service.latest_batch_id(), None, current, **PRIVATE).then(live, *live_parts, **PRIVATE)
    timer.tick(live, *live_parts, **TICK)
    return Live(timer, live, *live_parts)
