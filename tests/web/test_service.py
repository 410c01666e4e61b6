"""The service behind the UI and the API, on a real store and workspace (no worker runs)."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from heygem.web.service import SubmitError, Upload


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_submit_that_cannot_store_its_uploads_leaves_nothing(service, tmp_path, speech, face_clip):
    """A disk that fills while a big upload is copied (a file-size limit stands in for it)."""
    big = tmp_path / "big take.mp4"
    big.write_bytes(bytes(2_000_000))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, hard))
    try:
        with pytest.raises(SubmitError, match=r"big take\.mp4: could not be stored: .*File too large"):
            service.submit(
                Upload(speech, "voice.wav"), [Upload(face_clip, "a.mp4"), Upload(big, "big take.mp4")]
            )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert files_under(service.workspace.uploads) == [] and files_under(service.workspace.outputs) == []
    assert service.store.batches() == []


def test_a_zip_is_streamed_whole_and_written_nowhere(service, tmp_path):
    import io
    import zipfile

    from heygem.errors import HeygemError
    from heygem.web.zipstream import zip_stream

    folder = service.workspace.batch_outputs("b1")
    folder.mkdir(parents=True)
    contents = {"one.mp4": bytes(range(256)) * 5000, "二.mp4": b"\x00\x01" * 700_000}
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    before = files_under(service.workspace.root)
    token = service.zip_selection([str(folder / name) for name in contents] + ["/etc/passwd"])
    name, members = service.zip_files(token)
    assert name.startswith("heygem-") and name.endswith(".zip")
    parts = list(zip_stream([(arcname, path) for path, arcname in members]))
    assert len(parts) > 2  # sent as it is made, not in one piece
    with zipfile.ZipFile(io.BytesIO(b"".join(parts))) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == {f"b1/{k}": v for k, v in contents.items()}
    assert files_under(service.workspace.root) == before
    with pytest.raises(HeygemError, match="expired"):
        service.zip_files("not-a-token")


def test_output_names_keep_their_stem_past_the_thousandth_video(service, tmp_path, speech):
    import cv2

    from heygem.testing import synthetic

    still = tmp_path / "still.png"
    cv2.imwrite(str(still), synthetic.astronaut_bgr(16))
    uploads = [Upload(still, f"take {k}.png") for k in range(1002)]
    service.max_pairs = 1002  # this test is about names, not the pair limit
    batch_id = service.submit(Upload(speech, "voice.wav"), uploads)
    items = service.store.get(batch_id).items
    names = [Path(i.dest).name for i in items]
    assert names[998:] == ["take 998.mp4", "take 999.mp4", "take 1000.mp4", "take 1001.mp4"]
    assert [Path(i.video).name for i in items][1000:] == ["1000-take 1000.png", "1001-take 1001.png"]


def test_disk_use_is_walked_again_only_when_a_video_finishes(service, tmp_path, speech, face_clip):
    batch_id = service.submit(Upload(speech, "voice.wav"), [Upload(face_clip, "a.mp4")])
    used = service.disk()["used_bytes"]
    assert used == speech.stat().st_size + face_clip.stat().st_size  # the batch's own copies
    output = service.workspace.batch_outputs(batch_id) / "a.mp4"
    output.parent.mkdir(parents=True)
    output.write_bytes(bytes(10_000))  # written by a video that has not finished yet
    assert service.disk()["used_bytes"] == used  # not walked again
    service.store.finish_item(service.store.claim_next(), "done", output=str(output))
    assert service.disk()["used_bytes"] == used + 10_000  # walked again once it finished
    service.delete_output(batch_id, 0)
    assert service.disk()["used_bytes"] == used


def test_the_page_and_the_rest_api_refuse_the_same_actions(service, speech, face_clip):
    """The state rules live in the service, so History's Retry (which once un-cancelled a
    stopping batch) and the REST API's retry obey the same ones."""
    from heygem.errors import HeygemError

    batch_id = service.submit(
        Upload(speech, "voice.wav"), [Upload(face_clip, "a.mp4"), Upload(face_clip, "b.mp4")]
    )
    running = service.store.claim_next()
    service.cancel(batch_id)  # b.mp4 is cancelled at once; a.mp4 stops after its chunk
    with pytest.raises(HeygemError, match="still running"):
        service.retry(batch_id)
    assert service.store.get(batch_id).cancel  # the running video still stops
    with pytest.raises(HeygemError, match="already asked"):
        service.cancel(batch_id)
    with pytest.raises(HeygemError, match="still running"):
        service.delete_batch(batch_id)
    service.store.finish_item(running, "cancelled", error="cancelled")
    with pytest.raises(HeygemError, match="already finished"):
        service.cancel(batch_id)
    assert service.retry(batch_id) == 2
    with pytest.raises(HeygemError, match="no batch"):
        service.retry("20260101-000000-0badc0de")


def test_a_batch_that_ends_outside_the_worker_gets_its_record_and_notification(tmp_path, speech, face_clip):
    """Cancelled while it waits behind another batch, or with every video refused at submit:
    its batch.json is written and the notification POSTed, as when a worker ends a batch."""
    import json

    from heygem.jobs import JobStore, Workspace
    from heygem.web.service import Service
    from tests.conftest import idle_loop
    from tests.jobs.test_notify import Receiver

    receiver = Receiver([204])
    workspace = Workspace(tmp_path / "ws").create()
    store = JobStore(workspace.db)
    loop = idle_loop(store, workspace, receiver.url)
    service = Service(workspace, store, loop)
    try:
        running = service.submit(Upload(speech, "voice.wav"), [Upload(face_clip, "a.mp4")])
        store.claim_next()  # its video runs
        waiting = service.submit(Upload(speech, "voice.wav"), [Upload(face_clip, "b.mp4")])
        service.cancel(waiting)
        broken = tmp_path / "broken.mp4"
        broken.write_bytes(b"not a video at all")
        refused = service.submit(Upload(speech, "voice.wav"), [Upload(broken, "broken.mp4")])
        loop.records_written()
        loop.notifier.send_due()
    finally:
        loop.stop()
        receiver.close()
    assert {post["batch_id"]: post["state"] for post in receiver.posts} == {
        waiting: "cancelled",
        refused: "failed",
    }
    for batch_id, state in ((waiting, "cancelled"), (refused, "failed")):
        manifest = json.loads((workspace.batch_outputs(batch_id) / "batch.json").read_text())
        assert manifest["batch_id"] == batch_id and manifest["state"] == state
    assert not (workspace.batch_outputs(running) / "batch.json").exists()  # still running


def test_zip_tokens_from_many_threads_at_once(tmp_path):
    """Gradio's worker threads issue tokens at the same time (two zip clicks): none fails, each
    token gives its own zip. Threads switch as often as the interpreter can, which made the
    unguarded table fail with "dictionary changed size during iteration" at once."""
    import sys
    import threading

    from heygem.web.ziptokens import ZipTokens

    tokens, errors, issued = ZipTokens(), [], []
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"x")

    def click():
        try:
            for k in range(300):
                issued.append((tokens.issue([(clip, f"b/{k}.mp4")]), k))
        except Exception as exc:
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        clicks = [threading.Thread(target=click) for _ in range(8)]
        for thread in clicks:
            thread.start()
        for thread in clicks:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and len(issued) == 8 * 300
    assert all(tokens.files(token)[1] == [(clip, f"b/{k}.mp4")] for token, k in issued)
