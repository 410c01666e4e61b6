"""The app on a fresh install: the loudness engine, the weights downloaded from a local HTTP
server through the API or the page while batches go on, then wav2lip for the next batch,
without a restart."""

from __future__ import annotations

import json

import pytest
from gradio_client import handle_file

from heygem.media import file_digest
from heygem.media.files import human_size
from heygem.testing import synthetic
from heygem.testing.fileserver import FileServer, dead_url
from heygem.testing.processes import App, finished, wait_for
from tests.web.test_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401 - browser is a fixture

LICENCE = "Test weights: personal, research, non-commercial use only."


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {
        "audio": synthetic.speech_wav(folder / "narration.wav", 1.0),
        "video": synthetic.face_video(folder / "presenter.mp4", 1.0, size=(320, 180), face=120),
    }


def fresh_install(tmp_path, random_checkpoint, *urls) -> App:
    """The app with engine auto, an empty checkpoint folder and a manifest listing ``urls``."""
    manifest = tmp_path / "models.json"
    entry = {
        "name": "wav2lip_gan",
        "file": "wav2lip_gan.pth",
        "size": random_checkpoint.stat().st_size,
        "sha256": file_digest(random_checkpoint),
        "urls": list(urls),
        "licence": LICENCE,
        "kind": "wav2lip",
    }
    manifest.write_text(json.dumps([entry]))
    (tmp_path / "checkpoints").mkdir()
    env = {"HEYGEM_MODELS_MANIFEST": str(manifest)}
    args = ("--engine", "auto", "--checkpoint-dir", str(tmp_path / "checkpoints"))
    return App(tmp_path / "ws", None, env, *args)


def run_batch(client, clips) -> dict:
    batch_id = client.predict(
        handle_file(clips["audio"]), [handle_file(clips["video"])], api_name="/submit_batch"
    )
    return wait_for(lambda: finished(client, batch_id), timeout=180)


def test_download_through_the_api_switches_the_next_batch(tmp_path, random_checkpoint, clips):
    size = random_checkpoint.stat().st_size
    with FileServer() as server, fresh_install(tmp_path, random_checkpoint, server.url("/w.pth")) as app:
        server.serve("/w.pth", random_checkpoint, hold_at=0.4)  # the explicit pause point
        client = app.wait_ready().client()
        before = run_batch(client, clips)
        assert before["state"] == "done" and before["items"][0]["engine"] == "loudness"

        with pytest.raises(Exception, match="licence is accepted"):
            client.predict(False, "", api_name="/download_models")
        assert server.requests == []  # nothing fetched without consent
        started = client.predict(True, "", api_name="/download_models")
        assert started["phase"] == "downloading" and started["total_bytes"] == size

        def held_at_40_percent():
            state = client.predict(api_name="/download_status")
            return state if state["done_bytes"] == int(0.4 * size) else None

        assert server.held.wait(60)
        during = wait_for(held_at_40_percent, timeout=60)
        assert during["phase"] == "downloading" and during["progress"] == pytest.approx(0.4, abs=0.001)
        meanwhile = run_batch(client, clips)  # a batch runs start to end while the download waits
        assert meanwhile["state"] == "done" and meanwhile["items"][0]["engine"] == "loudness"
        assert client.predict(api_name="/download_status")["phase"] == "downloading"

        server.release()
        installed = wait_for(
            lambda: (s := client.predict(api_name="/download_status"))["phase"] == "installed" and s,
            timeout=120,
        )
        assert installed["engine"] == "wav2lip" and installed["error"] is None
        assert file_digest(tmp_path / "checkpoints" / "wav2lip_gan.pth") == file_digest(random_checkpoint)
        after = run_batch(client, clips)
        assert after["state"] == "done" and after["items"][0]["engine"] == "wav2lip"
        log = (app.workspace / "运行实时日志.log").read_text()
        assert "engine switched from loudness to wav2lip" in log  # the log says so too
        app.stop()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_the_page_offers_the_weights_and_switches_the_engine(browser, tmp_path, random_checkpoint):  # noqa: F811
    size = random_checkpoint.stat().st_size
    with FileServer() as server, fresh_install(tmp_path, random_checkpoint, server.url("/w.pth")) as app:
        server.serve("/w.pth", random_checkpoint, hold_at=0.4)
        app.wait_ready()
        page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 900})
        page.goto(app.url)
        engine = page.locator('#hg-engine [data-engine="loudness"]')
        engine.wait_for(timeout=30_000)
        assert "NOT real lip-sync" in engine.inner_text()
        offer = page.locator("#hg-download-offer")
        offer.wait_for(timeout=30_000)
        assert f"Download Wav2Lip weights ({human_size(size)})" in offer.inner_text()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "weights-offer.png"))

        offer.click()
        page.locator("#hg-licence").get_by_text(LICENCE).wait_for()
        page.locator("#hg-download-go").click()  # not accepted yet: nothing starts
        page.get_by_text("Tick the box to accept the licence first.").wait_for()
        assert server.requests == []
        page.screenshot(path=str(ARTIFACTS / "weights-licence.png"))
        page.locator("#hg-licence-accept input").check()
        page.locator("#hg-download-go").click()

        assert server.held.wait(60)
        bar = page.locator('#hg-download [data-phase="downloading"]')
        bar.and_(page.locator(f'[data-done="{int(0.4 * size)}"]')).wait_for()
        assert f"{human_size(int(0.4 * size))} / {human_size(size)} · 40%" in bar.inner_text()
        page.screenshot(path=str(ARTIFACTS / "weights-downloading.png"))

        server.release()
        page.locator('#hg-download [data-phase="installed"]').wait_for(timeout=120_000)
        assert "Engine switched to wav2lip without a restart" in page.locator("#hg-download").inner_text()
        page.locator('#hg-engine [data-engine="wav2lip"]').wait_for(timeout=30_000)
        assert page.locator("#hg-download-offer").is_hidden()
        page.get_by_role("tab", name="System").click()
        system = page.locator("#hg-system")
        system.get_by_text("engine switched from loudness to wav2lip without a restart").wait_for(
            timeout=30_000
        )
        assert system.locator("tr").filter(has_text="engine").first.inner_text().split() == [
            "engine",
            "wav2lip",
        ]
        page.get_by_role("tab", name="Batch").click()
        page.screenshot(path=str(ARTIFACTS / "weights-installed.png"))
        page.close()
        app.stop()


def test_a_failed_download_shows_the_manual_block(tmp_path, random_checkpoint):
    url = dead_url("/wav2lip_gan.pth")
    with fresh_install(tmp_path, random_checkpoint, url) as app:
        client = app.wait_ready().client()
        client.predict(True, "", api_name="/download_models")
        failed = wait_for(
            lambda: (s := client.predict(api_name="/download_status"))["phase"] == "failed" and s, timeout=60
        )
        assert "unreachable" in failed["error"]
        for fact in (url, file_digest(random_checkpoint), str(random_checkpoint.stat().st_size)):
            assert fact in failed["manual"]
        app.stop()
