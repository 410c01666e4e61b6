"""A real browser (Debian's chromium through Playwright) against the real app."""

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from heygem.testing import synthetic
from heygem.testing.processes import ROOT

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


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def download_zip(page, saved: Path) -> list[str]:
    """Click the History tab's zip button, download the zip it offers; the names inside."""
    page.locator("#hg-zip").click()
    link = page.locator("#hg-zip-file a").first
    link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        return archive.namelist()


def test_batch_from_upload_to_zip(browser, app, tmp_path):
    audio = synthetic.speech_wav(tmp_path / "narration.wav", 1.5)
    videos = [
        synthetic.face_video(tmp_path / "presenter A.mp4", 1.0, size=(320, 180), face=120),
        synthetic.face_video(tmp_path / "presenter B.mp4", 1.2, size=(320, 180), face=120),
    ]
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1100})
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
    names = sorted(Path(n).name for n in download_zip(page, tmp_path / "download.zip"))
    assert names == ["presenter A.mp4", "presenter B.mp4"]
    page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
    page.close()


def test_chinese_browser_gets_chinese_ui(browser, app):
    page = browser.new_page(locale="zh-CN")
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
    page = browser.new_page(locale="en-US", viewport={"width": 1400, "height": 1400})
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
    folders = sorted("/".join(Path(n).parts[1:]) for n in download_zip(page, tmp_path / "pairs.zip"))
    assert folders == [
        "ben/ben__lesson01.mp4",
        "ben/ben__lesson02.mp4",
        "lesson01/lesson01__lesson01.mp4",
        "lesson01/lesson01__lesson02.mp4",
    ]
    page.close()
