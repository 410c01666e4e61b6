"""The real command line with several narrations: `python -m heygem batch --audio ... --video ...`,
pairing rules and manifests."""

import json
import subprocess
import sys

import pytest

from heygem.media import SAMPLE_RATE, load_audio, video
from heygem.testing import synthetic


def heygem(*args, cwd=None):
    cmd = [sys.executable, "-m", "heygem", "batch", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.fixture
def course(tmp_path):
    """Two narrations of different lengths, both shorter than three different presenters (so
    the longest narration decides how much of each face track is needed), and options that
    keep the run to the loudness engine and a cache of this test's own."""
    folder = tmp_path / "course"
    folder.mkdir()
    empty = tmp_path / "no weights"
    empty.mkdir()
    return {
        "audios": [
            synthetic.speech_wav(folder / "lesson01.wav", 1.0, seed=1),
            synthetic.speech_wav(folder / "lesson02.wav", 1.6, seed=2),
        ],
        "videos": [
            synthetic.face_video(folder / "anna.mp4", 2.0, size=(320, 180), face=120),
            synthetic.face_video(folder / "ben.mp4", 2.0, size=(352, 192), face=130),
            synthetic.face_video(folder / "carl.mp4", 2.0, size=(288, 160), face=110, move=False),
        ],
        "folder": folder,
        "options": ["--checkpoint-dir", empty, "--cache-dir", tmp_path / "cache"],
    }


def seconds_of(path):
    """(video seconds, audio seconds) of an output."""
    info = video.probe(path)
    return info.n_frames / info.fps, len(load_audio(path)) / SAMPLE_RATE


def test_every_narration_onto_every_video(course, tmp_path):
    out = tmp_path / "out"
    proc = heygem("--audio", *course["audios"], "--video", *course["videos"], "-o", out, *course["options"])
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "batch.json").read_text())
    names = sorted(p.name for p in out.glob("*.mp4"))
    assert names == sorted(f"{v}__{a}.mp4" for a in ("lesson01", "lesson02") for v in ("anna", "ben", "carl"))
    pairs = [(e["audio"], e["video"]) for e in manifest["videos"]]
    assert sorted(pairs) == sorted((str(a), str(v)) for a in course["audios"] for v in course["videos"])
    assert manifest["audio"] is None and manifest["audios"] == [str(a) for a in reversed(course["audios"])]
    assert manifest["counts"]["done"] == 6 and manifest["unmatched"] == []
    for entry in manifest["videos"]:
        expected = 1.0 if entry["audio"].endswith("lesson01.wav") else 1.6
        shown, heard = seconds_of(entry["output"])
        assert abs(shown - expected) <= 1 / 25 and abs(heard - expected) < 0.05, entry
    # the face detector ran once per video across the batch: on its first pair, never again
    for clip in course["videos"]:
        runs = [e for e in manifest["videos"] if e["video"] == str(clip)]
        assert [e["track_cached"] for e in runs] == [False, True], runs
        assert runs[0]["detected_frames"] > 0 and runs[1]["detected_frames"] == 0
    assert "[6/6] lesson01.wav → " in proc.stderr


def test_the_old_form_still_runs_one_narration(course, tmp_path):
    out = tmp_path / "out"
    proc = heygem(course["audios"][0], *course["videos"][:2], "-o", out, *course["options"])
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == ["anna.mp4", "ben.mp4"]
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["audio"] == str(course["audios"][0]) and manifest["audios"] == [manifest["audio"]]


def test_pairing_by_name_lists_the_unmatched_file_and_does_not_run_it(course, tmp_path):
    anna_lesson = course["folder"] / "lesson01.mp4"
    anna_lesson.write_bytes(course["videos"][0].read_bytes())
    out = tmp_path / "out"
    proc = heygem(
        "--audio", *course["audios"], "--video", anna_lesson, "--pair", "name", "-o", out, *course["options"]
    )
    assert proc.returncode == 0, proc.stderr
    assert f"not paired, left out: {course['audios'][1]}" in proc.stderr
    assert [p.name for p in out.glob("*.mp4")] == ["lesson01.mp4"]  # one narration is used: plain names
    manifest = json.loads((out / "batch.json").read_text())
    assert [e["audio"] for e in manifest["videos"]] == [str(course["audios"][0])]
    assert manifest["unmatched"] == [str(course["audios"][1])]


def test_a_csv_manifest_with_relative_paths(course, tmp_path):
    jobs = course["folder"].parent / "jobs.csv"
    jobs.write_text(
        "audio,video,output,height\n"
        "course/lesson02.wav,course/anna.mp4,Welcome Anna.mp4,\n"
        "course/lesson01.wav,course/ben.mp4,,96\n"
    )
    out = tmp_path / "out"
    proc = heygem("--manifest", jobs, "-o", out, *course["options"])
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == ["Welcome Anna.mp4", "ben__lesson01.mp4"]
    assert video.probe(out / "ben__lesson01.mp4").height == 96  # the row's own setting
    assert video.probe(out / "Welcome Anna.mp4").height == 180
    assert abs(seconds_of(out / "Welcome Anna.mp4")[1] - 1.6) < 0.05


def test_a_csv_manifest_with_one_bad_row_is_refused_before_anything_runs(course, tmp_path):
    jobs = course["folder"] / "jobs.csv"
    jobs.write_text("audio,video\nlesson01.wav,anna.mp4\nlesson01.wav,dana.mp4\nlesson02.wav,ben.mp4\n")
    out = tmp_path / "out"
    proc = heygem("--manifest", jobs, "-o", out, *course["options"])
    assert proc.returncode == 2
    assert f"jobs.csv: line 3: video 'dana.mp4' not found (looked in {course['folder']})" in proc.stderr
    assert not out.exists() and "Traceback" not in proc.stderr


def test_one_bad_narration_among_three_fails_only_its_pairs(course, tmp_path):
    truncated = course["folder"] / "lesson03.wav"
    truncated.write_bytes(course["audios"][1].read_bytes()[:30])  # a header cut short
    out = tmp_path / "out"
    audios = [course["audios"][0], truncated, course["audios"][1]]
    proc = heygem("--audio", *audios, "--video", *course["videos"][:2], "-o", out, *course["options"])
    assert proc.returncode == 1
    manifest = json.loads((out / "batch.json").read_text())
    outcome = {(e["audio"].split("/")[-1], e["video"].split("/")[-1]): e for e in manifest["videos"]}
    assert len(outcome) == 6
    for (audio, _), entry in outcome.items():
        if audio == "lesson03.wav":
            assert entry["status"] == "failed" and entry["error"].startswith("lesson03.wav: "), entry
        else:
            assert entry["status"] == "done", entry
    assert sorted(p.name for p in out.glob("*.mp4")) == [
        "anna__lesson01.mp4",
        "anna__lesson02.mp4",
        "ben__lesson01.mp4",
        "ben__lesson02.mp4",
    ]


def test_bad_command_lines_say_why(course, tmp_path):
    out = tmp_path / "out"
    proc = heygem("--audio", *course["audios"], "-o", out)
    assert proc.returncode == 2 and "no videos were given" in proc.stderr
    proc = heygem("--manifest", tmp_path / "x.csv", "--audio", course["audios"][0], "-o", out)
    assert proc.returncode == 2 and "--manifest lists the pairs itself" in proc.stderr
    proc = heygem("--audio", *course["audios"], "--video", *course["videos"], "--max-pairs", "5", "-o", out)
    assert proc.returncode == 2 and "6 pairs (2 × 3) is more than a batch may hold (5)" in proc.stderr
    assert not out.exists()
