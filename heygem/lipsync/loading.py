"""Loading the models a process works with: resolve "auto" settings, load each model once.

:func:`load_syncer` gives the :class:`~heygem.lipsync.pipeline.Syncer` the CLI and every
worker run videos with; it raises :class:`~heygem.errors.HeygemError` with a clear reason.
"""

from __future__ import annotations

import glob
import logging
import sys
import time
from pathlib import Path

from heygem.errors import HeygemError
from heygem.faces import Landmarker, TrackCache, create_detector, resolve_detector_name
from heygem.lipsync.engines import create_engine, resolve_engine, runtime_of
from heygem.lipsync.enhancing import Enhancers
from heygem.lipsync.heap import keep_heap_flat
from heygem.lipsync.options import EngineSettings, SyncOptions
from heygem.lipsync.pipeline import Syncer
from heygem.media.audio import warm_up_mel
from heygem.settings import default_cache_dir

log = logging.getLogger("heygem")


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
    engine_name, checkpoint = resolve_engine(settings.engine, settings.checkpoint, settings.checkpoint_dir)
    detector_name = resolve_detector_name(settings.detector, device, settings.checkpoint_dir)
    try:
        detector = create_detector(detector_name, device, settings.checkpoint_dir)
    except ValueError as exc:
        raise HeygemError(str(exc)) from None
    engine = create_engine(
        engine_name,
        checkpoint,
        device,
        settings.batch_size,
        settings.runtime,
        settings.cache_dir,
        settings.musetalk_margin,
    )
    warm_up_mel()  # the mel filter bank: made at load, not by the first narration
    runtime = runtime_of(engine) or "none"
    log.info(
        "engine %s%s, runtime %s, detector %s, device %s ready in %.1f s",
        engine_name,
        f" ({checkpoint.name})" if checkpoint else "",
        runtime,
        detector_name,
        device,
        time.monotonic() - started,
    )
    tracks = None
    if settings.track_cache_mb > 0:
        folder = Path(settings.cache_dir or default_cache_dir()) / "tracks"
        tracks = TrackCache(folder, settings.track_cache_mb * 1024 * 1024)
    enhancers = Enhancers(
        device,
        settings.checkpoint_dir,
        settings.enhancer_checkpoint,
        settings.enhancer_runtime,
        settings.cache_dir,
    )
    return Syncer(engine, detector, Landmarker(), options, tracks, enhancers)
