"""Pass 1: keyframe tracks against per-frame detection, and the face-track cache."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from heygem.faces import BlazeFaceDetector, Landmarker
from heygem.faces.blazeface import iou
from heygem.faces.track import FaceTrack
from heygem.faces.trackcache import TrackCache
from heygem.faces.trackpass import TrackSettings, face_track
from heygem.lipsync.blend import padded_box
from heygem.media import video
from heygem.media.ffmpeg import command
from heygem.settings import DEFAULT_PADS
from heygem.testing import synthetic


@pytest.fixture(scope="module")
def blazeface():
    return BlazeFaceDetector(), Landmarker()


def track_of(clip, blazeface, interval: int, cache=None):
    info = video.probe(clip)
    settings = TrackSettings(interval=interval)
    return face_track(info, info.n_frames, *blazeface, settings, cache, lambda *_: None)


def test_a_cut_falls_back_to_per_frame_detection(tmp_path, blazeface):
    """A face that jumps across the frame between two keyframes is not interpolated."""
    left = synthetic.face_frames(12, (640, 360), face=160, move=False)
    frames = [*left]
    for frame in synthetic.face_frames(12, (640, 360), face=160, move=False):
        frames.append(np.ascontiguousarray(np.roll(frame, 220, axis=1)))
    clip = synthetic.write_video(tmp_path / "cut.mp4", frames, size=(640, 360))
    plain = track_of(clip, blazeface, interval=1).track.boxes
    fast = track_of(clip, blazeface, interval=8)
    assert fast.detected_frames > 12  # the segment with the cut was detected frame by frame
    np.testing.assert_allclose(fast.track.boxes, plain, atol=4)  # the cut is where it was


def test_track_cache_hits_and_invalidates(tmp_path, blazeface):
    cache = TrackCache(tmp_path / "tracks")
    clip = synthetic.face_video(tmp_path / "a.mp4", 1.0, size=(320, 180), face=120)
    first = track_of(clip, blazeface, 8, cache)
    again = track_of(clip, blazeface, 8, cache)
    assert not first.cached and again.cached and again.detected_frames == 0
    np.testing.assert_array_equal(first.track.boxes, again.track.boxes)
    renamed = clip.rename(tmp_path / "renamed.mp4")  # same bytes: same entry
    assert track_of(renamed, blazeface, 8, cache).cached
    assert not track_of(renamed, blazeface, 1, cache).cached  # other detector settings
    edited = synthetic.face_video(tmp_path / "b.mp4", 1.0, size=(320, 180), face=110)
    assert not track_of(edited, blazeface, 8, cache).cached  # other content
    assert len(cache.entries()) == 3
    assert cache.clear() == 3 and not cache.entries()


def test_track_cache_serves_shorter_requests_and_stays_under_its_cap(tmp_path):
    def track(n: int) -> FaceTrack:
        boxes = np.tile(np.float32([[10, 20, 110, 140]]), (n, 1))
        return FaceTrack(boxes, boxes / 2)

    cache = TrackCache(tmp_path / "tracks", cap_bytes=2500)
    cache.put("long", track(100))
    assert len(cache.get("long", 40).boxes) == 40
    assert cache.get("long", 101) is None  # a longer request detects again
    for name in ("b", "c", "d"):
        cache.put(name, track(100))
    assert cache.size_bytes() <= 2500 and [p.stem for p in cache.entries()][-1] == "d"
    (tmp_path / "tracks" / "bad.npz").write_bytes(b"not numpy")
    assert cache.get("bad", 1) is None and not (tmp_path / "tracks" / "bad.npz").exists()


# Steadiness, phantoms, choosing a face --------------------------------------------------------

HEAD_FACE = synthetic.HEAD_FACE


def noisy_still(path, seconds: float = 3.0, size=(640, 360), face: int = 300, sigma: float = 4.0):
    """A still presenter with camera noise (Gaussian, ``sigma`` levels) under x264 at CRF 23."""
    rng = np.random.default_rng(0)
    frames = (
        np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8)
        for f in synthetic.face_frames(round(seconds * 25), size, face=face, move=False)
    )
    return synthetic.write_video(path, frames, size=size, extra={"crf": 23})


def test_a_still_face_gets_one_crop_box_for_the_whole_video(tmp_path, blazeface):
    clip = noisy_still(tmp_path / "tripod.mp4")
    info = video.probe(clip)
    steady = track_of(clip, blazeface, interval=8).track
    assert steady.frames_without_face == 0
    assert len(np.unique(steady.boxes, axis=0)) == 1  # 0 px of variation
    assert len(np.unique(steady.mouths, axis=0)) == 1  # and so the mask does not shimmer either
    assert len(np.unique(steady.jaws.reshape(len(steady.jaws), -1), axis=0)) == 1
    # the five points a restorer is aligned by: found, and held like the box
    assert np.isfinite(steady.landmarks).all()
    assert len(np.unique(steady.landmarks.reshape(len(steady.landmarks), -1), axis=0)) == 1
    crops = {padded_box(box, DEFAULT_PADS, (info.height, info.width)) for box in steady.boxes}
    assert len(crops) == 1
    settings = TrackSettings(interval=1, smooth_window=1, steady=False)
    detected = face_track(info, info.n_frames, *blazeface, settings, None, lambda *_: None).track
    assert len(np.unique(detected.boxes, axis=0)) > 5  # what the detector alone gives
    assert min(iou(box, steady.boxes[:1])[0] for box in detected.boxes) >= 0.95


def test_a_sweeping_face_is_followed_smoothly_and_closely(tmp_path, blazeface):
    """Keyframes against detection on every frame: IoU >= 0.93 on every frame with the
    detector run on under half of them; and against the true motion of the pasted head
    (known here), a small error and no jerks (bench/steadiness.py measures both)."""
    seconds, size, face = 3.0, (1280, 720), 480
    clip = synthetic.face_video(tmp_path / "sweep.mp4", seconds, size=size, face=face)
    info = video.probe(clip)
    fast = track_of(clip, blazeface, interval=8)
    settings = TrackSettings(interval=1, smooth_window=1, steady=False)
    detected = face_track(info, info.n_frames, *blazeface, settings, None, lambda *_: None)
    assert detected.detected_frames == 75 and fast.detected_frames < 35
    assert fast.track.frames_without_face == detected.track.frames_without_face == 0
    overlaps = [iou(a, b[None])[0] for a, b in zip(detected.track.boxes, fast.track.boxes, strict=True)]
    assert min(overlaps) >= 0.93, min(overlaps)
    motion = synthetic.head_offsets(info.n_frames, size, face).astype(np.float32)
    error = fast.track.boxes - np.tile(motion, 2)
    error -= np.median(error, axis=0)  # the box's constant place on the head
    side = face * (HEAD_FACE[2] - HEAD_FACE[0])
    assert np.abs(error).max() < 0.03 * side  # within 3 % of the face box's side
    jerk = np.abs(np.diff(fast.track.boxes, n=2, axis=0)).max()
    assert jerk < 4.0  # px a frame, where the head itself moves up to 15 px a frame


def test_a_test_pattern_has_no_face(tmp_path, blazeface):
    """ffmpeg's testsrc2: BlazeFace reports a face on 3 of these 100 frames (52, 66, 93), the
    track had them before faces were confirmed; the mesh confirms none of them."""
    clip = tmp_path / "testsrc2.mp4"
    pattern = ({"f": "lavfi"}, "testsrc2=size=1280x720:rate=25:duration=4")
    subprocess.run(command([pattern], {"c:v": "libx264", "pix_fmt": "yuv420p"}, clip), check=True)
    result = track_of(clip, blazeface, interval=8)  # no face: every frame is detected anyway
    assert result.track.frames_without_face == len(result.track.boxes) == 100


def test_the_larger_face_is_followed_unless_a_point_picks_the_other(tmp_path, blazeface):
    frames, truth = synthetic.two_faces(40, drift=1.0)
    info = video.probe(synthetic.write_video(tmp_path / "two.mp4", frames))

    def followed(point=None) -> np.ndarray:
        settings = TrackSettings(face_point=point)
        return face_track(info, info.n_frames, *blazeface, settings, None, lambda *_: None).track.boxes

    default = followed()
    assert all(iou(t, b[None])[0] > 0.6 for t, b in zip(truth["large"], default, strict=True))
    small_centre = (truth["small"][0, :2] + truth["small"][0, 2:]) / 2
    picked = followed(tuple(map(float, small_centre)))
    assert all(iou(t, b[None])[0] > 0.6 for t, b in zip(truth["small"], picked, strict=True))
