import subprocess

import cv2
import numpy as np
import pytest

from heygem.errors import MediaError
from heygem.media import video
from heygem.media.ffmpeg import ffmpeg_exe
from heygem.testing import synthetic


def ffmpeg(*args):
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *map(str, args)], check=True)


def ffmpeg_frames(path, n, w, h):
    """Frames as ffmpeg itself decodes them (rotation applied), (n, h, w, 3) uint8 BGR."""
    cmd = [
        ffmpeg_exe(),
        "-v",
        "error",
        "-i",
        str(path),
        "-frames:v",
        str(n),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-",
    ]
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def test_probe_25fps(face_clip):
    info = video.probe(face_clip)
    assert (info.width, info.height, info.n_frames) == (640, 360, 50)
    assert info.fps == 25.0 and info.duration == pytest.approx(2.0)
    assert not info.is_image and not info.variable_frame_rate and info.rotation == 0


def test_probe_2997_is_exact(tmp_path):
    path = synthetic.face_video(tmp_path / "ntsc.mp4", 1.0, fps=30000 / 1001, size=(320, 180), face=100)
    info = video.probe(path)
    assert info.fps == 30000 / 1001
    assert info.n_frames == 30


def test_frames_match_ffmpeg_and_seek_reads_match_a_full_read(face_clip):
    info = video.probe(face_clip)
    full = list(video.read_frames(info, range(info.n_frames)))
    assert len(full) == 50
    error = np.stack(full).astype(int) - np.stack(list(synthetic.face_frames(50)))
    assert abs(error.mean()) < 0.3 and np.abs(error).mean() < 2  # unbiased, codec noise only
    middle = list(video.read_frames(info, range(31, 44)))
    for k, frame in zip(range(31, 44), middle, strict=True):
        np.testing.assert_array_equal(frame, full[k])


def test_backwards_and_pingpong_reads(face_clip, monkeypatch):
    info = video.probe(face_clip)
    full = list(video.read_frames(info, range(info.n_frames)))
    monkeypatch.setattr(video, "REVERSE_BLOCK_BYTES", info.frame_bytes * 8)  # force several blocks
    order = video.frame_order(130, info.n_frames)
    for k, frame in zip(order, video.read_frames(info, order.tolist()), strict=True):
        np.testing.assert_array_equal(frame, full[k])


def test_frame_order():
    assert video.frame_order(10, 4).tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert video.frame_order(6, 4, "loop").tolist() == [0, 1, 2, 3, 0, 1]
    assert video.frame_order(3, 10).tolist() == [0, 1, 2]  # a longer video is trimmed
    assert video.frame_order(4, 1).tolist() == [0, 0, 0, 0]
    order = video.frame_order(1000, 37)
    assert np.abs(np.diff(order)).max() == 1  # never a jump back to frame 0


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_is_applied(tmp_path, face_clip, rotation):
    path = tmp_path / f"phone{rotation}.mp4"
    ffmpeg("-display_rotation", rotation, "-i", face_clip, "-c", "copy", path)
    info = video.probe(path)
    w, h = (640, 360) if rotation == 180 else (360, 640)
    assert (info.width, info.height) == (w, h)
    ours = next(video.read_frames(info, [0])).astype(int)
    assert np.abs(ours - ffmpeg_frames(path, 1, w, h)[0]).mean() < 2.5
    small = next(video.read_frames(info, [0], size=(w // 2, h // 2)))
    assert small.shape == (h // 2, w // 2, 3)


def test_variable_frame_rate(tmp_path, face_clip):
    path = synthetic.variable_rate(tmp_path / "vfr.mp4", face_clip)
    info = video.probe(path)
    assert info.variable_frame_rate
    frames = list(video.read_frames(info, range(info.n_frames)))
    assert len(frames) == info.n_frames
    assert info.n_frames / info.fps == pytest.approx(info.duration, abs=2 / info.fps)


def test_image_is_a_still_video(tmp_path):
    path = tmp_path / "头像 photo.png"
    cv2.imencode(".png", synthetic.astronaut_bgr(101))[1].tofile(path)
    info = video.probe(path)
    assert info.is_image and info.fps == 25.0 and info.n_frames == 1
    frames = list(video.read_frames(info, [0, 0, 0]))
    assert len(frames) == 3 and frames[0].shape == (101, 101, 3)
    frames[0][:] = 0
    assert frames[1].any()  # each frame is its own copy


def test_bad_videos_are_named_with_their_reason(tmp_path, face_clip, speech):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(MediaError, match=r"notes.mp4: not a readable video"):
        video.probe(text)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaError, match=r"empty.mp4: the file is empty"):
        video.probe(empty)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(face_clip.read_bytes()[: face_clip.stat().st_size // 2])
    with pytest.raises(MediaError, match=r"truncated.mp4: not a readable video"):
        video.probe(truncated)
    audio_only = tmp_path / "voice.mp4"
    ffmpeg("-i", speech, "-c:a", "aac", audio_only)
    with pytest.raises(MediaError, match=r"voice.mp4: no video stream"):
        video.probe(audio_only)
    odd = tmp_path / "slides.pptx"
    odd.write_bytes(b"PK")
    with pytest.raises(MediaError, match=r"slides.pptx: unsupported file type '.pptx'"):
        video.probe(odd)


def test_truncated_faststart_video_fails_while_reading(tmp_path, face_clip):
    whole = tmp_path / "whole.mp4"
    ffmpeg("-i", face_clip, "-c", "copy", "-movflags", "+faststart", whole)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    info = video.probe(cut)
    with pytest.raises(MediaError, match=r"cut.mp4: the video ends early"):
        list(video.read_frames(info, range(info.n_frames)))
