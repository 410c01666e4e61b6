"""The preview: /preview through gradio_client, and the panel in a real browser (pick a face
on the first frame by clicking it, "Preview 2 s" with the box and mask drawn)."""

from __future__ import annotations

import pytest
from gradio_client import handle_file

from heygem.media import video
from heygem.testing import synthetic
from heygem.testing.processes import finished
from tests.web.test_browser import ARTIFACTS, CHROMIUM, FLAGS


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("preview-media")
    return {
        "audio": synthetic.speech_wav(folder / "narration.wav", 4.0),
        "two": synthetic.write_video(folder / "two people.mp4", synthetic.two_faces(50, drift=0.2)[0]),
        "one": synthetic.face_video(folder / "lesson.mp4", 4.0, size=(640, 360), face=300),
    }


def test_preview_api_returns_the_first_two_seconds(app, media):
    client = app.client()
    clip, info = client.predict(
        handle_file(media["audio"]), handle_file(media["one"]), {"mask": "mouth"}, api_name="/preview"
    )
    probed = video.probe(clip)
    assert probed.n_frames == info["frames"] == 50 and info["duration"] == 2.0
    assert info["frames_without_face"] == 0 and info["engine"] == "loudness"
    with pytest.raises(Exception, match="mask"):
        client.predict(
            handle_file(media["audio"]), handle_file(media["one"]), {"mask": "lips"}, api_name="/preview"
        )


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_pick_a_face_and_preview_in_the_browser(app, media):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = chromium.new_page(
            locale="en-US", viewport={"width": 1400, "height": 1600}, device_scale_factor=2
        )
        page.goto(app.url)
        page.locator("#hg-audio input[type=file]").set_input_files(str(media["audio"]))
        page.locator("#hg-videos input[type=file]").set_input_files(str(media["two"]))
        page.locator("#hg-batch-panel").get_by_text("Face, mask and preview").click()
        image = page.locator("#hg-batch-frame img")
        image.wait_for(timeout=60_000)
        page.locator("#hg-batch-status").get_by_text("2 face(s) on the first frame").wait_for(timeout=30_000)
        page.locator("#hg-template").wait_for(timeout=30_000)  # the panels above are all shown: no shift
        image.scroll_into_view_if_needed()  # the mouse clicks inside the viewport only
        box = image.bounding_box()
        natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert natural == [640, 360]
        scale = min(box["width"] / natural[0], box["height"] / natural[1])
        small_face = (515, 240)  # the small astronaut's face, source pixels
        page.mouse.click(
            box["x"] + (box["width"] - natural[0] * scale) / 2 + small_face[0] * scale,
            box["y"] + (box["height"] - natural[1] * scale) / 2 + small_face[1] * scale,
        )
        status = page.locator("#hg-batch-status")
        status.get_by_text("Face picked at").wait_for(timeout=30_000)
        x, y = (int(v) for v in status.inner_text().split("(")[1].split(")")[0].split(","))
        assert abs(x - small_face[0]) <= 3 and abs(y - small_face[1]) <= 3
        page.locator("#hg-batch-preview").click()
        status.get_by_text("2.0 s preview made").wait_for(timeout=120_000)
        player = page.locator("#hg-batch-clip video")
        player.wait_for(timeout=30_000)
        assert "-preview.mp4" in player.get_attribute("src")
        player.evaluate("v => new Promise(done => { v.currentTime = 1.0; v.onseeked = done; })")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator("#hg-batch-panel").screenshot(path=str(ARTIFACTS / "preview-panel.png"))
        player.screenshot(path=str(ARTIFACTS / "preview-with-mask.png"))
        page.locator("#hg-start").click()
        done = page.locator('#hg-live [data-state="done"]')
        done.wait_for(timeout=120_000)
        batch_id = done.get_attribute("data-batch")
        chromium.close()
    status = finished(app.client(), batch_id)
    assert status["settings"]["face_points"] == {"two people.mp4": [x, y]}  # the click reached the batch


def test_with_the_enhancer_the_preview_shows_the_same_seconds_without_and_with_it(tmp_path, media):
    """An app whose checkpoint folder holds (small, random) GFPGAN weights: /preview with
    enhancer gfpgan returns the first 2 s twice as wide, without the enhancer on the left and
    with it on the right; the halves differ only around the mouth."""
    import numpy as np

    from heygem.testing.processes import App
    from heygem.testing.restorers import SMALL_GFPGAN, random_restorer_file

    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    random_restorer_file("gfpgan", checkpoints / "GFPGANv1.4.pth", SMALL_GFPGAN, seed=7)
    with App(tmp_path / "ws", None, None, "--checkpoint-dir", str(checkpoints)).wait_ready() as app:
        settings = {"enhancer": "gfpgan", "enhancer_blend": 100}
        clip, info = app.client().predict(
            handle_file(media["audio"]), handle_file(media["one"]), settings, api_name="/preview"
        )
        plain, plain_info = app.client().predict(
            handle_file(media["audio"]), handle_file(media["one"]), {"enhancer": "none"}, api_name="/preview"
        )
    assert (info["enhancer"], info["side_by_side"], info["frames"]) == ("gfpgan", True, 50)
    assert (plain_info["enhancer"], plain_info["side_by_side"]) == ("none", False)
    probed = video.probe(clip)
    assert (probed.width, probed.height, probed.n_frames) == (1280, 360, 50)
    shown = range(0, 50, 10)
    frames = np.stack(list(video.read_frames(probed, shown))).astype(int)
    left, right = frames[:, :, :640], frames[:, :, 640:]
    changed = np.abs(left - right).max(axis=3) > 24  # beyond x264's noise (up to 14 at hard edges)
    assert changed.sum() > 50  # the enhancer changed something
    heads = synthetic.head_offsets(50, (640, 360), 300)  # where the astronaut's head is
    for k, i in enumerate(shown):
        x, y = heads[i]
        elsewhere = changed[k].copy()
        edge = 8  # the head's hard edges on the backdrop: x264 codes them differently in each half
        elsewhere[max(0, y - edge) : y + 300 + edge, max(0, x - edge) : x + 300 + edge] = False
        assert not elsewhere.any()  # inside the head, never the backdrop
    reference = np.stack(list(video.read_frames(video.probe(plain), range(0, 50, 10)))).astype(int)
    assert np.abs(left - reference).mean() < 2  # the left half is the preview without the enhancer
