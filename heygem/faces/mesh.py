"""MediaPipe's 468-point face mesh through OpenCV DNN: is there a face, where are its lips
and its jaw line.

The mesh confirms a detection (its face-presence score: BlazeFace's boxes on ffmpeg's
``testsrc2`` pattern all score below :data:`MESH_PRESENCE`, the astronaut far above it) and
gives what the mouth mask is drawn from: the outer lips and the lower face outline, ear to
ear round the chin; and the five points a face restorer is aligned by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heygem.faces.blazeface import (
    load_net,
    model_dir,
    raw_square,
    square_warp,
    to_blob,
    unwarp_boxes,
    warp_crop,
)

MESH_FILE = "face_landmark.tflite"
MESH_SIZE = 192  # px, square input
MESH_POINTS = 468
MESH_ZOOM = 1.5  # mesh crop side / raw BlazeFace side, as MediaPipe's face-mesh graph does
MESH_PRESENCE = 0.5  # minimum sigmoid of the mesh's face-presence logit: below it, no face

# Outer lip contour of the 468-point mesh (MediaPipe FACEMESH_LIPS, outer ring).
OUTER_LIP_POINTS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267,
                    269, 270, 409)  # fmt: skip
# The lower half of MediaPipe's FACEMESH_FACE_OVAL in ring order: from the face's left side
# at eye level (image right, point 454) down round the chin (152) to its right side (234).
# Checked by drawing it on the astronaut.
JAW_POINTS = (454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136,
              172, 58, 132, 93, 234)  # fmt: skip
# The five points a face restorer is aligned by (heygem.enhance.align), in FFHQ's order: the
# eye on the image's left (the ring of MediaPipe's FACEMESH_RIGHT_EYE), the other eye, the nose
# tip, the mouth corner on the image's left, the other one. An eye's point is its ring's mean.
LEFT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
RIGHT_EYE_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
NOSE_TIP, MOUTH_CORNERS = 1, (61, 291)
LANDMARKS = 5


@dataclass(frozen=True)
class FaceShape:
    """What the mesh saw of one face, in the pixels of the frame it ran on."""

    mouth: np.ndarray  # (4,) float32 outer-lip box x1 y1 x2 y2
    jaw: np.ndarray  # (len(JAW_POINTS), 2) float32 x, y of the lower face outline
    landmarks: np.ndarray  # (5, 2) float32 x, y: eye centres, nose tip, mouth corners (image left first)


class Landmarker:
    """The 468-point face mesh; one net per object (OpenCV nets are not thread-safe)."""

    def __init__(self, models: Path | None = None):
        self.net, self.outputs = load_net((models or model_dir()) / MESH_FILE)
        # ENGINE_CLASSIC names the outputs (presence logit, landmarks) in graph order.
        self.presence_index = next(i for i, n in enumerate(self.outputs) if n == "conv2d_30")

    def landmarks(self, frame: np.ndarray, face_box) -> np.ndarray | None:
        """frame (H, W, 3) uint8 BGR, face_box x1 y1 x2 y2 (S3FD-style, frame pixels) ->
        (468, 3) float32 mesh points: x, y in frame pixels, z relative depth in the same
        scale; None when the mesh does not see a face there."""
        cx, cy, side = raw_square(face_box)
        warp = square_warp((cx, cy), MESH_ZOOM * side, MESH_SIZE)
        self.net.setInput(to_blob(warp_crop(frame, warp, MESH_SIZE), 0.0, 1.0))
        outputs = self.net.forward(self.outputs)
        presence_logit = float(outputs[self.presence_index].ravel()[0])
        if presence_logit < math.log(MESH_PRESENCE / (1 - MESH_PRESENCE)):
            return None
        points = outputs[1 - self.presence_index].reshape(MESH_POINTS, 3).copy()
        points[:, :2] = unwarp_boxes(points[:, :2].reshape(-1, 4), warp).reshape(-1, 2)
        points[:, 2] /= warp[0, 0]
        return points

    def shape(self, frame: np.ndarray, face_box) -> FaceShape | None:
        """frame (H, W, 3) uint8 BGR, face_box x1 y1 x2 y2 in frame pixels -> its lips and
        jaw line, or None when the mesh sees no face there (the detection is not confirmed)."""
        points = self.landmarks(frame, face_box)
        if points is None:
            return None
        lips = points[list(OUTER_LIP_POINTS), :2]
        mouth = np.concatenate([lips.min(0), lips.max(0)]).astype(np.float32)
        jaw = np.ascontiguousarray(points[list(JAW_POINTS), :2], np.float32)
        return FaceShape(mouth, jaw, five_points(points))

    def mouth_box(self, frame: np.ndarray, face_box) -> tuple[float, float, float, float] | None:
        """frame (H, W, 3) uint8 BGR, face_box x1 y1 x2 y2 in frame pixels -> the outer-lip
        bounding box x1 y1 x2 y2 in frame pixels, or None when the mesh is not confident."""
        found = self.shape(frame, face_box)
        return None if found is None else tuple(float(v) for v in found.mouth)


def five_points(points: np.ndarray) -> np.ndarray:
    """(468, 2 or 3) mesh points -> (5, 2) float32 x, y: the alignment points (:data:`LANDMARKS`)."""
    eyes = [points[list(ring), :2].mean(0) for ring in (LEFT_EYE_RING, RIGHT_EYE_RING)]
    rest = points[[NOSE_TIP, *MOUTH_CORNERS], :2]
    return np.concatenate([np.stack(eyes), rest]).astype(np.float32)
