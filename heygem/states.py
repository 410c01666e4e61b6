"""The states things move through, as string enums: the wire format is the plain strings."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class ItemStatus(StrEnum):
    """One video of a batch: queued -> running -> a terminal state. It goes back to queued when
    a user retries it (failed or cancelled), when the app restarts while it ran, or when its
    Celery task was lost."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = (ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.CANCELLED)


class BatchState(StrEnum):
    QUEUED = "queued"  # videos wait and none runs (some may have finished, or failed at submit)
    RUNNING = "running"  # one of its videos runs
    DONE = "done"  # every video done
    PARTIAL = "partial"  # finished, some done and some failed
    FAILED = "failed"  # finished, none done
    CANCELLED = "cancelled"


FINISHED_STATES = (BatchState.DONE, BatchState.PARTIAL, BatchState.FAILED, BatchState.CANCELLED)
# A batch in one of these no longer changes (until a user retries it).


def batch_state(counts: Mapping[str, int]) -> BatchState:
    """A batch's state from how many of its videos are in each :class:`ItemStatus`: running
    only while one of them runs, so a batch waiting its turn keeps its place in the queue."""
    if counts.get(ItemStatus.RUNNING):
        return BatchState.RUNNING
    if counts.get(ItemStatus.QUEUED):
        return BatchState.QUEUED
    if counts.get(ItemStatus.CANCELLED):
        return BatchState.CANCELLED
    if counts.get(ItemStatus.FAILED):
        return BatchState.PARTIAL if counts.get(ItemStatus.DONE) else BatchState.FAILED
    return BatchState.DONE


class Stage(StrEnum):
    """Where a running video is (its progress bar's label)."""

    PROBING = "probing"
    DETECTING = "detecting"
    LIPSYNC = "lipsync"
    MUXING = "muxing"
    DONE = "done"


class TrackPrep(StrEnum):
    """A library presenter's face track, made ahead of its batches by the worker."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the reason is kept; a batch using it detects the faces itself
    LATER = "later"  # scale-out: the workers make it when a batch first uses the presenter


class LoopState(StrEnum):
    """The queue's background thread (the in-process worker or the dispatcher)."""

    OK = "ok"
    RETRYING = "retrying"  # its last round failed; it waits, then tries again
    DOWN = "down"  # several rounds in a row failed (it still retries), or the thread ended


class EngineState(StrEnum):
    """The worker's models, as the header shows them."""

    LOADING = "loading"
    READY = "ready"
    ERROR = "error"
