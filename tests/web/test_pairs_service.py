"""The service's side of pairs, in-process: the table of pairs the Batch tab shows, the pair limit, the zip's folders."""

import json
from pathlib import Path

import pytest

from heygem.lipsync.pairing import PairError
from heygem.testing import synthetic
from heygem.web.service import Upload
from heygem.web.views import pairs_html, status_html


@pytest.fixture
def service(service):
    service.max_pairs = 4
    return service


@pytest.fixture
def uploads(tmp_path, face_clip):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    return {
        "short": Upload(synthetic.speech_wav(tmp_path / "s.wav", 0.6), "lesson01.wav"),
        "long": Upload(synthetic.speech_wav(tmp_path / "l.wav", 1.2), "lesson02.wav"),
        "bad": Upload(bad, "broken.wav"),
        "anna": Upload(face_clip, "lesson01.mp4"),
        "ben": Upload(face_clip, "ben.mp4"),
    }


def test_the_pair_plan_is_what_start_records(service, uploads):
    audios = [uploads["short"], uploads["bad"], uploads["long"]]
    videos = [uploads["anna"]]
    plan = service.pair_plan(audios, videos)
    assert plan["pairs"] == 3 and plan["unmatched"] == []
    rows = [(r["audio"], r["output"], r["error"]) for r in plan["rows"]]
    assert rows == [  # the longest narration first; the unreadable one last, with its reason
        ("lesson02.wav", "lesson01__lesson02.mp4", None),
        ("lesson01.wav", "lesson01__lesson01.mp4", None),
        ("broken.wav", "lesson01__broken.mp4", "broken.wav: not readable audio (InvalidDataError)"),
    ]
    batch = service.store.get(service.submit(audios, videos))
    recorded = [(i.audio_name, Path(i.dest).name, i.error) for i in batch.items]
    assert recorded == rows
    page = pairs_html(plan, "en")
    assert "3 pair(s): 3 narration(s) × 1 video(s)" in page and page.count('class="hg-pair"') == 3


def test_the_pair_plan_lists_unmatched_files_and_names_refusals(service, uploads):
    plan = service.pair_plan([uploads["short"], uploads["long"]], [uploads["anna"], uploads["ben"]], "name")
    assert [(r["audio"], r["video"]) for r in plan["rows"]] == [("lesson01.wav", "lesson01.mp4")]
    assert plan["unmatched"] == ["lesson02.wav", "ben.mp4"]
    assert "Not paired, left out: lesson02.wav, ben.mp4" in pairs_html(plan, "en")
    refused = service.pair_plan(
        [uploads["short"], uploads["long"], uploads["bad"]], [uploads["anna"], uploads["ben"]]
    )
    assert refused == {"error": "6 pairs (3 × 2) is more than a batch may hold (4)"}
    with pytest.raises(PairError, match="6 pairs"):
        service.submit([uploads["short"], uploads["long"], uploads["bad"]], [uploads["anna"], uploads["ben"]])
    assert service.store.batches() == []  # nothing recorded
    assert not list(service.workspace.uploads.iterdir())  # nor copied


def test_the_live_panel_and_the_zip_go_by_pair(service, uploads, tmp_path):
    batch_id = service.submit([uploads["short"], uploads["long"]], [uploads["anna"], uploads["ben"]])
    for _ in range(4):  # as if each pair had run: a file at its output
        claimed = service.store.claim_next()
        Path(claimed.dest).parent.mkdir(parents=True, exist_ok=True)
        Path(claimed.dest).write_bytes(b"mp4")
        service.store.finish_item(claimed, "done", output=claimed.dest)
    status = service.status(batch_id)
    page = status_html(status, "ready", "en")
    assert page.count('class="hg-item"') == 4 and "<th>Narration</th>" in page
    outputs = [i["output"] for i in status["items"]]
    by_narration = sorted(name for _, name in service.zip_files(service.zip_selection(outputs, "audio"))[1])
    by_video = sorted(name for _, name in service.zip_files(service.zip_selection(outputs, "video"))[1])
    assert by_narration == sorted(
        f"{batch_id}/{a}/{v}__{a}.mp4" for a in ("lesson01", "lesson02") for v in ("lesson01", "ben")
    )
    assert by_video == sorted(
        f"{batch_id}/{v}/{v}__{a}.mp4" for a in ("lesson01", "lesson02") for v in ("lesson01", "ben")
    )


def test_a_manifest_naming_a_file_two_uploads_share_is_refused_with_its_line(service, uploads, tmp_path):
    """Two presenters both called intro.mp4 (from two folders): a row naming it is ambiguous,
    refused with its line, never resolved to one of them silently."""
    other = tmp_path / "other intro.mp4"
    other.write_bytes(uploads["anna"].path.read_bytes())
    videos = [Upload(uploads["anna"].path, "intro.mp4"), Upload(other, "intro.mp4")]
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("audio,video\nlesson01.wav,intro.mp4\n")
    plan = service.pair_plan([uploads["short"]], videos, None, Upload(manifest, "jobs.csv"))
    assert plan == {"error": "jobs.csv: line 2: video 'intro.mp4': 2 uploaded files have that name"}


def test_the_manifest_template_lists_the_pairs_and_comes_back_as_a_manifest(service, uploads, tmp_path):
    """Review finding 49: a manifest to fill in, made from the current uploads; filled in (a
    row's "x y" face point, its true/false overlay) and uploaded back, it makes those pairs."""
    audios, videos = [uploads["short"], uploads["long"]], [uploads["anna"]]
    plan = service.pair_plan(audios, videos)
    lines = plan["template"].splitlines()
    assert lines[0] == "audio,video,output,quality,height,sync_offset,face_point,mask,pads"
    assert lines[1:] == [
        "lesson02.wav,lesson01.mp4,lesson01__lesson02,,,,,,",
        "lesson01.wav,lesson01.mp4,lesson01__lesson01,,,,,,",
    ]
    filled = tmp_path / "filled.csv"
    filled.write_text(
        "audio,video,output,sync_offset,face_point,overlay\n"
        "lesson02.wav,lesson01.mp4,intro,-2,160 90,true\n"
        "lesson01.wav,lesson01.mp4,outro,,,false\n"
    )
    batch = service.store.get(service.submit(audios, videos, manifest=Upload(filled, "filled.csv")))
    assert [(i.audio_name, Path(i.dest).name) for i in batch.items] == [
        ("lesson02.wav", "intro.mp4"),
        ("lesson01.wav", "outro.mp4"),
    ]
    first = json.loads(batch.items[0].overrides)
    assert first == {"sync_offset": -2, "face_point": [160.0, 90.0], "overlay": True}


def test_the_advanced_settings_reach_the_batch(service, uploads):
    """Review finding 48: sync offset, CRF and keyframe interval from the page's panel."""
    from heygem.web.forms import settings_of

    panel = ("auto", "auto", "standard", "original", "pingpong", 30, 0, 10, 0, 0, "auto", 60)
    chosen = settings_of(*panel, -3.0, 20.0, 4.0)  # sliders and numbers give floats
    batch = service.store.get(service.submit([uploads["short"]], [uploads["anna"]], chosen))
    assert {k: batch.settings[k] for k in ("sync_offset", "crf", "keyframe_interval")} == {
        "sync_offset": -3,
        "crf": 20,
        "keyframe_interval": 4,
    }
    left_empty = service.store.get(service.submit([uploads["short"]], [uploads["anna"]], settings_of(*panel)))
    assert "crf" not in left_empty.settings or left_empty.settings["crf"] is None  # the quality's CRF
