"""The in-process worker: one thread that loads the model once and runs queued videos one at
a time, independent of any browser tab.

It takes its work from the job store, so a closed tab changes nothing and a restart picks up
where the last process stopped. Progress goes to the store (throttled); cancellation comes
back through the pipeline's progress hook and takes effect after the current chunk.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from heygem.audio import Narration
from heygem.batch import EngineSettings, load_syncer
from heygem.encode import EncodeOptions
from heygem.errors import Cancelled, HeygemError
from heygem.jobs import Batch, Item, JobStore
from heygem.pipeline import Progress, SyncOptions, VideoResult, failure
from heygem.video import probe
from heygem.workspace import Workspace

log = logging.getLogger("heygem")

PROGRESS_EVERY = 0.5  # seconds between progress writes to the store
RETENTION_EVERY = 3600  # seconds between retention sweeps
QUALITY_CRF = {"high": 18, "standard": 23, "small": 28}  # output quality -> x264 CRF


@dataclass
class EngineStatus:
    state: str = "loading"  # "loading" | "ready" | "error"
    since: float = field(default_factory=time.time)  # when loading started
    load_seconds: float | None = None
    engine: str = ""
    detector: str = ""
    device: str = ""
    checkpoint: str | None = None
    error: str | None = None


def sync_options(settings: dict) -> SyncOptions:
    """A batch's settings (as stored) -> pipeline options, with defaults for what is absent."""
    height = settings.get("height")
    return SyncOptions(
        chunk_seconds=float(settings.get("chunk_seconds") or 30),
        pads=tuple(int(p) for p in settings.get("pads") or (0, 10, 0, 0)),
        frame_order=settings.get("frame_order") or "pingpong",
        sync_offset=int(settings.get("sync_offset") or 0),
        encode=EncodeOptions(
            height=int(height) if height not in (None, "", "original", 0) else None,
            crf=QUALITY_CRF.get(settings.get("quality") or "standard", 23),
        ),
    )


class Worker:
    def __init__(self, store: JobStore, workspace: Workspace, settings: EngineSettings,
                 notify_url: str | None = None, retention_days: float | None = None):  # fmt: skip
        self.store = store
        self.workspace = workspace
        self.settings = settings
        self.notify_url = notify_url
        self.retention_days = retention_days
        self.status = EngineStatus()
        self.current: tuple[str, int] | None = None  # (batch id, item idx) running now
        self._syncers: dict[tuple[str, str], object] = {}  # (engine, detector) -> Syncer
        self._narration: tuple[str, Narration] | None = None  # the last batch's mel, reused
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="heygem-worker", daemon=True)
        self._last_sweep = 0.0

    def start(self) -> Worker:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    # -- the thread ------------------------------------------------------------------------

    def _main(self) -> None:
        recovered = self.store.recover()
        if recovered:
            log.info("resuming %d video(s) that were running when the app stopped", recovered)
        remove_partial_files(self.workspace.outputs)
        self._load_default()
        while not self._stop.is_set():
            self._sweep_retention()
            item = self.store.claim_next() if self.status.state == "ready" else None
            if item is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(item)

    def _load_default(self) -> None:
        log.info(
            "initialising model (engine %s, device %s)...",
            self.settings.engine,
            self.settings.device,
        )
        started = time.monotonic()
        try:
            syncer = load_syncer(self.settings, SyncOptions())
        except HeygemError as exc:
            self.status = EngineStatus("error", self.status.since, error=str(exc))
            log.error("model failed to load: %s", exc)
            return
        except Exception as exc:
            self.status = EngineStatus(
                "error", self.status.since, error=f"{type(exc).__name__}: {exc}"
            )
            log.exception("model failed to load")
            return
        self._syncers[("auto", "auto")] = syncer
        self._syncers[(syncer.engine.name, syncer.detector.name)] = syncer
        self.status = EngineStatus(
            "ready", self.status.since, time.monotonic() - started, syncer.engine.name,
            syncer.detector.name, _device_of(self.settings.device),
            str(self.settings.checkpoint) if self.settings.checkpoint else None,
        )  # fmt: skip
        log.info("model ready in %.1f s", self.status.load_seconds)

    def _syncer_for(self, settings: dict):
        key = (settings.get("engine") or "auto", settings.get("detector") or "auto")
        if key not in self._syncers:
            engine_settings = EngineSettings(
                engine=key[0], detector=key[1], device=self.settings.device,
                checkpoint=self.settings.checkpoint, checkpoint_dir=self.settings.checkpoint_dir,
                batch_size=self.settings.batch_size,
            )  # fmt: skip
            self._syncers[key] = load_syncer(engine_settings, SyncOptions())
        return self._syncers[key]

    def _run(self, item: Item) -> None:
        batch = self.store.get(item.batch_id)
        self.current = (item.batch_id, item.idx)
        started = time.monotonic()
        log.info("batch %s: video %d/%d %s (attempt %d)", batch.id, item.idx + 1,
                 len(batch.items), item.name, item.attempts)  # fmt: skip
        engine = detector = ""
        try:
            syncer = self._syncer_for(batch.settings)
            engine, detector = syncer.engine.name, syncer.detector.name
            syncer.options = sync_options(batch.settings)
            narration = self._narration_for(batch)
            dest = Path(item.dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            work = self.workspace.work_dir(batch.id, item.idx)
            if dest.is_file():  # published before the process stopped: never make it twice
                log.info("batch %s: %s was already finished", batch.id, dest.name)
                result = finished_result(dest, Path(item.video), engine, detector)
            else:
                result = syncer.run(narration, Path(item.video), dest, work, self._hook(item))
            ended = self.store.finish_item(item, "done", output=str(result.output), frames=result.frames,
                                           frames_without_face=result.frames_without_face,
                                           seconds=result.seconds, engine=engine,
                                           detector=detector)  # fmt: skip
        except Exception as exc:
            result = failure(Path(item.name), exc, engine, detector, time.monotonic() - started)
            if isinstance(exc, (HeygemError, Cancelled)):
                log.error("batch %s: %s %s", batch.id, result.status, result.error)
            else:
                log.exception("batch %s: %s failed", batch.id, item.name)
            ended = self.store.finish_item(item, result.status, error=result.error,
                                           seconds=result.seconds, engine=engine,
                                           detector=detector)  # fmt: skip
        finally:
            self.current = None
        if ended:
            self._batch_ended(item.batch_id)

    def _narration_for(self, batch: Batch) -> Narration:
        if self._narration is None or self._narration[0] != batch.id:
            self._narration = (batch.id, Narration(batch.audio))
        return self._narration[1]

    def _hook(self, item: Item):
        last = {"time": 0.0, "stage": None}
        cancel_chunk: list[int] = []

        def hook(p: Progress) -> None:
            now = time.monotonic()
            if p.stage != last["stage"] or now - last["time"] >= PROGRESS_EVERY:
                last["time"], last["stage"] = now, p.stage
                self.store.update_progress(item, p.fraction, p.stage, p.chunk, p.chunks)
                if self._cancel_requested(item.batch_id) and not cancel_chunk:
                    cancel_chunk.append(p.chunk if p.stage == "lipsync" else -1)
            if cancel_chunk and (
                p.stage in ("probing", "detecting")
                or (p.stage == "lipsync" and p.chunk != cancel_chunk[0])
            ):
                raise Cancelled("cancelled")  # once the chunk that was running has finished

        return hook

    def _cancel_requested(self, batch_id: str) -> bool:
        batch = self.store.get(batch_id)
        return batch is None or batch.cancel

    # -- after a batch ---------------------------------------------------------------------

    def _batch_ended(self, batch_id: str) -> None:
        batch = self.store.get(batch_id)
        if batch is None:
            return
        write_manifest(self.workspace, batch)
        log.info("batch %s %s: %s", batch.id, batch.state, batch.counts)
        if self.notify_url and not batch.notified:
            threading.Thread(target=self._notify, args=(batch,), daemon=True).start()

    def _notify(self, batch: Batch) -> None:
        body = json.dumps(batch_summary(batch), ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.notify_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                log.info(
                    "notified %s about batch %s (%s)", self.notify_url, batch.id, response.status
                )
            self.store.mark_notified(batch.id)
        except OSError as exc:
            log.warning("notification to %s failed: %s", self.notify_url, exc)

    def _sweep_retention(self) -> None:
        if not self.retention_days or time.monotonic() - self._last_sweep < RETENTION_EVERY:
            return
        self._last_sweep = time.monotonic()
        limit = time.time() - self.retention_days * 86400
        for batch in self.store.batches(limit=100000):
            if batch.finished and batch.finished < limit:
                log.info(
                    "retention: deleting batch %s (finished over %s days ago)",
                    batch.id,
                    self.retention_days,
                )
                delete_batch_files(self.workspace, batch.id)
                self.store.delete_batch(batch.id)


def finished_result(dest: Path, video: Path, engine: str, detector: str) -> VideoResult:
    """The result of a video whose output was already published."""
    info = probe(dest)
    return VideoResult(video, "done", dest, None, info.n_frames, 0, 0.0, engine, detector)


def remove_partial_files(outputs: Path) -> None:
    """At start-up nothing is running: temporary files left by a killed process are stale.
    Finished chunk segments are kept (they let the video resume)."""
    for stale in [*outputs.glob("*/.*.part.mp4"), *outputs.glob("*/.work/*/*.part.mp4")]:
        log.info("removing the partial file %s left by a stopped process", stale.name)
        stale.unlink(missing_ok=True)


def _device_of(device: str) -> str:
    from heygem.batch import resolve_device

    try:
        return resolve_device(device)
    except HeygemError:
        return device


def batch_summary(batch: Batch) -> dict:
    """What the notification and the manifest carry about a finished batch."""
    return {
        "batch_id": batch.id,
        "state": batch.state,
        "counts": batch.counts,
        "audio": batch.audio_name,
        "settings": batch.settings,
        "seconds": round((batch.finished or time.time()) - batch.created, 1),
        "videos": [
            {"video": i.name, "status": i.status, "output": i.output, "error": i.error,
             "frames": i.frames, "frames_without_face": i.frames_without_face,
             "seconds": round(i.seconds, 2) if i.seconds else None,
             "engine": i.engine, "detector": i.detector}
            for i in batch.items
        ],
    }  # fmt: skip


def write_manifest(workspace: Workspace, batch: Batch) -> None:
    folder = workspace.batch_outputs(batch.id)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".batch.json.tmp"
    tmp.write_text(json.dumps(batch_summary(batch), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(folder / "batch.json")


def delete_batch_files(workspace: Workspace, batch_id: str) -> None:
    for folder in (workspace.batch_outputs(batch_id), workspace.batch_uploads(batch_id)):
        shutil.rmtree(folder, ignore_errors=True)
