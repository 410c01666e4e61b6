"""The command line's batch run again into the same folder, and its presenters from the app's
library (the real CLI in a subprocess, loudness engine)."""

from __future__ import annotations

import json
import subprocess
import sys

from heygem.testing import synthetic
from heygem.web.service import Upload


def heygem(*args):
    cmd = [sys.executable, "-m", "heygem", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_a_batch_run_again_keeps_what_it_made_and_redo_makes_it_again(tmp_path, speech):
    """Review finding 52: a run after a crash made every pair again, as ``name-1.mp4``."""
    short = synthetic.speech_wav(tmp_path / "short.wav", 0.5)
    first, second = (synthetic.face_video(tmp_path / f"{n}.mp4", 0.5, size=(160, 96), face=60) for n in "ab")
    out = tmp_path / "out"
    engine = ("--engine", "loudness", "--device", "cpu")
    assert heygem("batch", short, first, "-o", out, *engine).returncode == 0
    made = (out / "a.mp4").stat()
    again = heygem("batch", short, first, second, "-o", out, *engine)  # the pair added since
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mp4", "b.mp4"]  # no a-1.mp4
    assert (out / "a.mp4").stat().st_ino == made.st_ino  # kept, not made again
    manifest = json.loads((out / "batch.json").read_text())
    assert [(v["video"], v["status"]) for v in manifest["videos"]] == [
        (str(first), "done"),
        (str(second), "done"),
    ]
    redone = heygem("batch", short, first, "-o", out, "--redo", *engine)
    assert redone.returncode == 0, redone.stderr
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mp4", "b.mp4"]
    assert (out / "a.mp4").stat().st_ino != made.st_ino  # made again, under its own name


def test_presenters_from_the_apps_library(service, speech, face_clip, tmp_path, capsys):
    from heygem.cli import main  # in this process where nothing is rendered: it is quicker

    service.presenters.add(Upload(face_clip, "anna take 2.mp4"), "Anna", {"mask": "mouth"})
    workspace = service.workspace.root
    assert main(["presenters", "list", "--workspace", str(workspace)]) == 0
    assert "Anna  (anna take 2.mp4; face track later; mask=mouth)" in capsys.readouterr().out
    out = tmp_path / "out"
    assert (
        main(["batch", str(speech), "--presenter", "Ben", "--workspace", str(workspace), "-o", str(out)]) == 2
    )
    refused = capsys.readouterr().err
    assert "no presenter 'Ben'" in refused and "has: Anna" in refused
    nowhere = str(tmp_path / "nowhere")
    assert main(["batch", str(speech), "--presenter", "Anna", "--workspace", nowhere, "-o", str(out)]) == 2
    assert "no presenter library in" in capsys.readouterr().err
    made = heygem(
        "batch", speech, "--presenter", "anna", "--workspace", workspace, "-o", out, "--engine", "loudness"
    )
    assert made.returncode == 0, made.stderr
    assert [p.name for p in out.glob("*.mp4")] == ["Anna.mp4"]  # named after the presenter
    entry = json.loads((out / "batch.json").read_text())["videos"][0]
    assert entry["video"] == service.presenters.get("Anna").file and entry["status"] == "done"
    unknown = heygem("batch", speech, "--presenter", "Ben", "--workspace", workspace, "-o", out)
    assert (
        unknown.returncode == 2 and "no presenter 'Ben'" in unknown.stderr and "has: Anna" in unknown.stderr
    )
    nowhere = heygem("batch", speech, "--presenter", "Anna", "--workspace", tmp_path / "nowhere", "-o", out)
    assert nowhere.returncode == 2 and "no presenter library in" in nowhere.stderr
