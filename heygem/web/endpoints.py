"""The gradio_client API: /submit_batch, /batch_status, /cancel_batch, /add_presenter and
/presenters, stable names.

client.predict(audio, [videos], {settings}, api_name="/submit_batch") -> batch id

Several narrations: ``audios=[...]`` (with or instead of ``audio``) and a ``"pairing"`` of
cross (default), order or name in the settings; or ``manifest=`` a CSV / JSON file whose
rows name the uploaded files. Library presenters: ``presenters=["Anna", ...]`` (names or ids;
with them, ``videos`` may be empty), added once with /add_presenter.
"""

from __future__ import annotations

import gradio as gr

from heygem.errors import HeygemError
from heygem.web.service import Service, Upload


def api_endpoints(service: Service) -> None:
    """/submit_batch(audio, videos, settings={}, audios=None, manifest=None, presenters=None)
    -> batch id; /batch_status; /cancel_batch; /add_presenter(file, name=None, settings=None) ->
    the presenter; /presenters -> the library."""
    with gr.Row(visible=False):  # file inputs need components so that uploads work as usual
        api_audio = gr.File(label="audio")
        api_videos = gr.File(label="videos", file_count="multiple")
        api_settings = gr.JSON(value={}, label="settings")
        api_audios = gr.File(label="audios", file_count="multiple")
        api_manifest = gr.File(label="manifest")
        api_presenters = gr.JSON(value=[], label="presenters")
        api_id = gr.Textbox(label="batch_id")
        api_submit = gr.Button("submit")
        api_file = gr.File(label="file")
        api_name = gr.Textbox(label="name")
        api_presenter = gr.JSON(label="presenter")
        api_add = gr.Button("add presenter")

    # Defaults of None make the later parameters optional for gradio_client.
    def submit_batch(audio=None, videos=None, settings=None, audios=None, manifest=None, presenters=None):
        narrations = [Upload.of(p) for p in [audio, *(audios or [])] if p]
        listed = Upload.of(manifest) if manifest else None
        chosen = [presenters] if isinstance(presenters, str) else list(presenters or [])
        try:
            return service.submit(
                narrations, [Upload.of(p) for p in videos or []], settings or {}, None, listed, chosen
            )
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None

    inputs = [api_audio, api_videos, api_settings, api_audios, api_manifest, api_presenters]
    api_submit.click(submit_batch, inputs, api_id, api_name="submit_batch")

    def add_presenter(file, name=None, settings=None) -> dict:
        """Add a presenter video or still to the library (stored once by its content)."""
        if not file:
            raise gr.Error("/add_presenter needs a file")
        try:
            presenter, _ = service.presenters.add(Upload.of(file), name or None, settings or None)
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None
        return service.presenters.document(presenter)

    api_add.click(add_presenter, [api_file, api_name, api_settings], api_presenter, api_name="add_presenter")

    def presenters() -> list[dict]:
        """The presenter library, by name."""
        return [service.presenters.document(p) for p in service.presenters.all()]

    def batch_status(batch_id: str) -> dict:
        """State of a batch and of each of its videos."""
        return service.status(batch_id)

    def cancel_batch(batch_id: str) -> dict:
        """Cancel a batch: queued videos at once, the running one after its current chunk."""
        try:
            return service.cancel(batch_id)
        except HeygemError as exc:  # unknown, finished or already stopping
            raise gr.Error(str(exc)) from None

    gr.api(batch_status, api_name="batch_status", concurrency_limit=None)
    gr.api(cancel_batch, api_name="cancel_batch", concurrency_limit=None)
    gr.api(presenters, api_name="presenters", concurrency_limit=None)
