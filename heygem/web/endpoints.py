"""The gradio_client API: /submit_batch, /batch_status and /cancel_batch, stable names.

client.predict(audio, [videos], {settings}, api_name="/submit_batch") -> batch id
"""

from __future__ import annotations

import gradio as gr

from heygem.errors import HeygemError
from heygem.web.service import Service, Upload


def api_endpoints(service: Service) -> None:
    """/submit_batch(audio, videos, settings={}) -> batch id; /batch_status; /cancel_batch."""
    with gr.Row(visible=False):  # file inputs need components so that uploads work as usual
        api_audio = gr.File(label="audio")
        api_videos = gr.File(label="videos", file_count="multiple")
        api_settings = gr.JSON(value={}, label="settings")
        api_id = gr.Textbox(label="batch_id")
        api_submit = gr.Button("submit")

    def submit_batch(audio_path, video_paths, settings):
        audio = Upload.of(audio_path) if audio_path else None
        try:
            return service.submit(audio, [Upload.of(p) for p in video_paths or []], settings or {})
        except HeygemError as exc:
            raise gr.Error(str(exc)) from None

    api_submit.click(submit_batch, [api_audio, api_videos, api_settings], api_id, api_name="submit_batch")

    def batch_status(batch_id: str) -> dict:
        """State of a batch and of each of its videos."""
        return service.status(batch_id)

    def cancel_batch(batch_id: str) -> dict:
        """Cancel a batch: queued videos at once, the running one after its current chunk."""
        return service.cancel(batch_id)

    gr.api(batch_status, api_name="batch_status", concurrency_limit=None)
    gr.api(cancel_batch, api_name="cancel_batch", concurrency_limit=None)
