"""A batch: one narration onto many videos, each failing alone, with a JSON manifest.

:func:`load_syncer` resolves "auto" settings and loads the engine and detector once;
:func:`run_batch` walks the videos and writes ``batch.json``. The command line and the web
app's worker both go through here.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from heygem.atomic import replacing
from heygem.audio import Narration
from heygem.engines import create_engine, resolve_engine
from heygem.errors import HeygemError
from heygem.faces import Landmarker, create_detector, resolve_detector_name
from heygem.heap import keep_heap_flat
from heygem.pipeline import ProgressHook, Syncer, SyncOptions, VideoResult, failure
from heygem.trackcache import TrackCache, default_cache_dir

log = logging.getLogger("heygem")

DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


@dataclass(frozen=True)
class EngineSettings:
    engine: str = "auto"  # "auto" | "wav2lip" | "preview"
    checkpoint: Path | None = None  # Wav2Lip weights; None: looked up in checkpoint_dir
    detector: str = "auto"  # "auto" | "blazeface" | "sfd"
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR  # where wav2lip*.pth and s3fd.pth live
    batch_size: int | None = None  # frames per model call; None: measured default per device
    runtime: str = "auto"  # "auto" (= torch) | "torch" | "onnx" | "onnx-int8" (CPU only)
    cache_dir: Path | None = None  # face tracks + exported models; None: ~/.cache/heygem
    track_cache_mb: int = 256  # size cap of the face-track cache; 0 turns it off


def resolve_device(device: str) -> str:
    """ "auto" -> "cuda" when torch sees a GPU, else "cpu"; an unavailable cuda is an error."""
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise HeygemError(f"unknown device {device!r} (use auto, cpu or cuda)")
    if device == "cpu":
        return device
    if device == "auto" and sys.platform == "linux" and not glob.glob("/dev/nvidia[0-9]*"):
        return "cpu"  # no NVIDIA GPU: no need to import torch just to ask
    import torch

    if torch.cuda.is_available():
        return "cuda" if device == "auto" else device
    if device == "auto":
        return "cpu"
    raise HeygemError(f"device {device} requested but torch sees no CUDA GPU")


def load_syncer(settings: EngineSettings, options: SyncOptions) -> Syncer:
    """Resolve the settings and load the models once; raises HeygemError with a clear reason."""
    started = time.monotonic()
    keep_heap_flat()
    device = resolve_device(settings.device)
    engine_name, checkpoint = resolve_engine(
        settings.engine, settings.checkpoint, settings.checkpoint_dir
    )
    detector_name = resolve_detector_name(settings.detector, device, settings.checkpoint_dir)
    try:
        detector = create_detector(detector_name, device, settings.checkpoint_dir)
    except ValueError as exc:
        raise HeygemError(str(exc)) from None
    engine = create_engine(engine_name, checkpoint, device, settings.batch_size,
                           settings.runtime, settings.cache_dir)  # fmt: skip
    runtime = getattr(getattr(engine, "runner", None), "name", "none")
    log.info(
        "engine %s%s, runtime %s, detector %s, device %s ready in %.1f s",
        engine_name, f" ({checkpoint.name})" if checkpoint else "", runtime, detector_name,
        device, time.monotonic() - started,
    )  # fmt: skip
    tracks = None
    if settings.track_cache_mb > 0:
        folder = Path(settings.cache_dir or default_cache_dir()) / "tracks"
        tracks = TrackCache(folder, settings.track_cache_mb * 1024 * 1024)
    return Syncer(engine, detector, Landmarker(), options, tracks)


@dataclass
class BatchResult:
    audio: Path
    settings: dict
    videos: list[VideoResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(v.status == "done" for v in self.videos)

    def to_json(self) -> dict:
        def item(v: VideoResult) -> dict:
            d = asdict(v)
            for timing in ("stage_seconds", "track_cached"):  # in the log, not the manifest
                d.pop(timing)
            d["video"] = str(v.video)
            d["output"] = str(v.output) if v.output else None
            d["seconds"] = round(v.seconds, 2)
            return d

        return {
            "audio": str(self.audio),
            "settings": self.settings,
            "seconds": round(self.seconds, 2),
            "videos": [item(v) for v in self.videos],
        }


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
        result.videos = [
            failure(v, exc, syncer.engine.name, syncer.detector.name, 0.0) for v in videos
        ]
        write_manifest(outdir, result)
        return result
    for i, video in enumerate(videos):
        hook = on_video(i, len(videos), video) if on_video else None
        t0 = time.monotonic()
        log.info("video %d/%d: %s", i + 1, len(videos), video.name)
        try:
            work = outdir / ".work" / f"{i:04d}-{video.stem}"
            done = syncer.run(narration, video, outdir / f"{video.stem}.mp4", work, hook)
        except Exception as exc:
            done = failure(
                video, exc, syncer.engine.name, syncer.detector.name, time.monotonic() - t0
            )
            if isinstance(exc, HeygemError):
                log.error("video %d/%d failed: %s", i + 1, len(videos), done.error)
            else:
                log.exception("video %d/%d failed: %s", i + 1, len(videos), done.error)
        result.videos.append(done)
        result.seconds = time.monotonic() - started
        write_manifest(outdir, result)
    _remove_if_empty(outdir / ".work")
    return result


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # absent, or still holds an unfinished video's chunks
        folder.rmdir()


def write_manifest(outdir: Path, result: BatchResult) -> Path:
    """Write ``outdir/batch.json`` atomically (a reader never sees half a file)."""
    path = outdir / "batch.json"
    with replacing(path) as temp:
        temp.write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2), "utf-8")
    return path
