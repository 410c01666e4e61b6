import os

import numpy as np
import pytest

from heygem.media import encode, video
from heygem.media.encode import EncodeError, EncodeOptions, SegmentWriter
from heygem.testing import synthetic


def test_output_size_is_even():
    assert encode.output_size(641, 361, None) == (640, 360)
    assert encode.output_size(643, 363, None) == (644, 364)
    assert encode.output_size(1920, 1080, 720) == (1280, 720)
    assert encode.output_size(1080, 1920, 480) == (270, 480)
    assert encode.output_size(640, 360, 1080) == (640, 360)  # never upscales


def test_publish_never_overwrites(tmp_path):
    dest = tmp_path / "lesson.mp4"
    dest.write_bytes(b"earlier result")
    for expected in ("lesson-1.mp4", "lesson-2.mp4"):
        tmp = tmp_path / ".part"
        tmp.write_bytes(b"new")
        assert encode.publish(tmp, dest).name == expected
        assert not tmp.exists()
    assert dest.read_bytes() == b"earlier result"


def test_segments_then_mux_last_as_long_as_the_audio(tmp_path):
    frames = list(synthetic.face_frames(30, (322, 182), face=100))
    segments = []
    for k in range(2):  # two chunks of 15 frames
        writer = SegmentWriter(tmp_path / f"seg{k}.mp4", (322, 182), 25.0, EncodeOptions())
        for frame in frames[15 * k : 15 * (k + 1)]:
            writer.write(frame)
        segments.append(writer.close())
    wav = synthetic.speech_wav(tmp_path / "voice.wav", 1.2)
    out = encode.mux(segments, wav, 1.2, tmp_path / "out.mp4", EncodeOptions())
    info = video.probe(out)
    assert (info.width, info.height, info.n_frames) == (322, 182, 30)
    assert info.duration == pytest.approx(1.2, abs=0.04)
    decoded = np.stack(list(video.read_frames(info, range(30))))
    assert np.abs(decoded.astype(int) - np.stack(frames)).mean() < 3  # encoding noise only
    assert not list(tmp_path.glob("*.part*"))


def test_failed_encoder_leaves_no_file(tmp_path):
    writer = SegmentWriter(tmp_path / "seg.mp4", (64, 64), 25.0, EncodeOptions(preset="no-such"))
    with pytest.raises(EncodeError, match="encoder"):
        for _ in range(50):
            writer.write(np.zeros((64, 64, 3), np.uint8))
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_x264_threads_follow_the_cores_this_process_may_use(tmp_path):
    """Not the host's count, which ffmpeg's own "auto" uses (a 2-of-64-core container)."""
    import os

    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        one = SegmentWriter(tmp_path / "one.mp4", (64, 64), 25.0, EncodeOptions())
    finally:
        os.sched_setaffinity(0, allowed)
    three = SegmentWriter(tmp_path / "three.mp4", (64, 64), 25.0, EncodeOptions(threads=3))
    for writer, threads in ((one, "1"), (three, "3")):
        args = [str(a) for a in writer._proc.args]
        assert args[args.index("-threads") + 1] == threads
        writer.write(np.zeros((64, 64, 3), np.uint8))
        assert writer.close().exists()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="niceness is a POSIX feature")
def test_x264_runs_as_nice_as_asked(tmp_path):
    """x264 yields the cores to the model: every thread of it, its encoder's (started once
    frames arrive) too."""
    import psutil

    frames = list(synthetic.face_frames(12, (322, 182), face=100))
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    writer = SegmentWriter(tmp_path / "seg.mp4", (322, 182), 25.0, EncodeOptions(nice=7))
    for frame in frames:
        writer.write(frame)
    (x264,) = [c for c in psutil.Process().children() if any(str(tmp_path) in a for a in c.cmdline())]
    threads = [os.getpriority(os.PRIO_PROCESS, t.id) for t in x264.threads()]
    assert len(threads) > 1 and set(threads) == {min(19, mine + 7)}
    writer.close()
