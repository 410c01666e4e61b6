"""The Gradio web UI, built inside a function: no module state, no torch, OpenCV or PyAV.

Handlers only talk to the :class:`~heygem.web.service.Service`; the work itself happens in
the worker thread, so a closed tab never stops a batch. Each tab is one function
(:mod:`heygem.web.batchtab`, :mod:`heygem.web.librarytab`, :mod:`heygem.web.tabs`,
:mod:`heygem.web.history`); live views poll the job store with a
``gr.Timer`` each, only while their tab is shown (:mod:`heygem.web.live`). The gradio_client
endpoints are in :mod:`heygem.web.endpoints`; every other event is private.
"""

from __future__ import annotations

import gradio as gr

from heygem.web.batchtab import batch_tab
from heygem.web.endpoints import api_endpoints
from heygem.web.history import history_tab
from heygem.web.i18n import gradio_i18n
from heygem.web.librarytab import library_tab
from heygem.web.live import PRIVATE, TICK, header_html, header_needs_ticking, wire_tabs
from heygem.web.models_panel import models_panel
from heygem.web.preview import preview_endpoint
from heygem.web.service import Service
from heygem.web.tabs import log_tab, single_tab, system_tab

CSS = """
.hg-items {width:100%; border-collapse:collapse; margin-top:8px}
.hg-items td, .hg-items th {padding:4px 8px; border-bottom:1px solid #e5e7eb; text-align:left}
.hg-head {margin-bottom:6px} .hg-pct {font-size:12px; color:#6b7280; margin-top:2px}
"""


def build_ui(
    service: Service, checkpoint_dir: str, retention_days: float | None = None, trials=None
) -> gr.Blocks:
    """trials: a :class:`heygem.lipsync.trialrender.TrialRender` for "Preview 2 s" (None: off)."""
    t = gradio_i18n()
    with gr.Blocks(title="HeyGem", delete_cache=(3600, 24 * 3600)) as demo:
        with gr.Row():
            gr.Markdown(t("title"), elem_id="hg-title")
            header = gr.HTML(elem_id="hg-engine")
        if service.weights is not None:  # the app runs its models itself: it can fetch them
            models_panel(service, t, demo, header)
        with gr.Tabs():
            with gr.Tab(t("tab_batch"), id="batch") as batch:
                batch_live = batch_tab(service, t, demo, header, batch, trials)
            with gr.Tab(t("tab_presenters"), id="presenters") as presenters:
                library_live = library_tab(service, t, trials)
            with gr.Tab(t("tab_single"), id="single") as single:
                single_live = single_tab(service, t, demo, header, trials)
            with gr.Tab(t("tab_history"), id="history") as history:
                history_tab(service, t, retention_days, history)
            with gr.Tab(t("tab_log"), id="log") as log:
                log_live = log_tab(service, t)
            with gr.Tab(t("tab_system"), id="system") as system:
                system_live = system_tab(service, t, checkpoint_dir, retention_days, header)
        tabs = {
            "batch": batch,
            "presenters": presenters,
            "single": single,
            "history": history,
            "log": log,
            "system": system,
        }
        lives = {
            "batch": batch_live,
            "presenters": library_live,
            "single": single_live,
            "log": log_live,
            "system": system_live,
        }
        wire_tabs(tabs, lives)

        # The live views refresh the header; on its own it ticks only while the model loads
        # (its seconds count) or the queue is unwell, so it shows when that ends.
        header_timer = gr.Timer(1.0)

        def header_now(request: gr.Request):
            return header_html(service, request), gr.Timer(active=header_needs_ticking(service))

        header_timer.tick(header_now, None, [header, header_timer], **TICK)
        demo.load(header_now, None, [header, header_timer], **PRIVATE)
        api_endpoints(service)
        preview_endpoint(trials)
    return demo
