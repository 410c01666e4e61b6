"""`python -m heygem batch --engine musetalk`: a course batch (one narration onto two lessons)
end to end on the CPU with random MuseTalk weights in the official layout, killed (kill -9)
while it muxes the first lesson and run again: the finished chunks are kept, not redone."""

import json
import os
import subprocess
import sys

import numpy as np

from heygem.media import audio, video
from heygem.pause import marker_for
from heygem.testing import synthetic
from heygem.testing.musetalk import random_musetalk
from heygem.testing.processes import Pauses, wait_for


def start(args, pauses):
    cmd = [sys.executable, "-m", "heygem", "batch", *map(str, args)]
    return subprocess.Popen(cmd, env={**os.environ, **pauses.env}, stderr=subprocess.PIPE, text=True)


def held_or_ended(proc, pauses, timeout=300):
    """The pause point the process is held at (a marker file), or None once it has ended."""
    return wait_for(
        lambda: (
            next(iter(sorted(pauses.folder.glob("*.paused"))), None) or (proc.poll() is not None and "ended")
        ),
        timeout,
        every=0.05,
    )


def test_a_musetalk_course_batch_resumes_after_a_kill(tmp_path):
    weights = random_musetalk(tmp_path / "musetalk", seed=2)
    lessons = [
        synthetic.face_video(tmp_path / f"lesson {k}.mp4", 0.4, size=(320, 180), face=120, move=False)
        for k in (1, 2)
    ]
    narration = synthetic.speech_wav(tmp_path / "narration.wav", 0.6)
    out = tmp_path / "out"
    args = [narration, *lessons, "-o", out, "--engine", "musetalk", "--checkpoint", weights]
    args += ["--device", "cpu", "--chunk-seconds", "0.2", "--crf", "0", "--batch-size", "5"]
    pauses = Pauses(tmp_path / "pauses", "mux")

    first = start(args, pauses)
    assert held_or_ended(first, pauses) == marker_for("mux", pauses.folder)  # lesson 1 written, not named
    chunks = sorted((out / ".work").glob("0000-*/segment_*.mp4"))
    assert len(chunks) == 3  # 15 frames in chunks of 5
    stamps = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in chunks]
    first.kill()
    first.wait()
    assert not (out / "lesson 1.mp4").exists()

    second = start(args, pauses)
    held = held_or_ended(second, pauses)
    assert held == marker_for("mux", pauses.folder)  # lesson 1 again: its chunks as they were
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in chunks] == stamps
    while held != "ended":
        pauses.release("mux")
        held = held_or_ended(second, pauses)
    assert second.wait() == 0, second.stderr.read()

    manifest = json.loads((out / "batch.json").read_text())
    assert [(v["status"], v["engine"], v["frames"]) for v in manifest["videos"]] == [
        ("done", "musetalk", 15)
    ] * 2
    for lesson in lessons:
        result = out / lesson.name
        info = video.probe(result)
        assert info.n_frames == 15 and (info.width, info.height) == (320, 180)  # the narration's 0.6 s
        assert abs(len(audio.load_audio(result)) / audio.SAMPLE_RATE - 0.6) < 0.03
        made = np.stack(list(video.read_frames(info, range(15))))
        source_info = video.probe(lesson)
        order = video.frame_order(15, source_info.n_frames)
        source = np.stack(list(video.read_frames(source_info, order.tolist())))
        far = np.ones((180, 320), bool)
        far[:, 80:240] = False  # the face and its crop are in the middle columns
        assert np.abs(made[:, far].astype(int) - source[:, far]).mean() < 1.0  # x264 at crf 0, yuv420p
        redrawn = np.abs(made[:, ~far].astype(int) - source[:, ~far]).max(axis=-1) > 12
        assert redrawn.sum(axis=1).min() > 200  # every frame's mouth was redrawn
