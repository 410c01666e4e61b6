"""Pass 1: keyframe tracks against per-frame detection, and the face-track cache."""

from __future__ import annotations

import numpy as np
import pytest

from heygem.faces import BlazeFaceDetector, Landmarker
from heygem.faces.blazeface import iou
from heygem.faces.track import FaceTrack
from heygem.faces.trackcache import TrackCache
from heygem.faces.trackpass import TrackSettings, face_track
from heygem.media import video
from heygem.testing import synthetic


@pytest.fixture(scope="module")
def blazeface():
    return BlazeFaceDetector(), Landmarker()


def track_of(clip, blazeface, interval: int, cache=None):
    info = video.probe(clip)
    settings = TrackSettings(interval=interval)
    return face_track(info, info.n_frames, *blazeface, settings, cache, lambda *_: None)


def test_keyframe_track_matches_per_frame_detection(tmp_path, blazeface):
    clip = synthetic.face_video(tmp_path / "sweep.mp4", 3.0, size=(1280, 720), face=480)
    plain = track_of(clip, blazeface, interval=1)
    fast = track_of(clip, blazeface, interval=8)
    assert plain.detected_frames == 75 and fast.detected_frames < 40
    overlaps = [iou(a, b[None])[0] for a, b in zip(plain.track.boxes, fast.track.boxes, strict=True)]
    assert min(overlaps) >= 0.9, min(overlaps)


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
