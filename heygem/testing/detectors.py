"""A face detector double for tests: the same boxes on every frame, through the real
:class:`heygem.faces.detectors.Detector` interface (as face-alignment's precomputed-boxes
backend), so a pipeline test needs no detection model."""

from __future__ import annotations

import numpy as np

from heygem.faces.detectors import Box, Face


class FixedDetector:
    """Returns the same boxes for every frame."""

    name = "fixed"

    def __init__(self, boxes: list[Box]):
        self.faces = [Face(tuple(map(float, box)), 1.0) for box in boxes]
        self.cache_key = (
            f"fixed-{[face.box for face in self.faces]}"  # as the real ones': the track cache's key
        )

    def detect(self, frame: np.ndarray) -> list[Face]:
        return list(self.faces)
