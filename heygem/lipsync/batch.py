"""The command line's batch: one narration onto many videos, each failing alone.

:func:`run_batch` walks the videos with a loaded :class:`~heygem.lipsync.pipeline.Syncer`
and rewrites ``batch.json`` (:mod:`heygem.lipsync.manifest`) after each one.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from heygem.errors import HeygemError
from heygem.lipsync.manifest import Manifest, ManifestEntry, write_manifest
from heygem.lipsync.pipeline import ProgressHook, Syncer, VideoResult, failure
from heygem.media.audio import Narration

log = logging.getLogger("heygem")


@dataclass
class BatchResult:
    audio: Path
    settings: dict
    videos: list[VideoResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(v.status == "done" for v in self.videos)

    def manifest(self) -> Manifest:
        entries = [
            ManifestEntry(
                str(v.video),
                str(v.status),
                str(v.output) if v.output else None,
                v.error,
                v.frames,
                v.frames_without_face,
                round(v.seconds, 2),
                v.engine,
                v.detector,
            )
            for v in self.videos
        ]
        return Manifest(str(self.audio), self.settings, self.seconds, entries)


VideoHook = Callable[[int, int, Path], ProgressHook | None]


def run_batch(
    syncer: Syncer,
    audio: Path,
    videos: list[Path],
    outdir: Path,
    settings: dict,
    on_video: VideoHook | None = None,
) -> BatchResult:
    """Lip-sync every video to ``audio`` into ``outdir``; a bad video fails alone.

    on_video(i, n, video) is called before each video and may return a progress hook for it.
    The manifest ``outdir/batch.json`` is rewritten after every video.
    """
    started = time.monotonic()
    outdir.mkdir(parents=True, exist_ok=True)
    result = BatchResult(audio, settings)
    try:
        narration = Narration(audio)
    except HeygemError as exc:
        log.error("%s", exc)
        result.videos = [failure(v, exc, syncer.engine.name, syncer.detector.name, 0.0) for v in videos]
        write_manifest(outdir, result.manifest())
        return result
    for i, video in enumerate(videos):
        hook = on_video(i, len(videos), video) if on_video else None
        t0 = time.monotonic()
        log.info("video %d/%d: %s", i + 1, len(videos), video.name)
        try:
            work = outdir / ".work" / f"{i:04d}-{video.stem}"
            done = syncer.run(narration, video, outdir / f"{video.stem}.mp4", work, hook)
        except Exception as exc:
            done = failure(video, exc, syncer.engine.name, syncer.detector.name, time.monotonic() - t0)
            if isinstance(exc, HeygemError):
                log.error("video %d/%d failed: %s", i + 1, len(videos), done.error)
            else:
                log.exception("video %d/%d failed: %s", i + 1, len(videos), done.error)
        result.videos.append(done)
        result.seconds = time.monotonic() - started
        write_manifest(outdir, result.manifest())
    _remove_if_empty(outdir / ".work")
    return result


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # absent, or still holds an unfinished video's chunks
        folder.rmdir()
