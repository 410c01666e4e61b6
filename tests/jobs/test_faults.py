"""Faults: a full disk, and kill -9 of the app while the model loads and while it muxes."""

import json
import resource
import sqlite3
import subprocess
import sys

import pytest
from gradio_client import handle_file

from heygem.jobs.diskspace import DiskFullError, check_free_space, needed_bytes
from heygem.testing import synthetic
from heygem.testing.processes import App, Pauses, finished, wait_for


def test_disk_check_refuses_what_cannot_fit(tmp_path):
    check_free_space(tmp_path, 640, 360, 25, 10, "small.mp4")  # fits anywhere
    assert needed_bytes(1920, 1080, 25, 3600) > 2 * needed_bytes(1920, 1080, 25, 1800) - 300e6
    with pytest.raises(DiskFullError, match=r"huge.mp4: not enough free disk space .* GB free"):
        check_free_space(tmp_path, 3840, 2160, 60, 10**9, "huge.mp4")


def test_a_write_that_hits_the_limit_fails_cleanly(tmp_path, speech):
    """ENOSPC stand-in: a file-size limit on the process (and its ffmpeg children)."""
    clip = synthetic.face_video(tmp_path / "big.mp4", 3.0, size=(640, 360))
    small = synthetic.face_video(tmp_path / "small.mp4", 0.4, size=(64, 36), face=30)
    out = tmp_path / "out"
    limit = 120_000  # bytes: the small clip fits, the big one does not

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    cmd = [
        sys.executable,
        "-m",
        "heygem",
        "batch",
        str(speech),
        str(clip),
        str(small),
        "-o",
        str(out),
        "--engine",
        "preview",
        "--crf",
        "10",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=cap, timeout=300)
    assert proc.returncode == 1, proc.stderr
    manifest = json.loads((out / "batch.json").read_text())
    big, little = manifest["videos"]
    assert big["status"] == "failed" and big["error"].startswith("big.mp4: encoder")
    assert "file-size limit" in big["error"] or "File too large" in big["error"]
    assert little["status"] == "done"  # the batch went on
    assert sorted(p.name for p in out.rglob("*.mp4")) == ["small.mp4"]  # no partial file anywhere
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, random_checkpoint):
    folder = tmp_path_factory.mktemp("checkpoints")
    (folder / "wav2lip.pth").write_bytes(random_checkpoint.read_bytes())
    return folder


def _store_ok(workspace):
    with sqlite3.connect(workspace / "heygem.sqlite") as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill_while_the_model_loads(tmp_path, checkpoints):
    ws = tmp_path / "ws"
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.6)
    clips = [synthetic.face_video(tmp_path / f"c{k}.mp4", 0.6, size=(160, 96), face=80) for k in range(2)]
    args = ("--engine", "wav2lip", "--checkpoint-dir", str(checkpoints))
    pauses = Pauses(tmp_path / "pauses", "video2:probing:0", "load")
    with App(ws, None, pauses.env, *args) as first:
        pauses.reached("load")
        pauses.release("load")
        first.wait_ready()
        client = first.client()
        batch = client.predict(handle_file(audio), [handle_file(c) for c in clips], api_name="/submit_batch")
        pauses.reached("video2:probing:0")  # the first video is done, the second has started
        first.kill()
    with App(ws, first.port, pauses.env, *args) as second:
        pauses.reached("load")  # held before the models load: killed while loading
        second.kill()
    pauses.release("load")
    assert _store_ok(ws)
    with App(ws, first.port, None, *args).wait_ready() as third:
        status = wait_for(lambda: finished(third.client(), batch), timeout=180)
        third.stop()
    assert [i["status"] for i in status["items"]] == ["done", "done"]
    assert [i["attempts"] for i in status["items"]] == [1, 2]  # the finished one was not redone
    assert sorted(p.name for p in (ws / "outputs" / batch).glob("*.mp4")) == ["c0.mp4", "c1.mp4"]
    assert _store_ok(ws)


def test_kill_during_the_final_mux(tmp_path):
    ws = tmp_path / "ws"
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 3.0)
    still = tmp_path / "portrait.png"
    import cv2

    cv2.imwrite(str(still), synthetic.astronaut_bgr(96))
    pauses = Pauses(tmp_path / "pauses", "mux")  # the output written in full, not yet named
    with App(ws, None, pauses.env).wait_ready() as first:
        client = first.client()
        batch = client.predict(
            handle_file(audio), [handle_file(still)], {"chunk_seconds": 1}, api_name="/submit_batch"
        )
        pauses.reached("mux")
        assert list((ws / "outputs" / batch / ".work").glob("*/output.*.part.mp4"))
        first.kill()
    assert not list((ws / "outputs" / batch).glob("*.mp4"))  # nothing published half-written
    with App(ws, first.port).wait_ready() as second:
        status = wait_for(lambda: finished(second.client(), batch), timeout=300)
        second.stop()
    assert status["state"] == "done"
    item = status["items"][0]
    assert (item["resumed_chunks"], item["chunk_attempts"]) == (3, [0, 0, 0])  # only the mux redone
    assert [p.name for p in (ws / "outputs" / batch).glob("*.mp4")] == ["portrait.mp4"]
    assert not list((ws / "outputs").rglob("*.part.mp4"))
    assert _store_ok(ws)
