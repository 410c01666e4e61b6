"""The ``musetalk`` engine: MuseTalk 1.5 behind the same interface as Wav2Lip.

Per frame with a face: the face's padded crop box (the steady track's, as Wav2Lip gets it)
with ``margin`` more pixels below it (upstream's ``extra_margin``: room for the chin when the
mouth opens), resized to 256 x 256 with Lanczos as upstream does; the network's step
(:class:`~heygem.lipsync.musetalk.model.MuseTalkModel`) with the frame's whisper window;
the new face resized back (bilinear, cv2's default, as upstream) and pasted through our
feathered mask of that box (:mod:`heygem.lipsync.masks`), which replaces upstream's BiSeNet
face parsing. Frames are (H, W, 3) uint8 BGR.

Runtimes: ``torch`` (fp32 on the CPU, fp16 on CUDA). The CUDA path is not measured here.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from heygem.errors import HeygemError
from heygem.lipsync.blend import Box, paste
from heygem.lipsync.engines import EngineError, NetworkEngine
from heygem.lipsync.masks import face_mask
from heygem.lipsync.musetalk.model import CROP_SIZE, MuseTalkModel
from heygem.lipsync.musetalk.networks import find_files, read_unet, read_vae, read_whisper_encoder
from heygem.lipsync.musetalk.whisper import WhisperFeatures
from heygem.media.files import file_digest

log = logging.getLogger("heygem")

CROP_INTERPOLATION = cv2.INTER_LANCZOS4  # frame crop -> 256 x 256, as upstream's inference
PASTE_INTERPOLATION = cv2.INTER_LINEAR  # 256 x 256 -> the crop box (cv2.resize's default, as upstream)
DEFAULT_BATCH = {"cpu": 4, "cuda": 16}  # frames per network call (upstream: 8; its real-time script 20)
RUNTIMES = ("torch",)  # auto means torch: fp32 on the CPU, fp16 on CUDA


def margin_box(crop: Box, margin: int, frame_height: int) -> Box:
    """The crop box with ``margin`` pixels more at the bottom, inside the frame."""
    x1, y1, x2, y2 = crop
    return x1, y1, x2, min(y2 + margin, frame_height)


class MuseTalkEngine(NetworkEngine):
    name = "musetalk"
    face_size = CROP_SIZE  # px of the face it paints (the enhancer's auto rule scales from it)

    def __init__(
        self, model: MuseTalkModel, features: WhisperFeatures, batch_size: int, resume_key: str, margin: int
    ):
        super().__init__(model, batch_size, resume_key)
        self.audio_features = features  # whisper-tiny states, 50 rows a second
        self.margin = margin  # pixels added below each crop box

    def render(self, frames, faces, audio) -> None:
        todo = [i for i, face in enumerate(faces) if face is not None]
        if not todo:
            return
        boxes = {i: margin_box(faces[i].crop, self.margin, frames[i].shape[0]) for i in todo}

        def crop(i: int) -> np.ndarray:
            x1, y1, x2, y2 = boxes[i]
            return cv2.resize(
                frames[i][y1:y2, x1:x2], (CROP_SIZE, CROP_SIZE), interpolation=CROP_INTERPOLATION
            )

        crops = np.stack(self._each(crop, todo))
        started = time.perf_counter()
        predicted = self._predict(audio[todo], crops)  # (n, 256, 256, 3) uint8 BGR
        self.model_seconds += time.perf_counter() - started

        def put_back(k: int) -> None:
            i = todo[k]
            face, box = faces[i], boxes[i]
            x1, y1, x2, y2 = box
            new = cv2.resize(predicted[k], (x2 - x1, y2 - y1), interpolation=PASTE_INTERPOLATION)
            paste(frames[i], new, box, face_mask(box, face.mouth, face.jaw, face.mask))

        self._each(put_back, range(len(todo)))


def load_musetalk(
    folder: Path, device: str, batch_size: int | None, runtime: str, margin: int
) -> MuseTalkEngine:
    """The musetalk engine from ``folder`` (MuseTalk's models/ layout) on ``device``; raises
    EngineError naming a missing or bad file."""
    if runtime not in ("auto", *RUNTIMES):
        raise EngineError(f"the musetalk engine runs on {', '.join(RUNTIMES)} (not {runtime})")
    started = time.perf_counter()
    try:
        files = find_files(folder)
        digests = [file_digest(path) for path in files.weights()]
        model = MuseTalkModel(read_unet(files), read_vae(files), device)
        encoder = read_whisper_encoder(files).to(model.device, model.dtype)
    except HeygemError as exc:
        raise EngineError(str(exc)) from None
    kind = "cuda" if device.startswith("cuda") else "cpu"  # fp16 on CUDA, fp32 on the CPU
    features = WhisperFeatures(encoder, f"whisper-tiny-{digests[2][:16]}-{kind}")
    weights = "-".join(d[:16] for d in digests)
    resume_key = f"musetalk-v15-{weights}-torch-{kind}-margin{margin}"
    log.info("MuseTalk 1.5 (torch %s) ready in %.1f s", kind, time.perf_counter() - started)
    return MuseTalkEngine(model, features, batch_size or DEFAULT_BATCH[kind], resume_key, margin)
