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


def workspace_files(root: Path) -> dict[str, int]:
    """Every file in the workspace but the job store and the logs, with its size."""
    skip = ("heygem.sqlite", "运行实时日志.log", "app-stdout.txt")
    return {
        str(p.relative_to(root)): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(skip)
    }


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


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
    kept, previous = workspace_files(app.workspace), "none"
    for attempt in range(2):
        page.locator("#hg-zip").click()
        link = page.locator(f'#hg-zip-file a:not([href="{previous}"])').first
        link.wait_for(timeout=30_000)
        previous = link.get_attribute("href")
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / f"download-{attempt}.zip"
        download.value.save_as(saved)
        with zipfile.ZipFile(saved) as archive:
            names = sorted(Path(n).name for n in archive.namelist())
            assert archive.testzip() is None  # every member's CRC checks out
        assert names == ["presenter A.mp4", "presenter B.mp4"]
        assert workspace_files(app.workspace) == kept  # a download leaves no copy behind
    page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
    page.close()


def test_chinese_browser_gets_chinese_ui(browser, app):
    page = browser.new_page(locale="zh-CN")
    page.goto(app.url)
    page.get_by_role("button", name="开始批量生成").wait_for(timeout=30_000)
    assert page.get_by_role("tab", name="批量处理").count() == 1
    assert page.get_by_role("tab", name="运行实时日志").count() == 1
    page.close()
