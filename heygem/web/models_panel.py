"""The app's offer to download weights, under the header, and its API.

While the loudness engine runs (no weights), a button offers the Wav2Lip weights with their
size; while a face enhancer's weights are missing, a second one offers those. Either opens that
model's licence and the consent box; the download then runs in the background (batches go on)
with a live bar polled by the page's timer, and for Wav2Lip the engine switches for the next
video. A failure shows the manual block (file, size, SHA-256, URLs, where to put it). The same
through gradio_client: ``/download_models`` and ``/download_status``.
"""

from __future__ import annotations

import html
import time

import gradio as gr

from heygem.errors import HeygemError
from heygem.lipsync import ModelFile
from heygem.media import human_size
from heygem.states import EngineState
from heygem.web.i18n import request_lang, tr
from heygem.web.live import PRIVATE, TICK, header_html
from heygem.web.views import bar, fmt_duration
from heygem.web.weights_install import DownloadPhase, DownloadState, WeightsInstaller


def models_panel(service, t, demo: gr.Blocks, header: gr.HTML) -> None:
    """The offer, the consent and the live download bar of ``service.weights``; the offer shows
    while the worker's engine is "loudness" (no weights). Its timer ticks only while the model
    loads or a download runs; each tick also refreshes the page's ``header`` (the engine line),
    so its last one shows the new engine."""
    installer = service.weights

    def engine_status():
        return service.worker.status

    timer = gr.Timer(1.0, active=False)
    consent_open = gr.State(False)
    chosen = gr.State("")  # the model the consent box is about ("": the Wav2Lip weights)
    shown = gr.State(None)  # what visibility the page has now, so unchanged ticks send nothing
    with gr.Column(visible=False, elem_id="hg-models") as box:
        with gr.Row():
            gr.HTML(elem_id="hg-models-spacer")  # puts the button on the right, under the engine line
            offer = gr.Button(
                "", variant="primary", scale=0, min_width=300, elem_id="hg-download-offer", visible=False
            )
            offer_enhancer = gr.Button(
                "", variant="secondary", scale=0, min_width=300, elem_id="hg-enhancer-offer", visible=False
            )
        with gr.Group(visible=False, elem_id="hg-consent") as consent:
            licence = gr.HTML(elem_id="hg-licence")
            accept = gr.Checkbox(label=t("licence_accept"), value=False, elem_id="hg-licence-accept")
            with gr.Row():
                go = gr.Button(
                    t("download_go"), variant="primary", scale=0, min_width=200, elem_id="hg-download-go"
                )
                back = gr.Button(t("download_not_now"), scale=0, min_width=120, elem_id="hg-download-back")
        progress = gr.HTML(elem_id="hg-download")

    def now(is_open, was_shown, request: gr.Request):
        page, *rest = _now(is_open, was_shown, request)
        running = state_running(installer) or engine_status().state == EngineState.LOADING
        return page, *rest, header_html(service, request), gr.Timer(active=running)

    def _now(is_open, was_shown, request: gr.Request):
        lang = request_lang(request)
        state = installer.state
        no_weights = engine_status().engine == "loudness"
        idle = state.phase in (DownloadPhase.IDLE, DownloadPhase.FAILED) and not is_open
        show_offer = no_weights and installer.offered is not None and idle
        enhancer = installer.enhancer_offered
        show_enhancer = enhancer is not None and idle
        busy = state.phase != DownloadPhase.IDLE
        visible = (no_weights or busy or show_enhancer, show_offer, show_enhancer, lang)
        page = download_html(state, lang)
        if visible == (tuple(was_shown) if was_shown else None):
            return page, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        label = tr("download_offer", lang, size=installer.offered.size_text) if installer.offered else ""
        enhancer_label = (
            tr("download_enhancer_offer", lang, file=enhancer.file, size=enhancer.size_text)
            if enhancer
            else ""
        )
        return (
            page,
            gr.update(visible=visible[0]),
            gr.update(visible=show_offer, value=label),
            gr.update(visible=show_enhancer, value=enhancer_label),
            list(visible),
        )

    def open_consent(name: str):
        def opened(request: gr.Request):
            model = installer.offered if not name else installer.enhancer_offered
            return (
                gr.update(visible=True),
                gr.update(visible=False),
                gr.update(visible=False),
                True,
                model.name if name and model else "",
                licence_html(model, request_lang(request)),
            )

        return opened

    def start(accepted: bool, name: str, request: gr.Request):
        lang = request_lang(request)
        if not accepted:
            gr.Warning(tr("licence_needed", lang), duration=5)
            return gr.skip(), gr.skip(), gr.skip()
        try:
            installer.start(name or None, accepted=True)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        return gr.update(visible=False), False, None

    ticked = ([consent_open, shown], [progress, box, offer, offer_enhancer, shown, header, timer])
    timer.tick(now, *ticked, **TICK)
    demo.load(now, *ticked, **TICK)
    consenting = [consent, offer, offer_enhancer, consent_open, chosen, licence]
    offer.click(open_consent(""), None, consenting, queue=False, **PRIVATE)
    offer_enhancer.click(open_consent("enhancer"), None, consenting, queue=False, **PRIVATE)
    # queued, so its warning shows; then the bar follows the download
    go.click(start, [accept, chosen], [consent, consent_open, shown], **PRIVATE).then(now, *ticked, **TICK)
    back.click(
        lambda: (gr.update(visible=False), False, None),
        None,
        [consent, consent_open, shown],
        queue=False,
        **PRIVATE,
    )
    download_api(installer)


def state_running(installer: WeightsInstaller) -> bool:
    """A download (or the engine switch after it) is under way."""
    return installer.state.phase in (DownloadPhase.DOWNLOADING, DownloadPhase.SWITCHING)


def download_api(installer: WeightsInstaller) -> None:
    """/download_models(accept_licence, model="") -> state; /download_status() -> state."""

    def download_models(accept_licence: bool, model: str = "") -> dict:
        """Start downloading the Wav2Lip weights (or ``model``) in the background; needs
        ``accept_licence=True``. Returns the download's state, as /download_status does."""
        try:
            return installer.start(model or None, accepted=accept_licence is True).as_dict()
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None

    def download_status() -> dict:
        """The download's phase, bytes done and total, rate, ETA, error and manual block."""
        return installer.state.as_dict()

    gr.api(download_models, api_name="download_models", concurrency_limit=None)
    gr.api(download_status, api_name="download_status", concurrency_limit=None)


def licence_html(model: ModelFile | None, lang: str) -> str:
    """A model's licence, as the consent box shows it before its download."""
    if model is None:
        return ""
    head = tr("licence_head", lang, file=model.file, size=model.size_text)
    return (
        f'<div class="hg-licence"><b>{html.escape(head)}</b>'
        f"<p>{html.escape(model.licence)}</p>"
        f"<small>{html.escape(tr('download_from', lang, where=model.urls[0]))}</small></div>"
    )


def download_html(state: DownloadState, lang: str) -> str:
    """The download's live panel: the bar while it runs, then the outcome."""
    if state.phase == DownloadPhase.IDLE:
        return ""
    opening = f'<div class="hg-download" data-phase="{state.phase}" data-done="{state.done_bytes}">'
    if state.phase == DownloadPhase.DOWNLOADING:
        figures = [
            f"{human_size(state.done_bytes)} / {human_size(state.total_bytes)}",
            f"{state.fraction * 100:.0f}%",
        ]
        if state.rate:
            figures.append(f"{human_size(int(state.rate))}/s")
        if state.eta_seconds is not None:
            figures.append(tr("eta", lang, time=fmt_duration(state.eta_seconds)))
        head = tr("download_running", lang, file=state.file)
        body = f"{bar(state.fraction)}<div class='hg-pct'>{html.escape(' · '.join(figures))}</div>"
        return f"{opening}<b>{html.escape(head)}</b>{body}</div>"
    if state.phase == DownloadPhase.INSTALLED and state.kind == "enhancer":
        text = tr("download_enhancer_installed", lang, file=state.file)
        return f'{opening}<b style="color:#16a34a">✓ {html.escape(text)}</b></div>'
    if state.phase == DownloadPhase.FAILED:
        text = tr("download_failed", lang, error=state.error or "")
        manual = f"<pre>{html.escape(state.manual)}</pre>" if state.manual else ""
        return f'{opening}<b style="color:#dc2626">✕ {html.escape(text)}</b>{manual}</div>'
    if state.phase == DownloadPhase.SWITCHING:
        text = tr("download_switching", lang, file=state.file)
    elif state.kind and state.kind != "wav2lip":
        text = tr("download_next_start", lang, file=state.file)
    elif state.engine == "wav2lip":
        text = tr("download_switched", lang, file=state.file)
    else:
        text = tr(
            "download_not_switched", lang, file=state.file, engine=state.engine, error=state.error or ""
        )
    return f'{opening}<b style="color:#16a34a">✓ {html.escape(text)}</b></div>'


def weights_note(installer: WeightsInstaller, lang: str) -> str:
    """The System tab's line on weights the app installed (Markdown; empty until then)."""
    state = installer.state
    if state.phase != DownloadPhase.INSTALLED or state.engine != "wav2lip":
        return ""
    when = time.strftime("%H:%M:%S", time.localtime(state.finished or time.time()))
    return "\n\n" + tr("weights_note", lang, file=state.file, time=when, engine=state.engine)
