"""The fast path against the plain one: keyframe face tracks, the track cache, the threaded
stages and the ONNX runtimes. Outputs must match (or stay within the stated tolerance)."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from heygem import synthetic, video
from heygem.audio import Narration
from heygem.batch import EngineSettings, load_syncer
from heygem.blazeface import iou
from heygem.encode import EncodeOptions
from heygem.faces import BlazeFaceDetector, Landmarker, TrackBuilder
from heygem.facetrack import FaceTrack
from heygem.pipeline import SyncOptions
from heygem.stages import Prefetch, Sink
from heygem.trackcache import TrackCache
from heygem.trackpass import TrackSettings, detection_size, face_track

LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")


@pytest.fixture(scope="module")
def blazeface():
    return BlazeFaceDetector(), Landmarker()


def track_of(clip, blazeface, interval: int, cache=None):
    info = video.probe(clip)
    builder = TrackBuilder(*blazeface, info.width / detection_size(info)[0])
    settings = TrackSettings(interval=interval)
    return face_track(info, info.n_frames, builder, settings, cache, lambda *_: None)


def test_keyframe_track_matches_per_frame_detection(tmp_path, blazeface):
    clip = synthetic.face_video(tmp_path / "sweep.mp4", 3.0, size=(1280, 720), face=480)
    plain = track_of(clip, blazeface, interval=1)
    fast = track_of(clip, blazeface, interval=8)
    assert plain.detected_frames == 75 and fast.detected_frames < 40
    overlaps = [
        iou(a, b[None])[0] for a, b in zip(plain.track.boxes, fast.track.boxes, strict=True)
    ]
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

    cache = TrackCache(tmp_path / "tracks", cap_bytes=6000)
    cache.put("long", track(100))
    assert len(cache.get("long", 40).boxes) == 40
    assert cache.get("long", 101) is None  # a longer request detects again
    for name in ("b", "c", "d"):
        cache.put(name, track(100))
    assert cache.size_bytes() <= 6000 and [p.stem for p in cache.entries()][-1] == "d"
    (tmp_path / "tracks" / "bad.npz").write_bytes(b"not numpy")
    assert cache.get("bad", 1) is None and not (tmp_path / "tracks" / "bad.npz").exists()


def test_second_run_skips_detection(tmp_path, speech, face_clip):
    settings = EngineSettings(engine="preview", device="cpu", cache_dir=tmp_path / "cache")
    syncer = load_syncer(settings, SyncOptions(encode=LOSSLESS))
    narration = Narration(speech)
    first = syncer.run(narration, face_clip, tmp_path / "1.mp4", tmp_path / "w1")
    other = Narration(synthetic.speech_wav(tmp_path / "other.wav", 2.5, seed=4))
    second = syncer.run(other, face_clip, tmp_path / "2.mp4", tmp_path / "w2")
    assert not first.track_cached and second.track_cached
    assert second.stage_seconds["detect"] <= 0.02 * first.stage_seconds["detect"] + 0.05
    assert set(first.stage_seconds) >= {"detect", "decode", "render", "encode", "mux"}


def test_prefetch_and_sink_pass_errors_and_stop():
    def numbers():
        yield from range(5)
        raise ValueError("decoder broke")

    got = []
    with pytest.raises(ValueError, match="decoder broke"):
        for item in Prefetch(numbers, depth=1):
            got.append(item)
    assert got == list(range(5))

    endless = Prefetch(lambda: iter(int, 1), depth=2)  # never ends by itself
    assert next(endless) == 0
    endless.close()
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())

    seen = []
    sink = Sink(seen.append, depth=1)
    for k in range(10):
        sink.put(k)
    sink.close()
    assert seen == list(range(10))

    def fail(item):
        raise OSError("encoder gone")

    broken = Sink(fail)
    with pytest.raises(OSError, match="encoder gone"):
        for k in range(100):
            broken.put(k)


def test_onnx_runtimes_stay_within_tolerance(random_checkpoint, tmp_path, _private_cache):
    from heygem.runtimes import (
        OnnxRunner,
        calibration_batches,
        clear_runner_cache,
        load_runner,
        quantize_int8,
    )

    clear_runner_cache()
    mels, faces = calibration_batches(1)[0]
    plain = load_runner("torch", random_checkpoint, "cpu").predict(mels, faces).astype(int)
    onnx = load_runner("onnx", random_checkpoint, "cpu")  # exported to the session's cache
    assert load_runner("onnx", random_checkpoint, "cpu") is onnx  # loaded once per process
    assert np.abs(onnx.predict(mels, faces).astype(int) - plain).max() <= 1
    assert onnx.predict(mels[:0], faces[:0]).shape == (0, 96, 96, 3)
    (fp32,) = (_private_cache / "models").glob("*-fp32.onnx")  # exported once, kept
    int8 = OnnxRunner(quantize_int8(fp32, tmp_path / "w8.onnx", batches=1), "onnx-int8")
    difference = np.abs(int8.predict(mels, faces).astype(int) - plain)
    assert difference.max() <= 4 and difference.mean() <= 0.5  # the README's tolerance


def test_wav2lip_runtimes_give_the_same_video(random_checkpoint, tmp_path, speech, face_clip):
    outputs = {}
    for runtime in ("torch", "onnx"):
        settings = EngineSettings(engine="wav2lip", checkpoint=random_checkpoint, device="cpu",
                                  runtime=runtime)  # fmt: skip
        syncer = load_syncer(settings, SyncOptions(encode=LOSSLESS))
        assert syncer.engine.runner.name == runtime
        result = syncer.run(Narration(speech), face_clip, tmp_path / f"{runtime}.mp4",
                            tmp_path / f"w-{runtime}")  # fmt: skip
        info = video.probe(result.output)
        outputs[runtime] = np.stack(list(video.read_frames(info, range(info.n_frames))))
    difference = np.abs(outputs["torch"].astype(int) - outputs["onnx"])
    assert difference.max() <= 2 and difference.mean() < 0.01


def test_preprocess_command_fills_the_cache(tmp_path, face_clip):
    def heygem(*args):
        cmd = [sys.executable, "-m", "heygem", *map(str, args), "--cache-dir", tmp_path]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    missing = tmp_path / "missing.mp4"
    proc = heygem("preprocess", face_clip, missing)
    assert proc.returncode == 1 and "missing.mp4: file not found" in proc.stderr
    assert "100%" in proc.stderr  # the progress bar reached the end for the good video
    assert len(TrackCache(tmp_path / "tracks").entries()) == 1
    assert "1 face track(s)" in heygem("cache", "info").stdout
    assert "removed 1" in heygem("cache", "clear").stdout
    assert not TrackCache(tmp_path / "tracks").entries()
