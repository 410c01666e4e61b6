"""The Gradio web UI, built inside a function: no module state, no torch, OpenCV or PyAV.

Handlers only talk to the :class:`~heygem.web.service.Service`; the work itself happens in
the worker thread, so a closed tab never stops a batch. Each tab is one function
(:mod:`heygem.web.tabs`, :mod:`heygem.web.history`); live views poll the job store with
``gr.Timer``. The gradio_client endpoints are in :mod:`heygem.web.endpoints`.
"""

from __future__ import annotations

import gradio as gr

from heygem.web import views
from heygem.web.endpoints import api_endpoints
from heygem.web.history import history_tab
from heygem.web.i18n import gradio_i18n, request_lang
from heygem.web.service import Service
from heygem.web.tabs import batch_tab, log_tab, single_tab, system_tab

CSS = """
.hg-items {width:100%; border-collapse:collapse; margin-top:8px}
.hg-items td, .hg-items th {padding:4px 8px; border-bottom:1px solid #e5e7eb; text-align:left}
.hg-head {margin-bottom:6px} .hg-pct {font-size:12px; color:#6b7280; margin-top:2px}
"""


def build_ui(service: Service, checkpoint_dir: str, retention_days: float | None = None) -> gr.Blocks:
    t = gradio_i18n()
    with gr.Blocks(title="HeyGem", delete_cache=(3600, 24 * 3600)) as demo:
        with gr.Row():
            gr.Markdown(t("title"), elem_id="hg-title")
            engine_html = gr.HTML(elem_id="hg-engine")
        fast, slow = gr.Timer(1.0), gr.Timer(2.0)
        with gr.Tabs():
            with gr.Tab(t("tab_batch"), id="batch"):
                setting_inputs = batch_tab(service, t, fast, demo)
            with gr.Tab(t("tab_single"), id="single"):
                single_tab(service, t, fast, setting_inputs)
            with gr.Tab(t("tab_history"), id="history") as history:
                history_tab(service, t, retention_days, history)
            with gr.Tab(t("tab_log"), id="log"):
                log_tab(service, t, slow)
            with gr.Tab(t("tab_system"), id="system"):
                system_tab(service, t, slow, checkpoint_dir, retention_days)

        def engine_now(request: gr.Request):
            return views.engine_line(service.worker.status, request_lang(request), service.worker.health)

        fast.tick(engine_now, None, engine_html, concurrency_limit=None, show_progress="hidden")
        demo.load(engine_now, None, engine_html)
        api_endpoints(service)
    return demo
