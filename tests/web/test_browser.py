"""A real browser (Debian's chromium through Playwright) against the real app: the module's app
listens beyond loopback, so it asks for the login it made, and every page logs in."""

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from heygem.testing import synthetic
from heygem.testing.processes import ROOT, App

CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(os.environ.get("HEYGEM_ARTIFACTS", ROOT / "artifacts"))
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


def workspace_files(root: Path) -> dict[str, int]:
    """Every file in the workspace but the job store and the logs, with its size."""
    skip = ("heygem.sqlite", "运行实时日志.log", "app-stdout.txt")
    return {
        str(p.relative_to(root)): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(skip)
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app.py on every interface (``--host 0.0.0.0``, reached on 127.0.0.1): with the
    login it makes on its first start."""
    running = App(tmp_path_factory.mktemp("workspace"), None, None, "--host", "0.0.0.0")
    yield running.wait_ready()
    running.stop()


def logged_in(browser, app, **options):
    """A new page whose browser answers the app's login prompt (HTTP Basic) with its login."""
    user, password = app.login()
    return browser.new_page(http_credentials={"username": user, "password": password}, **options)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def download_zip(page, saved: Path, previous: str | None = None) -> tuple[list[str], str]:
    """Click the History tab's zip button and download the zip its new link offers (not the
    link ``previous``); (the names inside, the link)."""
    page.locator("#hg-zip").click()
    fresh = f':not([href="{previous}"])' if previous else ""
    link = page.locator(f"#hg-zip-file a{fresh}").first
    link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None  # every member's CRC checks out
        return archive.namelist(), link.get_attribute("href")


def test_batch_from_upload_to_zip(browser, app, tmp_path):
    audio = synthetic.speech_wav(tmp_path / "narration.wav", 1.5)
    videos = [
        synthetic.face_video(tmp_path / "presenter A.mp4", 1.0, size=(320, 180), face=120),
        synthetic.face_video(tmp_path / "presenter B.mp4", 1.2, size=(320, 180), face=120),
    ]
    page = logged_in(browser, app, locale="en-US", viewport={"width": 1400, "height": 1100})
    page.goto(app.url)
    page.locator("#hg-audio input[type=file]").set_input_files(str(audio))
    page.locator("#hg-videos input[type=file]").set_input_files([str(v) for v in videos])
    page.locator("#hg-videos tr.file").nth(1).wait_for()  # both listed, each with a remove button
    page.locator("#hg-start").click()
    page.locator('#hg-live [data-state="done"]').wait_for(timeout=120_000)
    rows = page.locator("#hg-live tr.hg-item")
    assert rows.count() == 2
    assert page.locator('#hg-live tr.hg-item[data-status="done"]').count() == 2
    assert "presenter A.mp4" in rows.nth(0).inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "batch-finished.png"), full_page=True)

    page.get_by_role("tab", name="History").click()
    outputs = page.locator("#hg-history-outputs")
    outputs.get_by_label("presenter A.mp4 → presenter A.mp4").wait_for(timeout=30_000)
    for label in ("presenter A.mp4 → presenter A.mp4", "presenter B.mp4 → presenter B.mp4"):
        outputs.get_by_label(label).check()
    kept, previous = workspace_files(app.workspace), None
    for attempt in range(2):  # each download streams a fresh zip and leaves no copy behind
        members, previous = download_zip(page, tmp_path / f"download-{attempt}.zip", previous)
        assert sorted(Path(n).name for n in members) == ["presenter A.mp4", "presenter B.mp4"]
        assert workspace_files(app.workspace) == kept
    page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
    page.close()


def test_chinese_browser_gets_chinese_ui(browser, app):
    page = logged_in(browser, app, locale="zh-CN")
    page.goto(app.url)
    page.get_by_role("button", name="开始批量生成").wait_for(timeout=30_000)
    assert page.get_by_role("tab", name="批量处理").count() == 1
    assert page.get_by_role("tab", name="运行实时日志").count() == 1
    page.close()


def test_several_narrations_preview_run_and_zip_by_video(browser, app, tmp_path):
    audios = [
        synthetic.speech_wav(tmp_path / "lesson01.wav", 0.8, seed=7),
        synthetic.speech_wav(tmp_path / "lesson02.wav", 1.0, seed=8),
    ]
    videos = [
        synthetic.face_video(tmp_path / "lesson01.mp4", 1.0, size=(320, 184), face=118),
        synthetic.face_video(tmp_path / "ben.mp4", 1.0, size=(336, 180), face=122),
    ]
    page = logged_in(browser, app, locale="en-US", viewport={"width": 1400, "height": 1400})
    page.goto(app.url)
    page.locator("#hg-audio input[type=file]").set_input_files([str(a) for a in audios])
    page.locator("#hg-videos input[type=file]").set_input_files([str(v) for v in videos])
    preview = page.locator("#hg-pairs")
    preview.locator('[data-pairs="4"]').wait_for(timeout=30_000)  # every narration × every video
    assert "4 pair(s): 2 narration(s) × 2 video(s)" in preview.inner_text()
    page.locator("#hg-pairing").get_by_text("by name", exact=False).click()
    preview.locator('[data-pairs="1"]').wait_for(timeout=30_000)
    assert "Not paired, left out: lesson02.wav, ben.mp4" in preview.inner_text()
    page.locator("#hg-pairing").get_by_text("manifest", exact=False).click()
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(
        "audio,video,output\nlesson02.wav,ben.mp4,Ben intro\nlesson01.wav,ben.mp4,Ben intro\n"
    )
    page.locator("#hg-manifest input[type=file]").set_input_files(str(manifest))
    page.locator("#hg-pairs .hg-pairs-error").wait_for(timeout=30_000)
    assert "jobs.csv: line 3: output 'Ben intro.mp4' is also line 2's" in preview.inner_text()
    page.locator("#hg-pairing").get_by_text("every narration", exact=False).click()
    preview.locator('[data-pairs="4"]').wait_for(timeout=30_000)
    assert preview.locator("tr.hg-pair").count() == 4
    page.locator("#hg-start").click()
    narrations = page.locator("th", has_text="Narration")  # this batch's table, not an earlier one's
    page.locator('#hg-live [data-state="done"]', has=narrations).wait_for(timeout=120_000)
    rows = page.locator("#hg-live tr.hg-item")
    assert rows.count() == 4
    pairs = [tuple(rows.nth(k).locator("td").all_inner_texts()[:2]) for k in range(4)]
    assert pairs == [  # in run order: the longer narration first, each video once per narration
        ("1. lesson02.wav", "lesson01.mp4"),
        ("2. lesson02.wav", "ben.mp4"),
        ("3. lesson01.wav", "lesson01.mp4"),
        ("4. lesson01.wav", "ben.mp4"),
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pairs-finished.png"), full_page=True)

    page.get_by_role("tab", name="History").click()
    page.locator("#hg-history-group").get_by_text("by video", exact=False).click()
    outputs = page.locator("#hg-history-outputs")
    first = "ben.mp4 · lesson01.wav → ben__lesson01.mp4"
    outputs.get_by_label(first).wait_for(timeout=30_000)
    labels = outputs.locator("label").all_inner_texts()
    assert [label.strip() for label in labels] == [
        first,
        "ben.mp4 · lesson02.wav → ben__lesson02.mp4",
        "lesson01.mp4 · lesson01.wav → lesson01__lesson01.mp4",
        "lesson01.mp4 · lesson02.wav → lesson01__lesson02.mp4",
    ]
    for label in labels:
        outputs.get_by_label(label.strip()).check()
    members, _ = download_zip(page, tmp_path / "pairs.zip")
    folders = sorted("/".join(Path(n).parts[1:]) for n in members)
    assert folders == [
        "ben/ben__lesson01.mp4",
        "ben/ben__lesson02.mp4",
        "lesson01/lesson01__lesson01.mp4",
        "lesson01/lesson01__lesson02.mp4",
    ]
    page.close()


# The UI's costs and surprises ---------------------------------------------------------------


def polls_during(page, seconds: float) -> int:
    """How many events the page sends (timer ticks among them) in ``seconds``."""
    sent = []

    def seen(request):
        if "queue/join" in request.url:
            sent.append(request.url)

    page.on("request", seen)
    page.wait_for_timeout(seconds * 1000)
    page.remove_listener("request", seen)
    return len(sent)


def settled(page, limit: float = 10) -> None:
    """Until a second passes with no event sent: a tab's one-off events (its own, then those
    chained after them) are on their way for a moment after what they show appears. A timer
    that ticks every second or two is still caught by the longer window counted after this."""
    for _ in range(int(limit)):
        if polls_during(page, 1) == 0:
            return
    raise AssertionError(f"the page kept sending events for {limit} s")


def test_timers_tick_only_for_the_visible_tab_and_an_unfinished_batch(browser, app, tmp_path):
    from gradio_client import handle_file

    from heygem.testing.processes import finished, wait_for

    client = app.client()
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.4)
    clip = synthetic.face_video(tmp_path / "clip.mp4", 0.4, size=(160, 96), face=60)
    batch_id = client.predict(handle_file(audio), [handle_file(clip)], api_name="/submit_batch")
    wait_for(lambda: finished(client, batch_id), timeout=120)
    page = logged_in(browser, app, locale="en-US")
    page.goto(app.url)
    page.locator('#hg-live [data-state="done"]').wait_for(timeout=30_000)  # the latest batch, finished
    # The page's one-off load events (the Single tab's stored batch arrives from the browser's
    # storage after the Batch tab shows) may still be on their way; after they settle, four
    # seconds without an event show that no timer ticks.
    settled(page)
    assert polls_during(page, 4) == 0  # Batch tab, nothing left to follow
    page.get_by_role("tab", name="History").click()
    page.locator("#hg-history .hg-batch-row").first.wait_for(timeout=30_000)
    settled(page)  # the batch list shown, its outputs are read next
    assert polls_during(page, 4) == 0  # History has no timer
    page.get_by_role("tab", name="Realtime log").click()
    page.wait_for_timeout(1000)  # the tab's own events (stop the others, show the log) are sent
    assert 2 <= polls_during(page, 6) <= 4  # the log's 2 s timer, alone
    page.get_by_role("tab", name="History").click()
    settled(page)  # History reads its list again
    assert polls_during(page, 4) == 0  # leaving the log stopped its timer
    page.close()


def test_the_player_keeps_the_video_the_user_picked(browser, tmp_path):
    from gradio_client import handle_file

    from heygem.testing.processes import App, Pauses

    pauses = Pauses(tmp_path / "pauses", "video3:probing:0")
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.6)
    clips = [synthetic.face_video(tmp_path / f"take {k}.mp4", 0.6, size=(160, 96), face=60) for k in range(3)]
    with App(tmp_path / "ws", env=pauses.env).wait_ready() as app:
        batch_id = app.client().predict(
            handle_file(audio), [handle_file(c) for c in clips], api_name="/submit_batch"
        )
        pauses.reached("video3:probing:0")  # takes 0 and 1 are finished, take 2 is held
        page = browser.new_page(locale="en-US")
        page.goto(app.url)
        page.locator(f'#hg-live [data-batch="{batch_id}"]').wait_for(timeout=30_000)
        pick = page.locator("#hg-play-pick input")
        page.wait_for_function("document.querySelector('#hg-play-pick input').value === 'take 0.mp4'")
        pick.click()
        page.get_by_role("option", name="take 1.mp4").click()
        page.locator("#hg-player video[src*='take%201.mp4'], #hg-player video[src*='take 1.mp4']").wait_for()
        pauses.release("video3:probing:0")
        page.locator('#hg-live [data-state="done"]').wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # a tick after the last video finished
        assert pick.input_value() == "take 1.mp4"  # not back to the first
        assert "take" in page.locator("#hg-player video").get_attribute("src")
        assert "1.mp4" in page.locator("#hg-player video").get_attribute("src")
        page.close()
        app.stop()


def test_the_single_tab_has_settings_of_its_own(browser, app, tmp_path):
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.4)
    clip = synthetic.face_video(tmp_path / "one take.mp4", 0.4, size=(160, 96), face=60)
    page = logged_in(browser, app, locale="en-US")
    page.goto(app.url)
    page.locator("#hg-batch-settings").click()  # open the Batch tab's settings
    page.locator("#hg-batch-quality").get_by_label("small").check()
    page.get_by_role("tab", name="Single").click()
    page.locator("#hg-single-settings").click()
    page.locator("#hg-single-quality").get_by_label("high").check()
    cost = page.locator("#hg-single-enhancer-cost").inner_text()
    assert "s per frame" in cost and "CUDA GPU" in cost  # the one-line cost note
    page.locator("#hg-single-enhancer input").click()
    page.get_by_role("option", name="none", exact=True).click()
    page.locator("#hg-single-enhancer input").press("Escape")  # the list closed
    page.locator("#hg-single-blend input[type=number]").fill("40")
    page.locator("#hg-single-blend input[type=number]").press("Tab")
    page.locator("#hg-single-audio input[type=file]").set_input_files(str(audio))
    page.locator("#hg-single-video input[type=file]").set_input_files(str(clip))
    page.locator("#hg-single-video").get_by_text("one take.mp4").wait_for()
    page.locator("#hg-single-start").click()
    live = page.locator("#hg-single-live .hg-batch")
    live.wait_for(timeout=60_000)
    batch_id = live.get_attribute("data-batch")
    settings = app.client().predict(batch_id, api_name="/batch_status")["settings"]
    assert settings["quality"] == "high"  # its own, not the Batch tab's "small"
    assert (settings["enhancer"], settings["enhancer_blend"]) == ("none", 40)
    page.close()


def test_history_retry_and_delete_say_what_they_did_and_refresh(browser, tmp_path):
    from gradio_client import handle_file

    from heygem.testing.processes import App, Pauses, finished, wait_for

    pauses = Pauses(tmp_path / "pauses", "video1:probing:0")
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.4)
    good = synthetic.face_video(tmp_path / "good take.mp4", 0.4, size=(160, 96), face=60)
    broken = tmp_path / "broken take.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    with App(tmp_path / "ws", env=pauses.env).wait_ready() as app:
        client = app.client()
        batch_id = client.predict(
            handle_file(audio), [handle_file(broken), handle_file(good)], api_name="/submit_batch"
        )
        wait_for(lambda: finished(client, batch_id), timeout=120)  # broken failed at submit, good done
        page = browser.new_page(locale="en-US")
        page.goto(app.url)
        page.get_by_role("tab", name="History").click()
        row = page.locator("#hg-history .hg-batch-row").first
        row.and_(page.locator('[data-state="partial"]')).wait_for(timeout=30_000)
        page.locator("#hg-history-retry").click()
        page.get_by_text(f"1 video(s) of batch {batch_id} queued again.").wait_for(timeout=30_000)
        # Shown at once: the row is read again right after the retry, before or after the
        # runner takes the video up (queued or running; the video is then held while probing).
        back = page.locator('[data-state="queued"], [data-state="running"]')
        row.and_(back).wait_for(timeout=30_000)
        pauses.reached("video1:probing:0")
        pauses.release("video1:probing:0")
        wait_for(lambda: finished(client, batch_id), timeout=120)
        outputs = page.locator("#hg-history-outputs")
        outputs.get_by_label("good take.mp4 → good take.mp4").check()
        page.locator("#hg-history-delete").click()
        page.get_by_text("Deleted 1 output(s).").wait_for(timeout=30_000)
        outputs.get_by_label("good take.mp4 → good take.mp4").wait_for(state="detached", timeout=30_000)
        assert not (app.workspace / "outputs" / batch_id / "good take.mp4").exists()
        page.close()
        app.stop()


def test_the_system_tab_retries_a_failed_model_load(browser, tmp_path, random_checkpoint):
    from heygem.testing.processes import App

    weights = tmp_path / "checkpoints"
    weights.mkdir()
    with App(tmp_path / "ws", None, None, "--engine", "wav2lip", "--checkpoint-dir", str(weights)) as app:
        app.wait_ready(marker="model failed to load")
        page = browser.new_page(locale="en-US")
        page.goto(app.url)
        page.locator('#hg-engine [data-state="error"]').wait_for(timeout=30_000)
        page.get_by_role("tab", name="System").click()
        button = page.locator("#hg-retry-load")
        button.wait_for(timeout=30_000)
        (weights / "wav2lip.pth").write_bytes(random_checkpoint.read_bytes())
        button.click()
        page.locator('#hg-engine [data-state="ready"]').wait_for(timeout=60_000)
        button.wait_for(state="hidden")
        page.close()
        app.stop()
