"""HeyGem: lip-sync narrations onto many presenter videos.

One folder per layer; each may import only the folders below it (checked by import-linter in
the test command, see README "Layout"):

    cli, app.py     entry points
    web | cluster   the Gradio app and REST API | Celery scale-out
    jobs            the durable queue: SQLite store, workspace, workers
    lipsync         one video end to end: models, engines, chunked renderer, CLI batch
    enhance         the face enhancer after any engine: restorers, alignment, runtimes
    faces | net     detectors and the face track of a video | resumable verified downloads
    media           ffmpeg, audio and mel, video decode, encode, whole-file writes

``settings``, ``states`` and ``errors`` are plain leaves every layer may use; ``testing`` is
generated media and helper processes for tests and benchmarks, never imported at run time.

The package logs through ``logging.getLogger("heygem")`` and never configures handlers;
entry points (``app.py``, ``python -m heygem``) do.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

__version__ = "0.2.0"


def lazy_exports(package: str, modules: dict[str, list[str]]) -> tuple[Callable, Callable, list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for a layer's ``__init__``: each name in
    ``modules`` ({submodule: [names]}) is imported from its submodule on first use (PEP 562).

    So ``from heygem.jobs import JobStore`` loads the store alone, never the torch and OpenCV
    that a sibling module (the item runner) needs: a thin app host stays thin.
    """
    where: dict[str, str] = {}
    for module, names in modules.items():
        for name in names:
            if name in where:  # two modules' names would shadow each other silently
                raise ImportError(f"{package} exports {name!r} from both {where[name]} and {module}")
            where[name] = module

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
