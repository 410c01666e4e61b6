"""The command line's batch: (narration, video) pairs, each failing alone.

:func:`plan_jobs` turns a :class:`~heygem.lipsync.pairing.PairPlan` into jobs with their
output paths, in the order that reuses the most (:func:`~heygem.lipsync.pairing.run_order`);
:func:`run_batch` runs them with loaded :class:`~heygem.lipsync.pipeline.Syncer` s and
rewrites ``batch.json`` (:mod:`heygem.lipsync.manifest`) after each one. A narration is
decoded and turned into a mel once while consecutive pairs share it; one that cannot be
decoded fails its own pairs, the others go on. Run again into the same folder (after a crash,
or with more pairs), a pair whose output the folder's ``batch.json`` lists as done, and is
still there, is skipped (no ``name-1.mp4`` copy); ``redo`` makes it again, replacing it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from heygem.errors import HeygemError
from heygem.lipsync.manifest import Manifest, ManifestEntry, done_entries, write_manifest
from heygem.lipsync.options import sync_options
from heygem.lipsync.pairing import PairPlan, file_stem, output_stems, run_order
from heygem.lipsync.pipeline import Syncer
from heygem.lipsync.results import ProgressHook, VideoResult, failure
from heygem.media.audio import check_audio
from heygem.media.narration import Narration
from heygem.settings import BatchSettings
from heygem.states import ItemStatus

log = logging.getLogger("heygem")


@dataclass(frozen=True)
class BatchJob:
    """One pair as the command line runs it."""

    audio: Path  # the narration
    video: Path  # the presenter video or still
    output: Path  # where it is published (a free name beside it when taken: nothing is overwritten)
    settings: dict = field(default_factory=dict)  # a manifest row's own settings ({}: the batch's)


@dataclass
class BatchResult:
    settings: dict  # the batch's settings, as batch.json records them
    jobs: list[BatchJob] = field(default_factory=list)  # the pairs run so far, in order
    videos: list[VideoResult] = field(default_factory=list)  # their results, one per job
    seconds: float = 0.0
    unmatched: list[str] = field(default_factory=list)  # files the pairing left out

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
                audio=str(job.audio),
                runtime=v.runtime or None,
                enhancer=v.enhancer or None,
                **v.detection(),
            )
            for job, v in zip(self.jobs, self.videos, strict=True)
        ]
        audio = str(self.jobs[0].audio) if self.jobs else ""
        return Manifest(audio, self.settings, self.seconds, entries, unmatched=self.unmatched)


def plan_jobs(
    plan: PairPlan, outdir: Path, presenters: Mapping[str, tuple[str, dict]] | None = None
) -> list[BatchJob]:
    """The plan's pairs as jobs writing into ``outdir``, in :func:`run_order` (each
    narration's duration read from its container; an unreadable one goes last and fails
    there with its reason). ``presenters``: the videos that are library presenters, {file:
    (its name, its own settings)}: their outputs are named after them, their settings apply
    under a manifest row's."""
    known = presenters or {}
    seconds = [_seconds(Path(audio)) for audio in plan.audios]
    stems = output_stems(plan, lambda name: known[name][0] if name in known else file_stem(name))
    jobs = []
    for k in run_order(plan, seconds):
        pair = plan.pairs[k]
        audio, video = Path(plan.audios[pair.audio]), Path(plan.videos[pair.video])
        own = known.get(plan.videos[pair.video], ("", {}))[1]
        jobs.append(BatchJob(audio, video, outdir / f"{stems[k]}.mp4", {**own, **pair.settings}))
    return jobs


def _seconds(audio: Path) -> float | None:
    try:
        return check_audio(audio, audio.name)
    except HeygemError:
        return None


SyncerFor = Callable[[BatchSettings], Syncer]  # the loaded syncer for a pair's settings
JobHook = Callable[[int, int, BatchJob], ProgressHook | None]


def run_batch(
    syncer_for: SyncerFor,
    jobs: list[BatchJob],
    outdir: Path,
    settings: dict,
    base: BatchSettings,
    on_job: JobHook | None = None,
    unmatched: list[str] | None = None,
    redo: bool = False,
) -> BatchResult:
    """Run every job into ``outdir``; a bad video or narration fails its own pairs alone.

    ``base``: the batch's settings, which a job's own settings override; ``settings``: how
    batch.json records them. on_job(i, n, job) is called before each job run and may return a
    progress hook for it. The manifest ``outdir/batch.json`` is rewritten after every job. A
    job an earlier run into ``outdir`` made is skipped, or with ``redo`` made again and its
    output replaced.
    """
    started = time.monotonic()
    outdir.mkdir(parents=True, exist_ok=True)
    result = BatchResult(settings, unmatched=list(unmatched or []))
    narrations = _LastNarration()
    made_before = done_entries(outdir)
    for i, job in enumerate(jobs):
        before = made_before.get((str(job.audio), str(job.video), str(job.output)))
        if before is not None and not redo:
            log.info("pair %d/%d: %s was made before (batch.json): kept", i + 1, len(jobs), job.output.name)
            result.jobs.append(job)
            result.videos.append(_kept(job, before))
            write_manifest(outdir, result.manifest())
            continue
        hook = on_job(i, len(jobs), job) if on_job else None
        t0 = time.monotonic()
        log.info("pair %d/%d: %s onto %s", i + 1, len(jobs), job.audio.name, job.video.name)
        engine = detector = ""
        try:
            chosen = BatchSettings.parse(job.settings, base)
            syncer = syncer_for(chosen)
            engine, detector = syncer.engine.name, syncer.detector.name
            syncer.options = sync_options(chosen)
            work = outdir / ".work" / f"{i:04d}-{job.output.stem}"
            done = syncer.run(narrations.get(job.audio), job.video, job.output, work, hook)
            if before is not None and done.output != job.output:  # --redo: the new one takes its name
                os.replace(done.output, job.output)
                done.output = job.output
        except Exception as exc:
            done = failure(job.video, exc, engine, detector, time.monotonic() - t0)
            if isinstance(exc, HeygemError):
                log.error("pair %d/%d failed: %s", i + 1, len(jobs), done.error)
            else:
                log.exception("pair %d/%d failed: %s", i + 1, len(jobs), done.error)
        result.jobs.append(job)
        result.videos.append(done)
        result.seconds = time.monotonic() - started
        write_manifest(outdir, result.manifest())
    _remove_if_empty(outdir / ".work")
    return result


def _kept(job: BatchJob, entry: ManifestEntry) -> VideoResult:
    """A job's result as an earlier run recorded it (its output kept, not made again)."""
    return VideoResult(
        job.video,
        ItemStatus.DONE,
        Path(entry.output),
        frames=entry.frames or 0,
        frames_without_face=entry.frames_without_face or 0,
        seconds=entry.seconds or 0.0,
        engine=entry.engine or "",
        detector=entry.detector or "",
        enhancer=entry.enhancer or "",
    )


class _LastNarration:
    """The last narration asked for, decoded and its mel made once while consecutive pairs
    share it; one that failed to decode fails again at once, with the same reason."""

    def __init__(self):
        self.path: Path | None = None
        self.narration: Narration | None = None
        self.error: HeygemError | None = None

    def get(self, path: Path) -> Narration:
        if path != self.path:
            self.path, self.narration, self.error = path, None, None
            try:
                self.narration = Narration(path)
            except HeygemError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error
        return self.narration


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # absent, or still holds an unfinished video's chunks
        folder.rmdir()
