"""A course creator's day in a real browser (Debian's chromium through Playwright) against the
real app: presenters added once and used in several batches, a queue seen and steered after a
reload, whole batches downloaded. Screenshots in English and Chinese go to ``artifacts/``.

One app for the module, held by a pause point at the third video of any batch
(``video3:probing:0``): only the queue test has a batch that long, so it alone is held there,
deterministically, while the page is reloaded."""

from __future__ import annotations

import contextlib
import os
import zipfile
from pathlib import Path

import httpx
import pytest

from heygem.testing import synthetic
from heygem.testing.processes import ROOT, App, Pauses, finished, wait_for
from tests.web.test_browser import CHROMIUM, browser  # noqa: F401 - browser is a fixture

ARTIFACTS = Path(os.environ.get("HEYGEM_ARTIFACTS", ROOT / "artifacts"))
HELD = "video3:probing:0"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def pauses(tmp_path_factory):
    return Pauses(tmp_path_factory.mktemp("pauses"), HELD)


@pytest.fixture(scope="module")
def app(tmp_path_factory, pauses):
    running = App(tmp_path_factory.mktemp("course-workspace"), env=pauses.env)
    yield running.wait_ready()
    running.stop()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("course-media")
    return {
        "lesson 1": synthetic.speech_wav(folder / "lesson 1.wav", 0.6, seed=1),
        "lesson 2": synthetic.speech_wav(folder / "lesson 2.wav", 0.5, seed=2),
        "anna": synthetic.face_video(folder / "anna take 3.mp4", 0.6, size=(320, 184), face=118),
        "ben": synthetic.face_video(folder / "ben.mp4", 0.5, size=(336, 180), face=122),
        "clip": synthetic.face_video(folder / "clip.mp4", 0.4, size=(160, 96), face=60),
    }


def api(app) -> httpx.Client:
    return httpx.Client(base_url=f"{app.url}api/v1", timeout=60)


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def pick_option(page, dropdown: str, option: str) -> None:
    """Choose ``option`` in a Gradio dropdown; left unfocused, so it opens again on the next click."""
    field = page.locator(f"{dropdown} input")
    field.click()
    page.get_by_role("option", name=option).click()
    field.press("Escape")
    field.blur()


def run_batch_from_the_tab(page, audio: Path, before: str | None = None) -> str:
    """Start the Batch tab's batch with ``audio`` and the presenters picked; its id once done
    (``before``: the batch the panel showed until then)."""
    page.locator("#hg-audio input[type=file]").set_input_files(str(audio))
    page.locator("#hg-pairs [data-pairs='1']").wait_for(timeout=30_000)
    page.locator("#hg-start").click()
    other = f':not([data-batch="{before}"])' if before else ""
    live = page.locator(f'#hg-live .hg-batch[data-state="done"]{other}')
    live.wait_for(timeout=120_000)
    return live.get_attribute("data-batch")


def queued_from_the_single_tab(page, media) -> str:
    """A Single batch with the Advanced settings set (sync offset -2, CRF 20, keyframes every 4
    frames), started while others hold the queue; its id once the tab shows it queued."""
    page.get_by_role("tab", name="Single").click()
    page.locator("#hg-single-settings").click()
    page.locator("#hg-single-advanced").click()
    expect = pytest.importorskip("playwright.sync_api").expect
    chosen = {"sync-offset": "-2", "crf": "20", "keyframes": "4"}
    for control, value in chosen.items():
        field = page.locator(f"#hg-single-{control} input[type=number]")
        field.fill(value)
        field.press("Tab")
        expect(field).to_have_value(value)
    page.locator("#hg-single-audio input[type=file]").set_input_files(str(media["lesson 2"]))
    page.locator("#hg-single-video input[type=file]").set_input_files(str(media["clip"]))
    page.locator("#hg-single-video a[download='clip.mp4']").wait_for()  # uploaded
    assert (
        "Presenter video or image" in page.locator("#hg-single-video").inner_text()
    )  # not "[object Object]"
    for control, value in chosen.items():
        expect(page.locator(f"#hg-single-{control} input[type=number]")).to_have_value(value)
    page.locator("#hg-single-start").click()
    live = page.locator('#hg-single-live .hg-batch[data-state="queued"]')
    live.wait_for(timeout=60_000)
    return live.get_attribute("data-batch")


def download(page, link, saved: Path) -> list[str]:
    with page.expect_download() as got:
        link.click()
    got.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        return sorted(archive.namelist())


def test_a_presenter_added_once_picked_and_used_in_two_batches(browser, app, media, tmp_path):  # noqa: F811
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1200})
    page.goto(app.url)
    page.get_by_role("tab", name="Presenters").click()
    page.locator("#hg-lib-files input[type=file]").set_input_files(str(media["anna"]))
    page.locator("#hg-lib-files a[download='anna take 3.mp4']").wait_for()  # uploaded
    page.locator("#hg-lib-name textarea").fill("Anna")
    page.locator("#hg-lib-add").click()
    page.locator('#hg-lib-table tr.hg-presenter[data-track="done"]').wait_for(
        timeout=60_000
    )  # made in the background
    frame = page.locator("#hg-lib-frame img")
    frame.wait_for(timeout=30_000)
    box = frame.bounding_box()
    frame.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.45})  # on the face
    page.get_by_text("kept for Anna").wait_for(timeout=30_000)
    page.locator("#hg-lib-mask").get_by_label("mouth").check()
    page.locator("#hg-lib-save").click()
    page.get_by_text("Anna saved.").wait_for(timeout=30_000)
    with api(app) as rest:
        anna = rest.get("/presenters/Anna").json()
    assert anna["settings"]["mask"] == "mouth" and len(anna["settings"]["face_point"]) == 2
    shoot(page, "presenters-en.png")

    page.get_by_role("tab", name="Batch").click()
    pick_option(page, "#hg-batch-presenters", "Anna")
    first = run_batch_from_the_tab(page, media["lesson 1"])
    link = page.locator("#hg-live a.hg-download-all")
    assert download(page, link, tmp_path / "first.zip") == [f"{first}/Anna.mp4", f"{first}/batch.json"]
    second = run_batch_from_the_tab(page, media["lesson 2"], first)  # lesson 1 stays: two narrations
    shoot(page, "batch-with-presenter-en.png")

    kept = list((app.workspace / "uploads" / "library").rglob("*.mp4"))
    stored = [os.stat(next((app.workspace / "uploads" / b).glob("*Anna.mp4"))) for b in (first, second)]
    assert len(kept) == 1  # stored once, by content
    assert {(s.st_dev, s.st_ino) for s in stored} == {(kept[0].stat().st_dev, kept[0].stat().st_ino)}

    page.get_by_role("tab", name="History").click()
    page.locator("#hg-history-pick input").wait_for()
    whole = page.locator("#hg-history-all a")
    whole.wait_for(timeout=30_000)
    outputs = [f"{second}/Anna__lesson 1.mp4", f"{second}/Anna__lesson 2.mp4"]
    assert download(page, whole, tmp_path / "second.zip") == [*outputs, f"{second}/batch.json"]
    ticked = page.locator("#hg-history-outputs input[type=checkbox]:checked")
    pick_option(page, "#hg-history-select", "Narration lesson 2.wav (1)")
    expect(ticked).to_have_count(1)
    pick_option(page, "#hg-history-select", "All 2 outputs")
    expect(ticked).to_have_count(2)
    shoot(page, "history-en.png")
    page.close()


def test_after_a_reload_the_running_batch_is_shown_and_cancel_stops_it(browser, app, media, pauses):  # noqa: F811
    """Review findings 1, 27, 46: A runs (held at its third video, a library presenter's), B
    waits; a reloaded page shows A and its Cancel stops A, after which B runs. The presenter A
    uses cannot be deleted meanwhile. A Single batch C (its Advanced settings set) queued behind
    them is shown again after a reload, and the Single tab's Cancel stops it (findings 48, 50)."""
    from gradio_client import handle_file

    client = app.client()
    ben = client.predict(handle_file(media["ben"]), "Ben", {"mask": "mouth"}, api_name="/add_presenter")
    assert ben["name"] == "Ben" and ben["settings"] == {"mask": "mouth"}
    clips = [handle_file(media["clip"]), handle_file(media["anna"])]
    running = client.predict(
        handle_file(media["lesson 1"]), clips, {}, None, None, ["Ben"], api_name="/submit_batch"
    )
    pauses.reached(HELD)  # its third video, Ben's, is held: A runs
    waiting = client.predict(
        handle_file(media["lesson 2"]), [handle_file(media["clip"])], api_name="/submit_batch"
    )
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1200})
    page.goto(app.url)  # a fresh page: as after a reload
    page.locator(f'#hg-live .hg-batch[data-batch="{running}"]').wait_for(timeout=30_000)
    queue = page.locator("#hg-queue tr.hg-queue-row")
    queue.nth(1).wait_for(timeout=30_000)
    assert [queue.nth(k).get_attribute("data-batch") for k in range(2)] == [running, waiting]
    assert [queue.nth(k).get_attribute("data-state") for k in range(2)] == ["running", "queued"]
    shoot(page, "queue-en.png")
    chinese = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 1200})
    chinese.goto(app.url)
    chinese.get_by_text("2 个批次排队或处理中").wait_for(timeout=30_000)
    shoot(chinese, "queue-zh-CN.png")
    chinese.get_by_role("tab", name="人物库").click()
    chinese.locator("#hg-lib-table tr.hg-presenter").first.wait_for(timeout=30_000)
    shoot(chinese, "presenters-zh-CN.png")
    chinese.close()

    page.get_by_role("tab", name="Presenters").click()
    pick_option(page, "#hg-lib-pick", "Ben")
    page.locator("#hg-lib-delete").click()
    page.get_by_text(f"Ben is used by batch {running}").wait_for(timeout=30_000)

    single = queued_from_the_single_tab(page, media)  # C waits behind A and B, so it stays queued
    settings = client.predict(single, api_name="/batch_status")["settings"]
    assert (settings["sync_offset"], settings["crf"], settings["keyframe_interval"]) == (-2, 20, 4)
    page.reload()  # the Single tab shows C again, and its Cancel stops C
    page.get_by_role("tab", name="Single").click()
    page.locator(f'#hg-single-live .hg-batch[data-batch="{single}"]').wait_for(timeout=30_000)
    page.locator("#hg-single-cancel").click()
    page.locator(f'#hg-single-live .hg-batch[data-batch="{single}"][data-state="cancelled"]').wait_for(
        timeout=30_000
    )

    page.get_by_role("tab", name="Batch").click()
    page.locator(f'#hg-live .hg-batch[data-batch="{running}"]').wait_for(timeout=30_000)  # A, again
    # The Single tab's "Cancel requested" toast (it lasts 10 s) is closed, so the one below is A's.
    sync_api = pytest.importorskip("playwright.sync_api")
    close = page.get_by_test_id("toast-close")
    if close.count():
        with contextlib.suppress(sync_api.TimeoutError):  # gone by itself meanwhile: as good
            close.first.click(timeout=2_000)
    sync_api.expect(page.get_by_text("Cancel requested")).to_have_count(0, timeout=30_000)
    page.locator("#hg-cancel").click()
    page.get_by_text("Cancel requested").wait_for(timeout=30_000)
    pauses.release(HELD)
    assert wait_for(lambda: finished(client, running), timeout=120)["state"] == "cancelled"
    assert wait_for(lambda: finished(client, waiting), timeout=120)["state"] == "done"  # B ran
    page.locator(f'#hg-live .hg-batch[data-batch="{running}"][data-state="cancelled"]').wait_for(
        timeout=30_000
    )
    page.close()
