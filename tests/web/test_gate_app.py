"""The int8 gate as the app shows it: the runtime ``auto`` chose and the verdict behind it in
``/health`` and on the System tab, and the runtime each output was made with in its batch's
status and ``batch.json`` (the real app.py, wav2lip on random weights, CPU)."""

from __future__ import annotations

import json
from dataclasses import asdict

import httpx
import pytest

from heygem.lipsync.gate import int8_verdict
from heygem.testing import synthetic
from heygem.testing.processes import App, wait_for
from heygem.web import apischema
from tests.web.test_browser import CHROMIUM, browser  # noqa: F401 - browser is a fixture

pytest.importorskip("openvino", reason="the gate chooses between OpenVINO runtimes")


@pytest.fixture(scope="module")
def gated_app(tmp_path_factory, random_checkpoint, _private_cache):
    """The app with wav2lip on ``random_checkpoint`` and ``--runtime auto`` (the session's
    cache already holds the gate's verdict on those weights: the app reads it back)."""
    folder = tmp_path_factory.mktemp("gated")
    args = ("--engine", "wav2lip", "--checkpoint", str(random_checkpoint), "--runtime", "auto")
    running = App(folder / "ws", None, None, *args)
    yield running.wait_ready()
    running.stop()


def test_health_names_the_runtime_and_the_verdict(gated_app, random_checkpoint, _private_cache):
    verdict = int8_verdict(random_checkpoint, _private_cache)
    health = httpx.get(f"{gated_app.url}api/v1/health", timeout=60)
    engine = apischema.Health.model_validate(health.json()).engine
    assert engine.runtime == verdict.runtime
    assert engine.int8_gate.model_dump() == asdict(verdict)


def test_each_output_names_its_runtime(gated_app, tmp_path, random_checkpoint, _private_cache):
    verdict = int8_verdict(random_checkpoint, _private_cache)
    audio = synthetic.speech_wav(tmp_path / "narration.wav", 1.0)
    clip = synthetic.face_video(tmp_path / "presenter.mp4", 1.0, size=(320, 180), face=120)
    with httpx.Client(base_url=f"{gated_app.url}api/v1", timeout=60) as api:
        files = [("audio", (audio.name, audio.read_bytes(), "audio/wav"))]
        files.append(("video", (clip.name, clip.read_bytes(), "video/mp4")))
        batch_id = api.post("/batches", files=files).json()["id"]
        status = wait_for(lambda: _finished(api, batch_id), timeout=180)
    assert status["items"][0]["status"] == "done", status
    assert status["items"][0]["runtime"] == verdict.runtime
    manifest = json.loads((gated_app.workspace / "outputs" / batch_id / "batch.json").read_text())
    assert manifest["videos"][0]["runtime"] == verdict.runtime


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_the_system_tab_shows_the_verdict(gated_app, browser, random_checkpoint, _private_cache):  # noqa: F811
    verdict = int8_verdict(random_checkpoint, _private_cache)
    page = browser.new_page(locale="en-US")
    page.goto(gated_app.url)
    page.get_by_role("tab", name="System").click()
    panel = page.locator("#hg-system")
    outcome = "passed" if verdict.passed else "failed"
    panel.get_by_text(f"{outcome}: mean {verdict.mean:.3f}").wait_for(timeout=30_000)
    text = panel.inner_text()
    assert verdict.runtime in text and verdict.checkpoint_sha256[:12] in text and verdict.measured in text
    page.close()


def _finished(api, batch_id: str) -> dict | None:
    document = api.get(f"/batches/{batch_id}").json()
    return document if document["state"] in ("done", "partial", "failed", "cancelled") else None
