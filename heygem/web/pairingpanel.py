"""The Batch tab's pairing panel: presenters from the library beside the uploads, the pairing
rule or a manifest, the table of the pairs Start would record, and those pairs as a manifest
template to download, fill in (settings per row) and upload back."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr

from heygem.settings import MANIFEST_EXTENSIONS
from heygem.web import views
from heygem.web.i18n import request_lang
from heygem.web.live import PRIVATE
from heygem.web.service import Service, Upload

# (label, value); bilingual, as a Radio's choices cannot be I18n keys
PAIRING_CHOICES = [
    ("每个音频 × 每个视频 · every narration × every video", "cross"),
    ("按顺序配对 · by order", "order"),
    ("按文件名配对 · by name (lesson01.wav ↔ lesson01.mp4)", "name"),
    ("清单 · manifest (CSV / JSON)", "manifest"),
]
TEMPLATE_NAME = "heygem-manifest.csv"
KEEP_SECONDS = 3600  # a template file's own folder is removed after this


def presenter_choices(service: Service) -> list[tuple[str, str]]:
    """(label, id) of every library presenter, for a multi-select."""
    return [(p.name, p.id) for p in service.presenters.all()]


def presenters_pick(service: Service, t) -> gr.Dropdown:
    """The library presenters a batch takes beside its uploads (choices filled by
    :func:`presenter_choices` when the tab is shown)."""
    return gr.Dropdown(
        choices=[], value=[], multiselect=True, label=t("from_library"), elem_id="hg-batch-presenters"
    )


def pairing_panel(service: Service, t, audio: gr.File, files: gr.File, presenters: gr.Dropdown) -> list:
    """The pairing choice, the manifest upload, the table of the pairs Start would record and
    its manifest template, kept up to date; returns [pairing, manifest]."""
    pairing = gr.Radio(PAIRING_CHOICES, value="cross", label=t("pairing"), elem_id="hg-pairing")
    manifest = gr.File(
        label=t("manifest"), file_types=list(MANIFEST_EXTENSIONS), visible=False, elem_id="hg-manifest"
    )
    table = gr.HTML(elem_id="hg-pairs")
    template = gr.DownloadButton(t("manifest_template"), visible=False, size="sm", elem_id="hg-template")

    def show(audios, videos, chosen, rule, listed, request: gr.Request):
        if not audios or not (videos or chosen) or (rule == "manifest" and not listed):
            return "", gr.update(visible=False)
        narrations = [Upload.of(p) for p in audios]
        given = [Upload.of(p) for p in videos or []]
        manifest_upload = Upload.of(listed) if rule == "manifest" else None
        plan = service.pair_plan(
            narrations, given, None if manifest_upload else rule, manifest_upload, chosen
        )
        offer = gr.update(visible=False)
        if plan.get("template"):
            offer = gr.update(value=str(_template_file(plan["template"])), visible=True)
        return views.pairs_html(plan, request_lang(request)), offer

    inputs = [audio, files, presenters, pairing, manifest]
    for component in inputs:
        component.change(show, inputs, [table, template], show_progress="hidden", **PRIVATE)
    pairing.change(
        lambda rule: gr.update(visible=rule == "manifest"), pairing, manifest, queue=False, **PRIVATE
    )
    return [pairing, manifest]


def _template_file(text: str) -> Path:
    """``text`` in a file of its own the page may download (the system's temp folder, which
    Gradio serves from; a new folder each time, so two pages never share one; Gradio keeps its
    own copy, so those over an hour old are removed here)."""
    now = time.time()
    for old in Path(tempfile.gettempdir()).glob("heygem-template-*"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="heygem-template-"))
    path = folder / TEMPLATE_NAME
    path.write_text(text, "utf-8")
    return path
