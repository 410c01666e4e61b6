"""Live views: what a tab shows while it is visible, kept fresh by a timer of its own.

Each tab with a live view owns one ``gr.Timer``, inactive until the tab is shown: showing a
tab runs its view once and starts its timer, leaving it stops the timer, and a view that has
nothing left to follow (its batch finished) stops its own timer (its handler returns the
timer's new state, last). So an open page polls only for the tab in front of the user, and
not at all once there is nothing to watch. Every event wired here is private: only the
documented endpoints (:mod:`heygem.web.endpoints`) are public.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from heygem.web import views
from heygem.web.i18n import request_lang

PRIVATE = {"api_visibility": "private"}  # an event of the page, not an endpoint of the API
TICK = {"concurrency_limit": None, "show_progress": "hidden", **PRIVATE}  # how live handlers run
# An action that must not wait behind others (Cancel), with its toast: queued (a toast needs the
# queue's connection), never limited.
NOW = {"concurrency_limit": None, **PRIVATE}


@dataclass
class Live:
    timer: gr.Timer  # ticks the view while it is shown and has something to follow
    show: Callable  # run when its tab is shown; returns ``outputs``' values, the timer's last
    inputs: list
    outputs: list  # the components ``show`` updates, ending with ``timer``


def wire_tabs(tabs: dict[str, gr.Tab], lives: dict[str, Live]) -> None:
    """Showing a tab stops every other tab's timer and shows its own live view, if any."""
    for name, tab in tabs.items():
        others = [live.timer for other, live in lives.items() if other != name]
        tab.select(_stopper(len(others)), None, others, **TICK)
        if name in lives:
            live = lives[name]
            tab.select(live.show, live.inputs, live.outputs, **TICK)


def _stopper(count: int) -> Callable:
    """A handler stopping ``count`` timers."""

    def stop():
        return [gr.Timer(active=False)] * count if count > 1 else gr.Timer(active=False)

    return stop


def header_html(service, request: gr.Request) -> str:
    """The header's line: the models' state, or why the queue does not move."""
    return views.engine_line(service.worker.status, request_lang(request), service.worker.health)


def header_needs_ticking(service) -> bool:
    """While the model loads (its seconds count up) or the queue is unwell, the header follows
    on its own; otherwise the live views refresh it."""
    return service.worker.status.state == "loading" or service.worker.health.state != "ok"
