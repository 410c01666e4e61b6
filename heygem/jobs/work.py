"""What a worker is handed (:class:`WorkItem`) and what it says of its models (:class:`EngineStatus`).

Light on purpose: the app host and the Celery dispatcher use these without loading any model
code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from heygem.jobs.records import Item
from heygem.jobs.workspace import Workspace
from heygem.states import EngineState


@dataclass
class EngineStatus:
    state: EngineState = EngineState.LOADING
    since: float = field(default_factory=time.time)  # when loading started
    load_seconds: float | None = None
    engine: str = ""
    detector: str = ""
    device: str = ""
    checkpoint: str | None = None
    error: str | None = None
    runtime: str = ""  # where the Wav2Lip network runs (torch, openvino, openvino-int8...); "" for loudness
    int8_gate: dict | None = None  # the int8 gate's verdict when it chose the runtime
    # (heygem.lipsync.gate.Int8Verdict's fields: passed, mean, p99_9, checkpoint_sha256, measured...)


@dataclass(frozen=True)
class WorkItem:
    """One (narration, video) pair of a batch, as a worker needs it (paths already resolved
    for this machine)."""

    batch_id: str
    idx: int
    name: str  # the name it was uploaded with
    audio: Path  # the pair's narration
    video: Path  # the stored upload
    dest: Path  # its output; existing means finished
    work_dir: Path  # its finished chunks, kept until the video is complete
    settings: dict  # the pair's settings, as stored (only what the user gave)


def work_item(workspace: Workspace, audio: str, settings: dict, item: Item) -> WorkItem:
    """A stored item (of a batch with this narration and settings) as a worker here needs it:
    its own narration and a manifest row's own settings, where it has them, win."""
    work_dir = workspace.work_dir(item.batch_id, item.idx)
    audio_path = Path(item.audio or audio)
    chosen = {**settings, **json.loads(item.overrides)} if item.overrides else settings
    return WorkItem(
        item.batch_id, item.idx, item.name, audio_path, Path(item.video), Path(item.dest), work_dir, chosen
    )
