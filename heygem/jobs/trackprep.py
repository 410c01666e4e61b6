"""A library presenter's face track, made by the worker ahead of the batches that use it.

When a presenter is added (or the face it follows changes), its track waits in the store
(:class:`~heygem.states.TrackPrep` queued); the in-process worker makes it between two videos,
before the next video of any batch, with the process's detector and the presenter's own
settings, into the face-track cache that every batch reads (keyed by the file's content, so
each batch's hard link of the file finds it). Progress goes to the store, throttled. A file the
detector cannot read fails the track with its reason; batches using the presenter then detect
the faces themselves. In scale-out mode the app host has no detector: the state is ``later``,
and the workers make the track when a batch first uses the presenter.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from heygem.errors import describe
from heygem.jobs.runner import ItemRunner
from heygem.jobs.store import JobStore
from heygem.states import TrackPrep

log = logging.getLogger("heygem")

PROGRESS_EVERY = 0.5  # seconds between progress writes


def prepare_next_track(store: JobStore, runner: ItemRunner) -> bool:
    """Make the oldest waiting presenter's track; False when none waits."""
    presenter = store.claim_presenter_track()
    if presenter is None:
        return False
    started = time.monotonic()
    last = [0.0]

    def report(p) -> None:
        now = time.monotonic()
        if p.frames_total and now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            store.presenter_track_progress(presenter.id, min(1.0, p.frames_done / p.frames_total))

    log.info("presenter %s: making its face track ahead of its batches", presenter.name)
    try:
        result = runner.prepare(Path(presenter.file), presenter.settings, report)
    except Exception as exc:
        error = describe(exc)
        log.error("presenter %s: its face track could not be made: %s", presenter.name, error)
        store.finish_presenter_track(presenter.id, TrackPrep.FAILED, error)
        return True
    seconds = round(time.monotonic() - started, 2)
    frames = len(result.track.boxes)
    store.finish_presenter_track(presenter.id, TrackPrep.DONE, None, frames, seconds)
    where = "already cached" if result.cached else f"made in {seconds:.1f} s"
    log.info("presenter %s: face track of %d frames %s", presenter.name, frames, where)
    return True
