"""``batch.json``: what a batch did, one schema for the command line and the app.

Written whole after every video (:func:`heygem.media.replacing`), so a reader never sees half
of it. The app's manifest (and its notification POST) add ``batch_id`` and, in scale-out
mode, each video's ``worker``; the CLI leaves them null. Each entry of ``videos`` is one
(narration, video) pair and names its ``audio``; the top-level ``audio`` is the narration
when the batch has one (null when several: ``audios`` lists them). See docs/outputs.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from heygem.media.files import replacing
from heygem.states import ItemStatus, batch_state

MANIFEST_NAME = "batch.json"
FORMAT = 1  # bump when a field changes meaning; new fields may appear without it


@dataclass
class ManifestEntry:
    video: str  # the input as given: a path (CLI) or the uploaded name (app)
    status: str  # an ItemStatus
    output: str | None = None  # the finished file
    error: str | None = None  # one-line reason when failed or cancelled
    frames: int | None = None  # output frames
    frames_without_face: int | None = None  # of which passed through unchanged
    seconds: float | None = None  # wall time of its last attempt
    engine: str | None = None  # engine and detector that made it
    detector: str | None = None
    worker: str | None = None  # scale-out: the machine that made it
    audio: str | None = None  # the pair's narration: a path (CLI) or the uploaded name (app)
    track_cached: bool | None = None  # its face track came from the cache (no detection)
    detected_frames: int | None = None  # frames the face detector ran on (0 when cached)
    detect_seconds: float | None = None  # wall time of the face-track pass (hashing included)
    runtime: str | None = None  # where the network ran (openvino-int8, openvino, torch...); null: loudness
    enhancer: str | None = None  # the face enhancer that ran: gfpgan, restoreformer or none


@dataclass
class Manifest:
    audio: str  # the narration as given (the first one, when the pairs have several)
    settings: dict  # the batch's settings as given
    seconds: float  # wall time of the batch so far
    videos: list[ManifestEntry] = field(default_factory=list)  # one per (narration, video) pair
    batch_id: str | None = None  # the app's batch id
    unmatched: list[str] = field(default_factory=list)  # files the pairing left out (never run)

    def to_json(self) -> dict:
        counts = dict.fromkeys(ItemStatus, 0)
        for entry in self.videos:
            counts[ItemStatus(entry.status)] += 1
        narrations = list(dict.fromkeys(e.audio for e in self.videos if e.audio)) or [self.audio]
        return {
            "format": FORMAT,
            "batch_id": self.batch_id,
            "state": str(batch_state(counts)),
            "counts": {str(status): n for status, n in counts.items()},
            "audio": narrations[0] if len(narrations) == 1 else None,  # None: see "audios"
            "audios": narrations,
            "settings": self.settings,
            "seconds": round(self.seconds, 2),
            "videos": [asdict(entry) for entry in self.videos],
            "unmatched": self.unmatched,
        }


def done_entries(folder: Path) -> dict[tuple[str, str, str], ManifestEntry]:
    """The pairs ``folder/batch.json`` says were made and whose output is still there, by
    (audio, video, output) as it records them; {} when there is no readable batch.json."""
    try:
        document = json.loads((Path(folder) / MANIFEST_NAME).read_text("utf-8"))
        entries = [ManifestEntry(**entry) for entry in document["videos"]]
    except (OSError, ValueError, TypeError, KeyError):
        return {}
    return {
        (e.audio or "", e.video, e.output): e
        for e in entries
        if e.status == ItemStatus.DONE and e.output and Path(e.output).is_file()
    }


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``folder/batch.json`` atomically; returns its path."""
    path = Path(folder) / MANIFEST_NAME
    with replacing(path) as temp:
        temp.write_text(json.dumps(manifest.to_json(), ensure_ascii=False, indent=2), "utf-8")
    return path
