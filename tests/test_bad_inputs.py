"""The bad-input matrix, through the command line and through the web API.

Every video case goes into ONE batch (after a good video, before another), so each test
also shows that the batch goes on; every narration case is its own batch. Each case expects
either the right output or a one-line reason that names the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from gradio_client import handle_file

from heygem.media import video
from heygem.media.audio import SAMPLE_RATE, load_audio
from heygem.media.encode import output_size
from heygem.media.ffmpeg import ffmpeg_exe
from heygem.testing import synthetic
from heygem.testing.processes import finished, wait_for

NARRATION_SECONDS = 2.0
SIZE = (320, 180)


def ffmpeg(*args):
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *map(str, args)], check=True)


def clip(folder: Path, name: str, seconds: float = 1.0, **kw) -> Path:
    return synthetic.face_video(
        folder / name, seconds, size=kw.pop("size", SIZE), face=kw.pop("face", 110), **kw
    )


@dataclass(frozen=True)
class Case:
    name: str  # file name, as the user has it
    error: str | None = None  # expected reason (substring); None: a right output is expected
    size: tuple[int, int] | None = None  # expected output (w, h)
    fps: float | None = None  # expected output frame rate
    all_without_face: bool = False
    some_without_face: bool = False


def make_videos(folder: Path) -> list[tuple[Case, Path]]:
    """(case, file) for every video case; the first and last are plain good clips."""
    made = []

    def add(case, path):
        made.append((case, path))

    add(Case("good first.mp4"), clip(folder, "good first.mp4"))
    text = folder / "notes.mp4"
    text.write_text("not a video, just text renamed\n" * 20)
    add(Case("notes.mp4", error="notes.mp4: not a readable video"), text)
    whole = clip(folder, "whole.mp4")
    cut = folder / "truncated.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    add(Case("truncated.mp4", error="truncated.mp4: not a readable video"), cut)
    empty = folder / "empty.mp4"
    empty.touch()
    add(Case("empty.mp4", error="empty.mp4: the file is empty"), empty)
    voice = synthetic.speech_wav(folder / "voice.wav", 1.0)
    audio_only = folder / "voice only.mp4"
    ffmpeg("-i", voice, "-c:a", "aac", audio_only)
    add(Case("voice only.mp4", error="voice only.mp4: no video stream"), audio_only)
    add(Case("one frame.mp4", size=SIZE), clip(folder, "one frame.mp4", 0.04))
    add(
        Case("uhd 4k.mp4", size=(3840, 2160)),
        clip(folder, "uhd 4k.mp4", 0.4, size=(3840, 2160), face=1200),
    )
    # a phone held upright: the camera stores landscape pictures and a "rotate 90" tag
    portrait = (SIZE[1], SIZE[0])
    coded = [cv2.rotate(f, cv2.ROTATE_90_CLOCKWISE) for f in synthetic.face_frames(25, portrait, 110)]
    stored = synthetic.write_video(folder / "phone-src.mp4", coded, size=SIZE)
    upright = folder / "phone.mp4"
    ffmpeg("-display_rotation", 90, "-i", stored, "-c", "copy", upright)
    add(Case("phone.mp4", size=portrait), upright)
    vfr = synthetic.variable_rate(folder / "vfr.mp4", clip(folder, "vfr-src.mp4", 2.0), cycle=3, dropped=1)
    add(Case("vfr.mp4", size=SIZE), vfr)
    add(Case("sixty.mp4", fps=60.0), clip(folder, "sixty.mp4", fps=60.0))
    add(Case("ntsc.mp4", fps=30000 / 1001), clip(folder, "ntsc.mp4", fps=30000 / 1001))
    frames = list(synthetic.face_frames(100, SIZE, 110))
    for i in range(10, 60):  # the presenter walks out for 2 s (40 of them in the 2 s output)
        frames[i] = np.full_like(frames[i], 70)
    add(
        Case("walks out.mp4", some_without_face=True),
        synthetic.write_video(folder / "walks out.mp4", frames, size=SIZE),
    )
    room = synthetic.write_video(
        folder / "empty room.mp4", (np.full((180, 320, 3), 90, np.uint8) for _ in range(25)), size=SIZE
    )
    add(Case("empty room.mp4", all_without_face=True), room)
    two = [f.copy() for f in synthetic.face_frames(25, SIZE, 110, move=False)]
    small = synthetic.astronaut_bgr(60)
    for f in two:
        f[10:70, 250:310] = small
    add(
        Case("two faces.mp4", size=SIZE),
        synthetic.write_video(folder / "two faces.mp4", two, size=SIZE),
    )
    still = folder / "portrait.jpg"
    cv2.imwrite(str(still), synthetic.astronaut_bgr(201))
    add(Case("portrait.jpg", size=output_size(201, 201, None), fps=25.0), still)
    for odd in ("with space.mp4", "中文 名字.mp4", 'quote\'s "x".mp4', "-leading dash.mp4"):
        add(Case(odd, size=SIZE), clip(folder, odd))
    add(Case("good last.mp4"), clip(folder, "good last.mp4"))
    return made


def check(case: Case, status: str, error: str | None, output: str | None, frames, without_face):
    if case.error:
        assert status == "failed", case
        assert case.error in error and "\n" not in error and "Traceback" not in error
        return
    assert status == "done", (case, error)
    info = video.probe(output)
    if case.size:
        assert (info.width, info.height) == case.size
    if case.fps:
        assert info.fps == pytest.approx(case.fps, rel=1e-3)
    assert info.n_frames / info.fps == pytest.approx(NARRATION_SECONDS, abs=1.5 / info.fps)
    assert abs(len(load_audio(output)) / SAMPLE_RATE - NARRATION_SECONDS) < 0.06
    if case.all_without_face:
        assert without_face == frames
    elif case.some_without_face:
        assert 36 <= without_face <= 44
    else:
        assert without_face == 0


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad inputs")
    narration = synthetic.speech_wav(folder / "narration.wav", NARRATION_SECONDS)
    cases = make_videos(folder)
    assert [c.name for c, _ in cases] == CASE_NAMES
    return folder, narration, cases


@pytest.fixture(scope="module")
def cli_run(matrix):
    folder, narration, cases = matrix
    out = folder / "cli out"
    cmd = [
        sys.executable,
        "-m",
        "heygem",
        "batch",
        str(narration),
        *[str(p) for _, p in cases],
        "-o",
        str(out),
        "--engine",
        "preview",
        "--chunk-seconds",
        "1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    manifest = json.loads((out / "batch.json").read_text())
    return proc, out, {Path(v["video"]).name: v for v in manifest["videos"]}


CASE_NAMES = [
    "good first.mp4",
    "notes.mp4",
    "truncated.mp4",
    "empty.mp4",
    "voice only.mp4",
    "one frame.mp4",
    "uhd 4k.mp4",
    "phone.mp4",
    "vfr.mp4",
    "sixty.mp4",
    "ntsc.mp4",
    "walks out.mp4",
    "empty room.mp4",
    "two faces.mp4",
    "portrait.jpg",
    "with space.mp4",
    "中文 名字.mp4",
    'quote\'s "x".mp4',
    "-leading dash.mp4",
    "good last.mp4",
]


@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_video_case_through_the_cli(cli_run, matrix, case_name):
    proc, _, results = cli_run
    case = next(c for c, _ in matrix[2] if c.name == case_name)
    v = results[case_name]
    check(case, v["status"], v["error"], v["output"], v["frames"], v["frames_without_face"])
    assert "Traceback" not in proc.stderr and proc.returncode == 1


@pytest.fixture(scope="module")
def api_run(app, matrix):
    _, narration, cases = matrix
    client = app.client()
    batch = client.predict(
        handle_file(narration),
        [handle_file(p) for _, p in cases],
        {"chunk_seconds": 1},
        api_name="/submit_batch",
    )

    status = wait_for(lambda: finished(client, batch), timeout=900, every=1.0)
    # keyed by our names: Gradio's upload route itself rewrites some characters (' and ")
    return {case.name: item for (case, _), item in zip(cases, status["items"], strict=True)}


@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_video_case_through_the_api(api_run, matrix, case_name):
    case = next(c for c, _ in matrix[2] if c.name == case_name)
    item = api_run[case_name]
    check(
        case,
        item["status"],
        item["error"],
        item["output"],
        item["frames"],
        item["frames_without_face"],
    )


# -- narrations: each its own batch ------------------------------------------------------------


def make_audio(folder: Path, kind: str) -> tuple[Path, float | None, str | None]:
    """(file, expected output seconds or None, expected error or None)."""
    speech = synthetic.speech_like(2.0, 44100)
    if kind == "html-as-mp3":
        path = folder / "page.mp3"
        path.write_text("<!doctype html><html><body>not audio</body></html>")
        return path, None, "page.mp3"
    if kind == "zero-byte":
        path = folder / "nothing.wav"
        path.touch()
        return path, None, "nothing.wav"
    if kind == "video-without-audio":
        return clip(folder, "silent film.mp4"), None, "silent film.mp4"
    if kind == "8khz":
        return (
            synthetic.write_wav(folder / "phone call.wav", synthetic.speech_like(2.0, 8000), 8000),
            2.0,
            None,
        )
    if kind == "44k-stereo":
        stereo = np.stack([speech, speech[::-1]], axis=1)
        return synthetic.write_wav(folder / "studio.wav", stereo, 44100), 2.0, None
    if kind == "48khz-flac":
        src = synthetic.write_wav(folder / "src48.wav", synthetic.speech_like(2.0, 48000), 48000)
        ffmpeg("-i", src, folder / "broadcast.flac")
        return folder / "broadcast.flac", 2.0, None
    if kind == "mp3-with-cover-art":
        src = synthetic.write_wav(folder / "src.wav", speech, 44100)
        cover = folder / "cover.jpg"
        cv2.imwrite(str(cover), synthetic.astronaut_bgr(120))
        path = folder / "podcast.mp3"
        ffmpeg(
            "-i",
            src,
            "-i",
            cover,
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-c:a",
            "libmp3lame",
            "-c:v",
            "mjpeg",
            "-id3v2_version",
            "3",
            "-disposition:v",
            "attached_pic",
            path,
        )
        return path, 2.0, None
    if kind == "10x-longer":
        return synthetic.speech_wav(folder / "long lecture.wav", 10.0), 10.0, None
    if kind == "10x-shorter":
        return synthetic.speech_wav(folder / "short line.wav", 0.1), 0.1, None
    if kind == "silence":
        return (
            synthetic.write_wav(folder / "silence.wav", np.zeros(2 * SAMPLE_RATE, np.float32)),
            2.0,
            None,
        )
    raise ValueError(kind)


AUDIO_KINDS = [
    "html-as-mp3",
    "zero-byte",
    "video-without-audio",
    "8khz",
    "44k-stereo",
    "48khz-flac",
    "mp3-with-cover-art",
    "10x-longer",
    "10x-shorter",
    "silence",
]


@pytest.fixture(scope="module")
def presenter(tmp_path_factory):
    return clip(tmp_path_factory.mktemp("presenter"), "presenter.mp4", 1.0)


@pytest.mark.parametrize("kind", AUDIO_KINDS)
def test_narration_case_through_the_cli(tmp_path, presenter, kind):
    audio, seconds, error = make_audio(tmp_path, kind)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "heygem",
        "batch",
        str(audio),
        str(presenter),
        "-o",
        str(out),
        "--engine",
        "preview",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    result = json.loads((out / "batch.json").read_text())["videos"][0]
    assert "Traceback" not in proc.stderr
    if error:
        assert proc.returncode == 1 and result["status"] == "failed"
        assert result["error"].startswith(error) and error in proc.stderr
        assert not list(out.glob("*.mp4"))
        return
    assert proc.returncode == 0, proc.stderr
    info = video.probe(result["output"])
    assert info.n_frames / info.fps == pytest.approx(seconds, abs=1.5 / info.fps)
    if kind == "10x-longer":  # a 1 s video under 10 s of narration: ping-pong, never a jump
        assert result["frames"] == 250


@pytest.mark.parametrize("kind", AUDIO_KINDS)
def test_narration_case_through_the_api(app, tmp_path, presenter, kind):
    audio, seconds, error = make_audio(tmp_path, kind)
    client = app.client()
    if error:
        with pytest.raises(Exception, match=error.split(".")[0]):
            client.predict(handle_file(audio), [handle_file(presenter)], api_name="/submit_batch")
        return
    batch = client.predict(handle_file(audio), [handle_file(presenter)], api_name="/submit_batch")

    item = wait_for(lambda: finished(client, batch), timeout=300)["items"][0]
    assert item["status"] == "done", item["error"]
    info = video.probe(item["output"])
    assert info.n_frames / info.fps == pytest.approx(seconds, abs=1.5 / info.fps)
