"""The presenter library through the service (real store, workspace, ffmpeg; no worker runs)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from heygem.jobs import JobStore, Worker
from heygem.lipsync import EngineSettings
from heygem.settings import SettingsError
from heygem.states import TrackPrep
from heygem.testing.processes import wait_for
from heygem.web.refusals import ConflictError, NotFoundError
from heygem.web.service import Service, SubmitError, Upload


def test_a_presenter_in_two_batches_is_stored_once_and_kept_across_a_restart(service, speech, face_clip):
    library = service.presenters
    anna, new = library.add(
        Upload(face_clip, "take 3.mp4"), "Anna", {"face_point": [200, 90], "mask": "mouth"}
    )
    assert new and anna.width == 640 and anna.height == 360 and anna.duration == pytest.approx(2.0, abs=0.05)
    assert Path(anna.thumbnail).stat().st_size > 1000  # a JPEG of its first frame
    again, new = library.add(Upload(face_clip, "the same bytes.mp4"), "Someone else")
    assert (again.id, again.name, new) == (anna.id, "Anna", False)  # one file is one presenter

    first = service.submit(Upload(speech, "lesson 1.wav"), [], presenters=["anna"])
    second = service.submit(Upload(speech, "lesson 2.wav"), [], presenters=[anna.id])
    items = [service.store.get(b).items[0] for b in (first, second)]
    library_file = os.stat(anna.file)
    for item in items:
        assert item.name == "Anna.mp4" and Path(item.dest).name == "Anna.mp4"  # named after it
        assert item.presenter == anna.id
        assert json.loads(item.overrides) == {"face_point": [200.0, 90.0], "mask": "mouth"}
        linked = os.stat(item.video)
        assert (linked.st_dev, linked.st_ino) == (library_file.st_dev, library_file.st_ino)  # not copied
    videos = [p for p in service.workspace.uploads.rglob("*.mp4")]
    assert len({(p.stat().st_dev, p.stat().st_ino) for p in videos}) == 1
    expected = face_clip.stat().st_size + Path(anna.thumbnail).stat().st_size + 2 * speech.stat().st_size
    assert service.disk()["used_bytes"] == expected  # the linked file counted once

    restarted = Service(service.workspace, JobStore(service.workspace.db), service.worker)
    kept = restarted.presenters.get("ANNA")
    assert kept.settings == {"face_point": [200.0, 90.0], "mask": "mouth"}  # its face choice
    assert kept.file == anna.file and Path(kept.file).is_file()


def test_a_presenter_a_waiting_batch_uses_cannot_be_deleted(service, speech, face_clip):
    library = service.presenters
    anna, _ = library.add(Upload(face_clip, "anna.mp4"))
    batch_id = service.submit(Upload(speech, "voice.wav"), [], presenters=["anna"])
    with pytest.raises(ConflictError, match=f"presenter 'anna' is used by batch {batch_id}") as refused:
        library.delete("anna")
    assert refused.value.reason == "presenter_in_use"
    service.cancel(batch_id)
    library.delete(anna.id)
    assert library.all() == [] and not Path(anna.file).exists()
    assert Path(service.store.get(batch_id).items[0].video).is_file()  # the batch's link keeps its bytes
    with pytest.raises(NotFoundError, match="no presenter 'anna'"):
        service.submit(Upload(speech, "voice.wav"), [], presenters=["anna"])


def test_a_manifest_names_presenters_and_its_rows_settings_go_over_theirs(
    service, speech, face_clip, tmp_path
):
    service.presenters.add(Upload(face_clip, "a.mp4"), "Anna", {"pads": [0, 20, 0, 0], "mask": "mouth"})
    manifest = tmp_path / "course.csv"
    manifest.write_text("audio,video,output,mask\nlesson 1.wav,Anna.mp4,Lesson 1 Anna,face\n")
    batch_id = service.submit(
        [Upload(speech, "lesson 1.wav")], [], manifest=Upload(manifest, "course.csv"), presenters=["Anna"]
    )
    item = service.store.get(batch_id).items[0]
    assert Path(item.dest).name == "Lesson 1 Anna.mp4"
    assert json.loads(item.overrides) == {"pads": [0, 20, 0, 0], "mask": "face"}


def test_what_a_presenter_refuses(service, face_clip, tmp_path):
    library = service.presenters
    with pytest.raises(SettingsError, match="'quality'.*a presenter keeps face_point"):
        library.add(Upload(face_clip, "a.mp4"), settings={"quality": "high"})
    with pytest.raises(SettingsError, match="'face_point'"):
        library.add(Upload(face_clip, "a.mp4"), settings={"face_point": "middle"})
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with pytest.raises(SubmitError, match="broken.mp4: not a readable video"):
        library.add(Upload(broken, "broken.mp4"))
    with pytest.raises(SubmitError, match="a presenter is a video or a still image, not '.txt'"):
        library.add(Upload(broken, "notes.txt"))
    assert library.all() == [] and list(service.workspace.library.iterdir()) == []  # nothing left
    anna, _ = library.add(Upload(face_clip, "Anna.mp4"))
    with pytest.raises(SubmitError, match="1-80 printable"):
        library.update(anna.id, name="a/b")
    shutil.copyfile(anna.thumbnail, tmp_path / "ben.jpg")  # a still presenter
    ben, _ = library.add(Upload(tmp_path / "ben.jpg", "ben.jpg"))
    assert ben.duration is None and ben.name == "ben"
    with pytest.raises(ConflictError, match="already named 'BEN'"):
        library.update(anna.id, name="BEN")
    moved = library.update(anna.id, name="Anna K", settings={"face_point": [1, 2]})
    assert (moved.name, moved.settings) == ("Anna K", {"face_point": [1.0, 2.0]})
    assert library.update(anna.id, settings={"face_point": None}).settings == {}  # None drops a key


def test_the_worker_makes_a_presenters_track_and_its_batches_use_it(tmp_path, speech, face_clip):
    """Added: its face track is made in the background (progress to done); a batch using the
    presenter then reads it from the cache instead of detecting."""
    from heygem.jobs import Workspace

    workspace = Workspace(tmp_path / "ws").create()
    store = JobStore(workspace.db)
    worker = Worker(store, workspace, EngineSettings(engine="loudness", device="cpu"))
    service = Service(workspace, store, worker)
    try:
        anna, _ = service.presenters.add(Upload(face_clip, "anna.mp4"), settings={"face_point": [320, 180]})
        assert anna.track == TrackPrep.QUEUED
        worker.start()
        made = wait_for(
            lambda: (p := service.presenters.get("anna")).track == TrackPrep.DONE and p, timeout=120
        )
        assert made.track_progress == 1.0 and made.track_frames == 50 and made.track_error is None
        batch_id = service.submit(Upload(speech, "voice.wav"), [], presenters=["anna"])
        done = wait_for(lambda: (s := service.status(batch_id))["state"] == "done" and s, timeout=120)
        assert done["items"][0]["track_cached"] is True and done["items"][0]["detected_frames"] == 0
    finally:
        worker.stop()
