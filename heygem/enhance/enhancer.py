"""The face enhancer: lip-synced faces through a restorer and back onto their crops.

For each face: the similarity transform from its five steady points, the 512 x 512 aligned
face, the restorer (in batches), and the detail it adds brought back onto the face's crop box
(:mod:`heygem.enhance.align`). Where and how strongly the result
is painted is the caller's (the lip-sync mask, the blend strength:
:mod:`heygem.lipsync.enhancing`).

Identical aligned faces are restored once: within a batch, and across batches through a
small cache of the latest results. A still presenter whose mouth rests for a while costs one
restoration, and gets byte-identical faces whatever batch (and batch position) each frame
falls in (a network's output can differ in its last bits with the batch around it).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from heygem.enhance.align import aligned_face, restored_crop, similarity

log = logging.getLogger("heygem")

RECENT_FACES = 32  # restored faces kept for reuse (768 kB each)


@dataclass(frozen=True)
class FaceToEnhance:
    crop: tuple[int, int, int, int]  # the padded face box, x1 y1 x2 y2 integer frame pixels
    points: np.ndarray  # (5, 2) float32 eye centres, nose tip, mouth corners; frame pixels


@dataclass(frozen=True)
class Restored:
    face: np.ndarray  # (h, w, 3) uint8 BGR: the crop with the restorer's detail added
    coverage: np.ndarray  # (h, w) float32 in [0, 1]: where the restorer's square covers the crop


class FaceEnhancer:
    """A loaded restorer and how it is fed; one per process and restorer."""

    def __init__(self, kind: str, restorer, batch_size: int, resume_key: str):
        self.kind = kind  # "gfpgan" | "restoreformer"
        self.restorer = restorer  # heygem.enhance.runtimes.Restorer: where the network runs
        self.batch_size = batch_size  # faces per restorer call
        self.resume_key = resume_key  # what its output depends on (weights, runtime, precision)
        self.seconds = 0.0  # time spent in the restorer, summed over every call
        self.restored = 0  # faces the restorer ran on (reused ones not counted)
        self._recent: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the cache; one batch at a time goes through the network

    def enhance(self, frames: list[np.ndarray], faces: list[FaceToEnhance]) -> list[Restored]:
        """frames[i] (H, W, 3) uint8 BGR holds faces[i] (same length) -> the restored face on
        each crop."""
        side = self.restorer.side
        matrices = [similarity(face.points, side) for face in faces]
        aligned = [aligned_face(frame, matrix, side) for frame, matrix in zip(frames, matrices, strict=True)]
        restored = self._restore(aligned)
        out = []
        for frame, face, matrix, before, after in zip(
            frames, faces, matrices, aligned, restored, strict=True
        ):
            x1, y1, x2, y2 = face.crop
            out.append(Restored(*restored_crop(frame[y1:y2, x1:x2], before, after, matrix, face.crop)))
        return out

    def _restore(self, aligned: list[np.ndarray]) -> list[np.ndarray]:
        """(side, side, 3) uint8 BGR aligned faces -> restored, each distinct face through the
        network once."""
        keys = [hashlib.blake2b(face.data, digest_size=16).digest() for face in aligned]
        with self._lock:
            found = {key: self._recent[key] for key in keys if key in self._recent}
            todo = {key: face for key, face in zip(keys, aligned, strict=True) if key not in found}
            pending = list(todo)
            for start in range(0, len(pending), self.batch_size):
                chunk = pending[start : start + self.batch_size]
                began = time.perf_counter()
                results = self.restorer.restore(np.stack([todo[key] for key in chunk]))
                self.seconds += time.perf_counter() - began
                self.restored += len(chunk)
                found.update(zip(chunk, results, strict=True))
            for key in keys:
                self._recent[key] = found[key]
                self._recent.move_to_end(key)
            while len(self._recent) > RECENT_FACES:
                self._recent.popitem(last=False)
        return [found[key] for key in keys]
