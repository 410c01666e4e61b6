"""What the job store holds: a batch and its (narration, video) pairs as dataclasses (the tables
they are read from: :mod:`heygem.jobs.schema`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from heygem.states import TERMINAL, BatchState, ItemStatus, batch_state


@dataclass
class Item:
    batch_id: str
    idx: int
    name: str
    video: str
    status: str
    dest: str = ""
    progress: float = 0.0
    stage: str = ""
    chunk: int = 0
    chunks: int = 0
    output: str | None = None
    error: str | None = None
    frames: int | None = None
    frames_without_face: int | None = None
    seconds: float | None = None
    attempts: int = 0
    task_id: str | None = None
    worker: str | None = None
    engine: str | None = None
    detector: str | None = None
    started: float | None = None
    finished: float | None = None
    audio: str = ""  # this pair's stored narration; '' for the batch's (stores made before pairs)
    audio_name: str = ""
    overrides: str = ""  # JSON of a manifest row's settings, over the batch's
    track_cached: int | None = None
    detected_frames: int | None = None
    detect_seconds: float | None = None
    resumed_chunks: int | None = None
    chunk_attempts: list[int] | None = None
    runtime: str | None = None
    enhancer: str | None = None
    presenter: str | None = None  # the library presenter it uses (its id); None: an upload

    @classmethod
    def from_row(cls, row) -> Item:
        """An ``items`` row (sqlite3.Row) -> Item."""
        data = dict(row)
        if data.get("chunk_attempts"):
            data["chunk_attempts"] = json.loads(data["chunk_attempts"])
        return cls(**data)


@dataclass(frozen=True)
class NewItem:
    """One (narration, video) pair as :meth:`heygem.jobs.store.JobStore.add_pairs` records it."""

    name: str  # the video's uploaded name
    video: str  # its stored copy
    dest: str  # its output path, unique in the batch
    error: str | None = None  # a reason it cannot run: recorded failed at once
    audio: str = ""  # the stored narration ('': the batch's)
    audio_name: str = ""  # the narration's uploaded name ('': the batch's)
    overrides: dict = field(default_factory=dict)  # its own settings: its presenter's, a manifest row's
    presenter: str | None = None  # the library presenter it uses (its id); None: an upload


@dataclass
class Outcome:
    """How an item ended, as :meth:`heygem.jobs.store.JobStore.finish_item` records it."""

    status: str  # done, failed or cancelled
    output: str | None = None  # the finished file
    error: str | None = None  # one-line reason
    frames: int | None = None
    frames_without_face: int | None = None
    seconds: float | None = None  # wall time of this attempt
    engine: str | None = None
    detector: str | None = None
    track_cached: bool | None = None  # the face track came from the cache
    detected_frames: int | None = None  # frames the face detector ran on
    detect_seconds: float | None = None  # wall time of the face-track pass
    resumed_chunks: int | None = None  # chunks kept from an earlier run
    chunk_attempts: list[int] | None = None  # per chunk, tries this run (0: resumed)
    runtime: str | None = None  # where the network ran (openvino-int8, openvino, torch...)
    enhancer: str | None = None  # the face enhancer that ran: gfpgan, restoreformer or none


@dataclass
class Batch:
    id: str
    seq: int
    created: float
    audio: str
    audio_name: str
    settings: dict
    cancel: bool
    finished: float | None
    notified: int  # 0 not (yet) sent, 1 sent, -1 given up
    notify_after: float | None = None  # unix time the notification's next try is due
    notify_attempts: int = 0
    notify_error: str | None = None
    run_started: float | None = None  # unix time of the last retry; None: the first run
    items: list[Item] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # uploaded files no pair uses

    def narration(self, item: Item) -> tuple[str, str]:
        """(stored path, uploaded name) of an item's narration."""
        return (item.audio or self.audio, item.audio_name or self.audio_name)

    @property
    def narrations(self) -> list[str]:
        """The uploaded names of its narrations, in item order."""
        return list(dict.fromkeys(self.narration(i)[1] for i in self.items)) or [self.audio_name]

    @property
    def notification(self) -> dict | None:
        """The notification's state (pending, sent or failed), tries and last error; None when
        there is none."""
        if self.notified == 1:
            state = "sent"
        elif self.notified == -1:
            state = "failed"
        elif self.notify_after is not None:
            state = "pending"
        else:
            return None
        return {"state": state, "attempts": self.notify_attempts, "error": self.notify_error}

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(map(str, ItemStatus), 0)
        for item in self.items:
            counts[item.status] += 1
        return counts

    @property
    def state(self) -> BatchState:
        """queued | running | done | partial (some failed) | failed | cancelled"""
        return batch_state(self.counts)

    def this_run(self) -> list[Item]:
        """The items of the current run: all of them, or after a retry those not finished
        before it (the videos done days ago are not this run's)."""
        since = self.run_started or 0.0
        return [i for i in self.items if not (i.finished and i.finished < since)]

    @property
    def fraction(self) -> float:
        if not self.items:
            return 1.0
        return sum(1.0 if i.status in TERMINAL else i.progress for i in self.items) / len(self.items)

    @classmethod
    def from_rows(cls, row, items) -> Batch:
        """A ``batches`` row and its ``items`` rows (sqlite3.Row) -> Batch."""
        data = dict(row)
        data["settings"] = json.loads(data["settings"])
        data["cancel"] = bool(data["cancel"])
        data["unmatched"] = json.loads(data["unmatched"]) if data.get("unmatched") else []
        return cls(**data, items=[Item.from_row(i) for i in items])
