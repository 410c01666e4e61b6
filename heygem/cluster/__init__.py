"""Scale-out on Celery + Redis: the task GPU workers run, and the app's dispatcher.
Imports jobs (and below); independent of web.

- ``tasks``: the Celery app, the lip-sync task, its message format, ``run_worker``;
- ``dispatcher``: :class:`Dispatcher`, the app's side: send queued videos, follow them.
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "tasks": ["make_celery", "run_worker"],
        "dispatcher": ["Dispatcher"],
    },
)
