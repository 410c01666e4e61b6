"""Our Wav2Lip engine against a plain restatement of the original inference step
(:mod:`heygem.testing.reference`): the same network input and the same pasted pixels for the
same frame, box and mel window, on a random model whose faces span the pixel range.

The comparison has teeth: the same tolerances reject a reference with the channels swapped,
the colours in RGB, the wrong half masked or the inputs scaled to [-1, 1], so an engine with
any of those bugs fails here. Runtimes other than torch are compared on pixels (their network
input is inside their graph); int8 is held to its own tolerance in test_runtimes.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from heygem.faces import Landmarker, create_detector
from heygem.lipsync import engines
from heygem.lipsync.blend import padded_box
from heygem.lipsync.engines import FaceRegion
from heygem.lipsync.masks import MaskOptions
from heygem.lipsync.runtimes import clear_runtime_cache
from heygem.media.audio import mel_spectrogram, mel_window_starts, mel_windows
from heygem.settings import DEFAULT_PADS
from heygem.testing.models import random_wav2lip
from heygem.testing.reference import MUTATIONS, reference_input, reference_step
from heygem.testing.synthetic import centred_face, speech_like

INPUT_LEVELS = 1.0  # the most any network input value may differ, in pixel levels
PIXEL_LEVELS = 2  # ... and any pasted pixel: the reference truncates the output, we round
FACE_WIDTHS = (90, 200, 400)  # px, face boxes on a 1280 x 720 frame (the 90-450)


@pytest.fixture(scope="module")
def spread(spread_model):
    """A random model whose output conv is scaled so its faces span the pixel range, and its
    checkpoint in the official format (the run's, whose exports the runtime tests share)."""
    yield random_wav2lip(seed=1, output_gain=30), spread_model[0]
    clear_runtime_cache()


@pytest.fixture(scope="module")
def mel() -> np.ndarray:
    """(80, 16) float32: the mel window of output frame 40 of speech-like audio at 25 fps."""
    full = mel_spectrogram(speech_like(3.0))
    return mel_windows(full, mel_window_starts(np.array([40]), 25.0, full.shape[1]))[0]


@pytest.fixture(scope="module")
def scenes() -> dict[int, tuple[np.ndarray, FaceRegion]]:
    """Per face width: a 1280 x 720 BGR frame with the astronaut's face that wide in its
    middle, and the face's region as the pipeline builds it (the detected box padded, the
    lips and jaw line from the mesh)."""
    detector, landmarker = create_detector("blazeface"), Landmarker()
    out = {}
    for face_width in FACE_WIDTHS:
        frame = centred_face(face_width)
        box = detector.detect(frame)[0].box
        shape = landmarker.shape(frame, box)
        crop = padded_box(box, DEFAULT_PADS, frame.shape[:2])
        out[face_width] = frame, FaceRegion(crop, tuple(map(float, shape.mouth)), shape.jaw, MaskOptions())
    return out


@pytest.fixture(scope="module")
def references(spread, mel, scenes) -> dict[tuple[int, str | None], np.ndarray]:
    """(face width, mutation or None) -> the reference's output frame, (H, W, 3) uint8 BGR;
    the mutations for the middle width only (each costs a forward pass)."""
    model = spread[0]
    wanted = [(width, None) for width in FACE_WIDTHS] + [(FACE_WIDTHS[1], m) for m in MUTATIONS]
    return {(w, m): reference_step(model, *scenes[w][:1], scenes[w][1].crop, mel, m).frame for w, m in wanted}


def ours(engine, frame: np.ndarray, face: FaceRegion, mel: np.ndarray) -> np.ndarray:
    out = frame.copy()
    engine.render([out], [face], mel[None])
    return out


def replaced(face: FaceRegion, frame_hw) -> np.ndarray:
    """(H, W) bool: where our paste takes the model's face whole (mask 1)."""
    where = np.zeros(frame_hw, bool)
    x1, y1, x2, y2 = face.crop
    where[y1:y2, x1:x2] = face.blend_mask() == 1
    return where


@pytest.mark.parametrize("face_width", FACE_WIDTHS)
def test_network_input_matches_the_reference(spread, mel, scenes, face_width):
    model, checkpoint = spread
    engine = engines.create_engine("wav2lip", checkpoint, "cpu", batch_size=1, runtime="torch")
    seen = []
    hook = engine.runtime.model.register_forward_pre_hook(lambda _m, args: seen.append(args))
    frame, face = scenes[face_width]
    try:
        ours(engine, frame, face, mel)
    finally:
        hook.remove()
    audio, faces = (t.float().numpy() for t in seen[0])
    reference_faces, reference_mels = reference_input(frame, face.crop, mel)
    assert faces.shape == reference_faces.shape == (1, 6, 96, 96)
    assert np.abs(faces - reference_faces).max() * 255 <= INPUT_LEVELS
    np.testing.assert_allclose(audio, reference_mels, atol=1e-6)
    for mutation in MUTATIONS:  # each of these bugs would be caught
        broken = reference_input(frame, face.crop, mel, mutation)[0]
        assert np.abs(faces - broken).max() * 255 > 10 * INPUT_LEVELS, mutation


@pytest.mark.parametrize("runtime", ["torch", "onnx", "openvino", "openvino-bf16"])
@pytest.mark.parametrize("face_width", FACE_WIDTHS)
def test_pasted_mouth_matches_the_reference(
    spread, spread_model, mel, scenes, references, runtime, face_width
):
    model_cache = spread_model[1]  # the ONNX export, made once
    engine = engines.create_engine("wav2lip", spread[1], "cpu", 1, runtime, cache_dir=model_cache)
    frame, face = scenes[face_width]
    got = ours(engine, frame, face, mel).astype(int)
    reference = references[face_width, None]
    where = replaced(face, frame.shape[:2])
    assert where.sum() > 0.1 * (face.crop[2] - face.crop[0]) * (face.crop[3] - face.crop[1])
    assert reference[where].std() > 40  # the model's faces span the pixel range
    diff = np.abs(got[where] - reference[where])
    assert diff.max() <= PIXEL_LEVELS and diff.mean() < 0.75
    for mutation in MUTATIONS if face_width == FACE_WIDTHS[1] else ():
        broken = references[face_width, mutation]
        assert np.abs(got[where] - broken[where]).max() > 10 * PIXEL_LEVELS, mutation


def test_the_old_area_resize_would_fail(mel, scenes):
    """INTER_AREA crops (what the engine used before) are not the reference's input."""
    frame, face = scenes[FACE_WIDTHS[-1]]
    x1, y1, x2, y2 = face.crop
    area = cv2.resize(frame[y1:y2, x1:x2], (96, 96), interpolation=cv2.INTER_AREA)
    reference = reference_input(frame, face.crop, mel)[0][0, 3:]
    assert np.abs(area.transpose(2, 0, 1) / 255 - reference).max() * 255 > 10 * INPUT_LEVELS
