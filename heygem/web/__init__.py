"""The web app: the Gradio UI and its API on one FastAPI server. Imports jobs (and below),
never torch, OpenCV, PyAV or librosa directly: a scale-out app host stays thin.

- ``service``: :class:`Service`, what the UI and the API do (submit, watch, cancel, history)
  and the state rules they share; ``intake``: a submission's files stored in its batch;
  ``batchstatus``: a batch as the JSON they answer; ``pairs``: the pairs a submission makes;
  ``ziptokens``: what a History zip holds, behind a short-lived token;
- ``ui``: :func:`build_ui`; ``tabs`` and ``history``: one function per tab;
  ``endpoints``: the gradio_client API; ``views``: HTML of plain data; ``i18n``: zh / en;
- ``server``: one FastAPI app, HTTP Basic login in front of every route; ``zipstream``: zips
  streamed as they are made;
- ``rest``: :func:`build_api`, the REST API under /api/v1 (``restforms``, ``uploads``: its
  submit form, streamed to disk; ``events``: Server-Sent Events; ``apischema``: its
  OpenAPI models; ``apierrors``: its error answers);
- ``logfile``: the realtime log file (set up by the entry point) and its tail;
- ``weights_install`` + ``models_panel``: the model weights fetched by the running app, its
  offer under the header, and ``/download_models``;
- ``gradiostubs``: Gradio imported without rewriting its type stubs (3 s of each start).
"""

from heygem import lazy_exports
from heygem.web.gradiostubs import skip_stub_rewrite

skip_stub_rewrite()

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "service": ["ConflictError", "NotFoundError", "Service", "SubmitError", "Upload"],
        "weights_install": ["WeightsInstaller"],
        "ui": ["CSS", "build_ui"],
        "server": ["basic_header", "build_app", "serve"],
        "rest": ["API_PREFIX", "build_api"],
        "zipstream": ["zip_routes"],
        "i18n": ["gradio_i18n"],
        "logfile": ["setup_logging"],
    },
)
