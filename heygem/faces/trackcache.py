"""Face tracks cached on disk, so a video seen before skips face detection.

An entry is keyed by the SHA-256 of the video file's bytes plus everything that shapes its
track (detector, detection size, keyframe policy, smoothing, track format); renaming or
touching a file keeps its entry, changing one byte of it or any of those settings does not.
An entry holds the track of the first N frames of the timeline; a later run needing at most N
frames uses its first rows, one needing more detects again and replaces it. The folder is
capped in bytes: the least recently used entries go first. ``python -m heygem cache clear``
empties it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from heygem.faces.track import FaceTrack
from heygem.settings import default_cache_dir

log = logging.getLogger("heygem")

TRACK_FORMAT = 3  # bump when the way tracks are built changes: old entries stop matching
# 2: detections confirmed by the mesh, short runs dropped, steady boxes, jaw lines stored
# 3: the five alignment points (eyes, nose tip, mouth corners) stored
# About 17 hours of 25 fps video: a cached track measured 171 bytes a frame on disk (boxes, lip
# boxes and jaw lines, compressed; a 60 s moving presenter, 2026-12), 256 MiB / 171 B / 25 / 3600;
# format 3's five points add 10 numbers a frame to the 50 before (not measured).
DEFAULT_CAP_BYTES = 256 * 1024 * 1024


class TrackCache:
    """A folder of ``<key>.npz`` face tracks, at most ``cap_bytes`` in all."""

    def __init__(self, folder: Path | None = None, cap_bytes: int = DEFAULT_CAP_BYTES):
        self.folder = Path(folder) if folder else default_cache_dir() / "tracks"
        self.cap_bytes = cap_bytes

    @staticmethod
    def key(video_digest: str, settings: dict) -> str:
        """The entry name for a video's content digest and the settings that shape its track
        (a JSON-serialisable dict)."""
        plan = {"video": video_digest, "format": TRACK_FORMAT, **settings}
        return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:40]

    def get(self, key: str, n_frames: int) -> FaceTrack | None:
        """The cached track's first ``n_frames`` rows, or None when absent, shorter or unreadable."""
        path = self.folder / f"{key}.npz"
        try:
            track = FaceTrack.load(path)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged entry is dropped, never fatal
            log.warning("dropping unreadable face-track cache entry %s (%s)", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        if len(track.boxes) < n_frames:
            return None
        os.utime(path)  # recently used: evicted last
        return track.head(n_frames)

    def put(self, key: str, track: FaceTrack) -> None:
        """Store a track (atomically), then trim the folder to the cap. Never raises for a
        full or read-only disk: the cache is an optimisation."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            track.save(self.folder / f"{key}.npz")
            self._trim()
        except OSError as exc:
            log.warning("face-track cache not written in %s: %s", self.folder, exc)

    def entries(self) -> list[Path]:
        """Entry files, least recently used first."""
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.entries())

    def clear(self) -> int:
        """Delete every entry; returns how many were deleted."""
        removed = 0
        for path in self.entries():
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def _trim(self) -> None:
        entries = self.entries()
        total = sum(p.stat().st_size for p in entries)
        for path in entries[:-1]:  # the newest entry always stays
            if total <= self.cap_bytes:
                break
            total -= path.stat().st_size
            path.unlink(missing_ok=True)
            log.info("face-track cache over %d bytes: evicted %s", self.cap_bytes, path.name)
