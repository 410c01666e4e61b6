"""Several narrations through the real app's API (/submit_batch with audios, pairing, manifest)."""

import json

import pytest
from gradio_client import handle_file

from heygem.media import SAMPLE_RATE, load_audio, video
from heygem.testing import synthetic
from heygem.testing.processes import App, finished, wait_for


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with a face-track cache of its own, so that "detected once" counts this module's runs only."""
    running = App(
        tmp_path_factory.mktemp("workspace"),
        env={"HEYGEM_CACHE_DIR": str(tmp_path_factory.mktemp("tracks"))},
    )
    yield running.wait_ready()
    running.stop()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("course")
    bad = folder / "lesson03.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    return {
        "lesson01": synthetic.speech_wav(folder / "lesson01.wav", 0.8, seed=5),
        "lesson02": synthetic.speech_wav(folder / "lesson02.wav", 1.4, seed=6),
        "lesson03": bad,
        "anna": synthetic.face_video(folder / "anna.mp4", 1.8, size=(320, 176), face=116),
        "ben": synthetic.face_video(folder / "ben.mp4", 1.8, size=(336, 192), face=124),
        "carl": synthetic.face_video(folder / "carl.mp4", 1.8, size=(304, 160), face=108, move=False),
    }


def files(course, *names):
    return [handle_file(course[n]) for n in names]


def test_every_narration_onto_every_video(app, course):
    client = app.client()
    batch_id = client.predict(
        None,
        files(course, "anna", "ben", "carl"),
        audios=files(course, "lesson01", "lesson02"),
        api_name="/submit_batch",
    )
    status = wait_for(lambda: finished(client, batch_id), timeout=180)
    assert status["state"] == "done" and status["total"] == 6
    assert sorted(status["audios"]) == ["lesson01.wav", "lesson02.wav"]
    pairs = sorted((i["audio"], i["video"]) for i in status["items"])
    assert pairs == [
        (a, v) for a in ("lesson01.wav", "lesson02.wav") for v in ("anna.mp4", "ben.mp4", "carl.mp4")
    ]
    outputs = app.workspace / "outputs" / batch_id
    assert sorted(p.name for p in outputs.glob("*.mp4")) == sorted(
        f"{v}__{a}.mp4" for a in ("lesson01", "lesson02") for v in ("anna", "ben", "carl")
    )
    for item in status["items"]:
        expected = 0.8 if item["audio"] == "lesson01.wav" else 1.4
        info = video.probe(item["output"])
        assert abs(info.n_frames / info.fps - expected) <= 1 / info.fps
        assert abs(len(load_audio(item["output"])) / SAMPLE_RATE - expected) < 0.05
    for clip in ("anna.mp4", "ben.mp4", "carl.mp4"):  # the face detector ran once per video
        runs = [i for i in status["items"] if i["video"] == clip]
        assert [i["track_cached"] for i in runs] == [False, True], runs
        assert runs[0]["detected_frames"] > 0 and runs[1]["detected_frames"] == 0
    manifest = json.loads((outputs / "batch.json").read_text())
    assert manifest["audio"] is None and [e["audio"] for e in manifest["videos"]] == [
        i["audio"] for i in status["items"]
    ]
    assert len(list((app.workspace / "uploads" / batch_id).iterdir())) == 5  # each file copied once


def test_one_bad_narration_among_three_fails_only_its_pairs(app, course):
    client = app.client()
    batch_id = client.predict(
        handle_file(course["lesson01"]),
        files(course, "anna", "ben"),
        audios=files(course, "lesson03", "lesson02"),
        api_name="/submit_batch",
    )
    status = wait_for(lambda: finished(client, batch_id), timeout=180)
    assert status["state"] == "partial"
    for item in status["items"]:
        if item["audio"] == "lesson03.wav":
            assert item["status"] == "failed" and item["error"].startswith("lesson03.wav: "), item
        else:
            assert item["status"] == "done", item
    assert sum(i["status"] == "done" for i in status["items"]) == 4


def test_the_only_narration_unreadable_still_refuses_the_batch(app, course):
    with pytest.raises(Exception, match="lesson03.wav"):
        app.client().predict(handle_file(course["lesson03"]), files(course, "anna"), api_name="/submit_batch")


def test_pairing_by_name_lists_the_unmatched_file(app, course, tmp_path):
    named = tmp_path / "lesson02.mp4"
    named.write_bytes(course["ben"].read_bytes())
    client = app.client()
    batch_id = client.predict(
        None,
        [handle_file(named), handle_file(course["carl"])],
        {"pairing": "name"},
        files(course, "lesson01", "lesson02"),
        api_name="/submit_batch",
    )
    status = wait_for(lambda: finished(client, batch_id), timeout=120)
    assert [(i["audio"], i["video"], i["status"]) for i in status["items"]] == [
        ("lesson02.wav", "lesson02.mp4", "done")
    ]
    assert status["unmatched"] == ["lesson01.wav", "carl.mp4"]
    assert json.loads((app.workspace / "outputs" / batch_id / "batch.json").read_text())["unmatched"] == [
        "lesson01.wav",
        "carl.mp4",
    ]


def test_a_manifest_upload(app, course, tmp_path):
    client = app.client()
    bad = tmp_path / "jobs.csv"
    bad.write_text("audio,video,output\nlesson01.wav,anna.mp4,\nlesson02.wav,dana.mp4,\n")
    with pytest.raises(Exception, match="jobs.csv: line 3: video 'dana.mp4' is not among the uploaded files"):
        client.predict(
            None,
            files(course, "anna"),
            audios=files(course, "lesson01", "lesson02"),
            manifest=handle_file(bad),
            api_name="/submit_batch",
        )
    good = tmp_path / "jobs.json"
    good.write_text(json.dumps([{"audio": "media/lesson02.wav", "video": "anna.mp4", "output": "Intro"}]))
    batch_id = client.predict(
        None,
        files(course, "anna"),
        audios=files(course, "lesson01", "lesson02"),
        manifest=handle_file(good),
        api_name="/submit_batch",
    )
    status = wait_for(lambda: finished(client, batch_id), timeout=120)
    assert [(i["audio"], i["video"]) for i in status["items"]] == [("lesson02.wav", "anna.mp4")]
    assert status["items"][0]["output"].endswith("/Intro.mp4") and status["unmatched"] == ["lesson01.wav"]
