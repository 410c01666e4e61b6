"""Trial renders: the first seconds of one video with a batch's settings, made before the batch
(the web app's "Preview 2 s" and its /preview endpoint).

A trial render is a short run of the real pipeline (pass 1 on the frames it needs, pass 2, the
mux) on the narration's first seconds, so it shows what the batch will make of that start:
pads, mask, the face chosen. By default it draws the crop box and the mask's outline on it
(the overlay). When the face enhancer runs on the video, the same seconds are made again
without it and the trial shows both side by side (left without, right with).
:meth:`TrialRender.first_frame` shows which faces are on a video's first frame
and which one the track would follow, so a click there (a ``face_point``) can pick another.

It runs in the process that asks (the app), with the process's own engine settings (the
worker's: checkpoint, runtime, batch size, caches), so it shows what the batch will make; a
batch's own engine and detector override them as they do in the worker, and engine "auto" is
resolved by :func:`~heygem.lipsync.engines.resolve_engine`, as the worker's. Models load on the
first trial (a Wav2Lip runtime already loaded by the worker is shared, see
:func:`~heygem.lipsync.runtimes.load_runtime`), one trial at a time. The first-frame view
loads only a face detector and the face mesh, never an engine. Importing this module loads no
model code (the app host stays thin).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from heygem.errors import HeygemError
from heygem.lipsync.options import EngineSettings
from heygem.settings import BatchSettings

log = logging.getLogger("heygem")

TRIAL_SECONDS = 2.0  # of narration and video a trial render covers
KEEP_SECONDS = 3600  # trial renders and first frames older than this go when a new one is made
POINT_BGR, CHOSEN_BGR, OTHER_BGR = (0, 0, 255), (0, 255, 0), (255, 255, 255)


@dataclass
class TrialResult:
    path: Path  # the trial render, H.264 + AAC MP4
    duration: float  # seconds of narration (and video) it covers
    seconds: float  # wall time it took
    frames: int  # output frames
    frames_without_face: int  # of which passed through unchanged
    engine: str  # "wav2lip" | "musetalk" | "loudness"
    enhancer: str = "none"  # the face enhancer that ran: gfpgan, restoreformer or none
    side_by_side: bool = False  # the clip shows the video without (left) and with (right) the enhancer


@dataclass
class FirstFrame:
    path: Path  # JPEG of the video's first frame (source pixels) with the faces drawn
    boxes: list[tuple[float, float, float, float]]  # confirmed faces, x1 y1 x2 y2 source pixels
    chosen: int | None  # index in boxes of the face the track starts with; None: no face


class TrialRender:
    """Makes trial renders and first-frame views with models of its own, loaded on first use."""

    def __init__(self, folder: Path, settings: EngineSettings | None = None):
        self.folder = Path(folder)  # where trial renders are written (the web app serves it)
        self.settings = settings or EngineSettings()  # the process's, as the worker's
        self._lock = threading.Lock()  # one trial at a time: OpenCV nets are not thread-safe
        self._syncers: dict[tuple, object] = {}  # (engine, checkpoint, detector) -> Syncer
        self._faces: dict[str, tuple] = {}  # detector name -> (detector, face mesh)

    def render(
        self,
        audio: Path,
        video: Path,
        settings: dict | None = None,
        video_name: str | None = None,
        seconds: float = TRIAL_SECONDS,
        overlay: bool = True,
    ) -> TrialResult:
        """The first ``seconds`` of ``video`` lip-synced to the start of ``audio`` with a
        batch's ``settings`` (as the API takes them; ``video_name`` picks its own face point),
        the crop box and mask drawn when ``overlay``. Raises HeygemError (bad settings, an
        unreadable file) with a clear reason."""
        from heygem.lipsync.options import sync_options
        from heygem.media.encode import side_by_side
        from heygem.media.narration import Narration

        started = time.monotonic()
        batch = BatchSettings.parse(settings)
        with self._lock:
            syncer = self._syncer(batch)
            options = sync_options(batch, video_name or Path(video).name)
            syncer.options = replace(options, overlay=overlay or options.overlay)
            narration = Narration(audio, max_seconds=seconds)
            folder = self._fresh_folder("trial-")
            dest = folder / f"{Path(video_name or video).stem}-preview.mp4"
            result = syncer.run(narration, Path(video), dest, folder / ".work")
            shown = result.output
            if result.enhancer not in ("", "none"):
                plain = replace(syncer.options, enhance=replace(syncer.options.enhance, enhancer="none"))
                syncer.options = plain
                without = syncer.run(narration, Path(video), folder / "without.mp4", folder / ".work-without")
                shown = side_by_side(
                    without.output, result.output, dest.with_name(f"{dest.stem}-compared.mp4")
                )
        took = time.monotonic() - started
        log.info("trial render of %s: %.1f s in %.1f s", Path(video).name, narration.seconds, took)
        return TrialResult(
            shown,
            narration.seconds,
            took,
            result.frames,
            result.frames_without_face,
            result.engine,
            result.enhancer or "none",
            shown != result.output,
        )

    def first_frame(self, video: Path, point=None, settings: dict | None = None) -> FirstFrame:
        """``video``'s first frame with its confirmed faces drawn: the one the track follows
        (nearest ``point`` (x, y source pixels) when given, else the most prominent) in green,
        the others in white, the point as a red cross."""
        import cv2
        import numpy as np

        from heygem.faces import choose_face, detection_size, find_faces
        from heygem.media.video import probe, read_frames

        with self._lock:
            detector, landmarker = self._face_models(BatchSettings.parse(settings))
            info = probe(video)
            frame = next(read_frames(info, [0]))
            size = detection_size(info)
            small = (
                cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                if size != (info.width, info.height)
                else frame
            )
            found, _ = find_faces(detector, landmarker, small)
        boxes = found * np.float32(info.width / size[0])
        chosen = choose_face(boxes, frame.shape[:2], point) if len(boxes) else None
        thickness = max(2, round(max(frame.shape[:2]) / 400))
        for k, box in enumerate(boxes):
            colour = CHOSEN_BGR if k == chosen else OTHER_BGR
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            cv2.rectangle(
                frame, (x1, y1), (x2, y2), colour, thickness * (2 if k == chosen else 1), cv2.LINE_AA
            )
        if point is not None:
            centre = tuple(int(round(v)) for v in point)
            cv2.drawMarker(frame, centre, POINT_BGR, cv2.MARKER_CROSS, 12 * thickness, thickness, cv2.LINE_AA)
        path = self._fresh_folder("frame-") / "first-frame.jpg"
        path.write_bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
        return FirstFrame(path, [tuple(map(float, b)) for b in boxes], chosen)

    def _wanted(self, batch: BatchSettings) -> EngineSettings:
        """The process's settings with a batch's own engine and detector over them."""
        engine = batch.engine if batch.engine != "auto" else self.settings.engine
        detector = batch.detector if batch.detector != "auto" else self.settings.detector
        return replace(self.settings, engine=engine, detector=detector)

    def _syncer(self, batch: BatchSettings):
        """The Syncer for the batch's engine and detector, loaded once (the track cache on).
        Engine "auto" is resolved again each time: weights downloaded since the start count."""
        from heygem.lipsync.engines import resolve_engine
        from heygem.lipsync.loading import load_syncer
        from heygem.lipsync.options import SyncOptions

        wanted = self._wanted(batch)
        engine, checkpoint = resolve_engine(wanted.engine, wanted.checkpoint, wanted.checkpoint_dir)
        key = (engine, checkpoint, wanted.detector)
        if key not in self._syncers:
            resolved = replace(wanted, engine=engine, checkpoint=checkpoint)
            self._syncers[key] = load_syncer(resolved, SyncOptions())
        return self._syncers[key]

    def _face_models(self, batch: BatchSettings) -> tuple:
        """(detector, face mesh) for the batch's detector, loaded once; no engine."""
        from heygem.faces import Landmarker, create_detector, resolve_detector_name
        from heygem.lipsync.loading import resolve_device

        wanted = self._wanted(batch)
        device = resolve_device(wanted.device)
        name = resolve_detector_name(wanted.detector, device, wanted.checkpoint_dir)
        if name not in self._faces:
            try:
                self._faces[name] = (create_detector(name, device, wanted.checkpoint_dir), Landmarker())
            except ValueError as exc:  # sfd without its weights
                raise HeygemError(str(exc)) from None
        return self._faces[name]

    def _fresh_folder(self, prefix: str) -> Path:
        """A new folder for one trial render; those older than KEEP_SECONDS are removed first."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = time.time()
        for old in self.folder.iterdir():
            if old.is_dir() and now - old.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=self.folder, prefix=prefix))
