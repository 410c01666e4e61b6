"""The gradio_client API: /submit_batch, /batch_status and /cancel_batch, stable names.

client.predict(audio, [videos], {settings}, api_name="/submit_batch") -> batch id

Several narrations: ``audios=[...]`` (with or instead of ``audio``) and a ``"pairing"`` of
cross (default), order or name in the settings; or ``manifest=`` a CSV / JSON file whose
rows name the uploaded files.
"""

from __future__ import annotations

import gradio as gr

from heygem.errors import HeygemError
from heygem.web.service import Service, Upload


def api_endpoints(service: Service) -> None:
    """/submit_batch(audio, videos, settings={}, audios=None, manifest=None) -> batch id;
    /batch_status; /cancel_batch."""
    with gr.Row(visible=False):  # file inputs need components so that uploads work as usual
        api_audio = gr.File(label="audio")
        api_videos = gr.File(label="videos", file_count="multiple")
        api_settings = gr.JSON(value={}, label="settings")
        api_audios = gr.File(label="audios", file_count="multiple")
        api_manifest = gr.File(label="manifest")
        api_id = gr.Textbox(label="batch_id")
        api_submit = gr.Button("submit")

    # Defaults of None make the later parameters optional for gradio_client.
    def submit_batch(audio=None, videos=None, settings=None, audios=None, manifest=None):
        narrations = [Upload.of(p) for p in [audio, *(audios or [])] if p]
        listed = Upload.of(manifest) if manifest else None
        try:
            return service.submit(
                narrations, [Upload.of(p) for p in videos or []], settings or {}, None, listed
            )
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None

    inputs = [api_audio, api_videos, api_settings, api_audios, api_manifest]
    api_submit.click(submit_batch, inputs, api_id, api_name="submit_batch")

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
