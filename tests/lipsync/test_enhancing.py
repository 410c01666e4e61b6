"""The face enhancer as a step of pass 2: where it paints, steadiness, determinism, its failures.

A small random-weight GFPGAN (the released class, written in the official layout and read by
the real loader) restores the faces of a still presenter lip-synced by the weight-free engine.
"""

from __future__ import annotations

import numpy as np
import pytest

from heygem.enhance import EnhancerChoice, EnhancerLoadError
from heygem.faces import Landmarker, TrackSettings, create_detector, face_track
from heygem.lipsync import EngineSettings, SyncOptions, load_syncer
from heygem.lipsync.engines import FaceRegion, create_engine
from heygem.lipsync.enhancing import EnhanceOptions, Enhancers, EnhanceStep
from heygem.lipsync.masks import MaskOptions
from heygem.lipsync.render import region
from heygem.media import video
from heygem.media.encode import EncodeOptions
from heygem.media.narration import Narration
from heygem.settings import DEFAULT_PADS
from heygem.testing import synthetic
from heygem.testing.restorers import SMALL_GFPGAN, random_restorer_file

LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a small network: see tests/enhance/conftest.py
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    random_restorer_file("gfpgan", folder / "GFPGANv1.4.pth", SMALL_GFPGAN, seed=7)
    return folder


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    """A still presenter (300 px astronaut, 640 x 360), 1.2 s, and 1.2 s of speech."""
    folder = tmp_path_factory.mktemp("still")
    clip = synthetic.face_video(folder / "still.mp4", 1.2, size=(640, 360), face=300, move=False)
    return clip, synthetic.speech_wav(folder / "speech.wav", 1.2)


@pytest.fixture(scope="module")
def synced(still):
    """The still clip's frames lip-synced by the loudness engine, in memory: (plain frames,
    their face regions); tests copy the frames before changing them."""
    clip, audio = still
    info = video.probe(clip)
    detector = create_detector("blazeface", "cpu")
    track = face_track(
        info, info.n_frames, detector, Landmarker(), TrackSettings(), None, lambda *_: None
    ).track
    frames = list(video.read_frames(info, range(info.n_frames)))
    faces = [region(track, i, DEFAULT_PADS, info, MaskOptions()) for i in range(info.n_frames)]
    mels = Narration(audio).windows_for(np.arange(info.n_frames), info.fps)
    create_engine("loudness", None, "cpu", None).render(frames, faces, mels)
    return frames, faces


def enhancer(weights):
    choice = EnhancerChoice("gfpgan", weights / "GFPGANv1.4.pth", "test")
    return Enhancers("cpu", weights, runtime="torch").load(choice)


def test_the_enhancer_paints_only_inside_the_lip_sync_mask(weights, synced):
    plain, faces = synced
    assert all(face is not None and face.landmarks is not None for face in faces)
    enhanced = [frame.copy() for frame in plain]
    EnhanceStep(enhancer(weights), 80.0).apply(enhanced, faces)
    x1, y1, x2, y2 = faces[0].crop
    changed = 0
    for before, after, face in zip(plain, enhanced, faces, strict=True):
        outside = np.ones(before.shape[:2], bool)
        outside[y1:y2, x1:x2] = face.blend_mask() == 0
        np.testing.assert_array_equal(after[outside], before[outside])  # every byte outside the mask
        changed += int(np.abs(after.astype(int) - before).max() > 0)
    assert changed == len(plain)  # and something inside it, on every frame


def test_a_still_presenter_is_enhanced_identically_wherever_its_frames_are_identical(weights, synced):
    """The same lip-synced frame gives the same enhanced frame in any batch and any position,
    in a fresh enhancer too (the restorer and the transform are deterministic)."""
    plain, faces = synced
    rest = next(i for i in range(1, len(plain)) if not np.array_equal(plain[i], plain[0]))
    order = [0, rest, 0, 0, rest, 0]
    first = EnhanceStep(enhancer(weights), 100.0)
    batches = [[plain[i].copy() for i in order[:3]], [plain[i].copy() for i in order[3:]]]
    for batch, indices in zip(batches, (order[:3], order[3:]), strict=True):
        first.apply(batch, [faces[i] for i in indices])
    outputs = batches[0] + batches[1]
    for k, i in enumerate(order):
        np.testing.assert_array_equal(outputs[k], outputs[order.index(i)])
    assert not np.array_equal(outputs[0], outputs[1])
    fresh = Enhancers("cpu", weights, runtime="torch")
    alone = [plain[0].copy()]
    EnhanceStep(fresh.load(EnhancerChoice("gfpgan", weights / "GFPGANv1.4.pth", "test")), 100.0).apply(
        alone, faces[:1]
    )
    np.testing.assert_array_equal(alone[0], outputs[0])


def test_blend_zero_changes_nothing_and_blend_scales_the_change(weights, synced):
    plain, faces = synced
    step = enhancer(weights)
    full, half, none = ([plain[0].copy()] for _ in range(3))
    EnhanceStep(step, 100.0).apply(full, faces[:1])
    EnhanceStep(step, 50.0).apply(half, faces[:1])
    EnhanceStep(step, 0.0).apply(none, faces[:1])
    np.testing.assert_array_equal(none[0], plain[0])
    full_change = full[0].astype(float) - plain[0]
    half_change = half[0].astype(float) - plain[0]
    assert np.abs(half_change - full_change / 2).max() <= 1.0


@pytest.fixture(scope="module")
def syncer(weights):
    settings = EngineSettings(
        engine="loudness", device="cpu", checkpoint_dir=weights, enhancer_runtime="torch"
    )
    return load_syncer(settings, SyncOptions())


def run(syncer, still, folder, name, enhancer="gfpgan"):
    clip, audio = still
    syncer.options = SyncOptions(encode=LOSSLESS, enhance=EnhanceOptions(enhancer, 80.0))
    return syncer.run(Narration(audio), clip, folder / f"{name}.mp4", folder / f".work-{name}")


def decode(path):
    info = video.probe(path)
    return np.stack(list(video.read_frames(info, range(info.n_frames))))


def test_two_runs_give_identical_frames(syncer, still, tmp_path):
    first, second = run(syncer, still, tmp_path, "one"), run(syncer, still, tmp_path, "two")
    assert (first.status, first.enhancer, second.enhancer) == ("done", "gfpgan", "gfpgan")
    assert first.stage_seconds["enhance"] > 0
    np.testing.assert_array_equal(decode(first.output), decode(second.output))
    plain = run(syncer, still, tmp_path, "plain", enhancer="none")
    assert plain.enhancer == "none" and "enhance" in plain.stage_seconds
    assert not np.array_equal(decode(plain.output), decode(first.output))


def test_auto_leaves_the_cpu_alone_even_with_the_weights_installed(syncer, still, tmp_path):
    result = run(syncer, still, tmp_path, "auto", enhancer="auto")
    assert (result.status, result.enhancer) == ("done", "none")


def test_a_bad_enhancer_checkpoint_fails_the_video_naming_the_file(still, tmp_path):
    bad = tmp_path / "GFPGANv1.4.pth"
    bad.write_bytes(b"\x00" * 4096)
    settings = EngineSettings(
        engine="loudness", device="cpu", checkpoint_dir=tmp_path, enhancer_runtime="torch"
    )
    broken = load_syncer(settings, SyncOptions())
    with pytest.raises(EnhancerLoadError, match=rf"{bad}: not a readable torch checkpoint"):
        run(broken, still, tmp_path, "bad")


def test_a_frame_without_a_face_or_its_points_is_left_as_it_is(weights):
    frame = next(synthetic.face_frames(1, (320, 180), face=150, move=False))
    frames = [frame.copy(), frame.copy()]
    EnhanceStep(enhancer(weights), 100.0).apply(frames, [None, FaceRegion((10, 10, 100, 100), None)])
    np.testing.assert_array_equal(frames[0], frame)
    np.testing.assert_array_equal(frames[1], frame)
