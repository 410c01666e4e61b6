"""The download panel's text, and the installer's refusals, without a running app."""

from __future__ import annotations

import html
import json
import time

import pytest

from heygem.errors import HeygemError
from heygem.web.models_panel import download_html
from heygem.web.weights_install import DownloadPhase, DownloadState, WeightsInstaller


def test_the_panel_shows_figures_while_running_and_the_outcome_after():
    running = DownloadState(DownloadPhase.DOWNLOADING, "m", "<b>w.pth", 58_100_000, 145_300_000)
    page = download_html(running, "en")
    assert 'data-phase="downloading"' in page and "58.1 MB / 145 MB · 40%" in page
    assert "<b>w.pth" not in page  # names are escaped
    failed = DownloadState(DownloadPhase.FAILED, "m", "w.pth", error="unreachable", manual="put it: <here>")
    assert "<pre>put it: &lt;here&gt;</pre>" in download_html(failed, "en")
    switched = DownloadState(DownloadPhase.INSTALLED, "m", "w.pth", engine="wav2lip")
    assert "Engine switched to wav2lip without a restart" in download_html(switched, "en")
    kept = DownloadState(DownloadPhase.INSTALLED, "m", "w.pth", engine="loudness", error="did not load")
    assert "the engine is still loudness: did not load" in download_html(kept, "en")
    assert download_html(DownloadState(), "en") == ""


def test_nothing_starts_without_consent_or_with_a_bad_manifest(tmp_path):
    calls = []
    installer = WeightsInstaller(tmp_path, calls.append)
    assert installer.offered.file == "wav2lip_gan.pth"
    with pytest.raises(HeygemError, match="only after its licence is accepted: Wav2Lip weights"):
        installer.start(None, accepted=False)
    assert installer.state.phase == DownloadPhase.IDLE and calls == []
    bad = tmp_path / "models.json"
    bad.write_text(json.dumps([{"name": "x"}]))
    broken = WeightsInstaller(tmp_path, calls.append, manifest=bad)
    assert broken.offered is None
    with pytest.raises(HeygemError, match="entry 1 \\('x'\\): missing file"):
        broken.start(None, accepted=True)


def test_an_enhancer_is_offered_until_installed_and_needs_no_engine_switch(tmp_path):
    """The panel's second offer: the first face enhancer whose file is missing; its download
    (here from a local server, through a mirror table) ends installed, the worker untouched."""
    from heygem.media import file_digest
    from heygem.testing.fileserver import FileServer

    calls = []
    builtin = WeightsInstaller(tmp_path, calls.append)
    assert builtin.enhancer_offered.file == "GFPGANv1.4.pth"
    (tmp_path / "GFPGANv1.4.pth").write_bytes(b"weights")
    assert builtin.enhancer_offered.file == "RestoreFormer++.ckpt"
    payload = tmp_path / "payload.ckpt"
    payload.write_bytes(b"restorer" * 4096)
    folder = tmp_path / "checkpoints"
    with FileServer() as server:
        entry = {
            "name": "restoreformer_pp",
            "file": "RestoreFormer++.ckpt",
            "size": payload.stat().st_size,
            "sha256": file_digest(payload),
            "urls": [server.serve("/rf.ckpt", payload)],
            "licence": "Apache-2.0",
            "kind": "enhancer",
        }
        table = tmp_path / "models.json"
        table.write_text(json.dumps([entry]))
        installer = WeightsInstaller(folder, calls.append, manifest=table)
        assert installer.offered is None and installer.enhancer_offered.name == "restoreformer_pp"
        with pytest.raises(HeygemError, match="only after its licence is accepted: Apache-2.0"):
            installer.start("restoreformer_pp", accepted=False)
        installer.start("restoreformer_pp", accepted=True)
        deadline = time.monotonic() + 60
        while installer.state.phase == DownloadPhase.DOWNLOADING and time.monotonic() < deadline:
            time.sleep(0.05)
    assert (installer.state.phase, installer.state.kind) == (DownloadPhase.INSTALLED, "enhancer")
    assert calls == []  # no engine to switch: each video looks for the file when it decides
    assert (folder / "RestoreFormer++.ckpt").read_bytes() == payload.read_bytes()
    assert installer.enhancer_offered is None
    assert "RestoreFormer++.ckpt installed and verified: choose the enhancer" in download_html(
        installer.state, "en"
    )


def test_the_download_button_never_replaces_other_weights(tmp_path):
    """The app's offer over a file of the same name that is not the published one: refused at
    once, saying so and how to replace it, and the file is left as it is."""
    from heygem.lipsync import load_table

    model = next(m for m in load_table() if m.file == "wav2lip_gan.pth")
    theirs = tmp_path / model.file
    theirs.write_bytes(b"a fine-tune, or half of one")
    installer = WeightsInstaller(tmp_path, lambda then: None)
    with pytest.raises(HeygemError, match="is already there and is not the published wav2lip_gan"):
        installer.start(None, accepted=True)
    assert installer.state.phase == DownloadPhase.IDLE
    assert theirs.read_bytes() == b"a fine-tune, or half of one"


def test_consent_is_a_true_and_nothing_else(tmp_path):
    """A client sending "false", "no" or 1 for accept_licence has not accepted the licence."""
    installer = WeightsInstaller(tmp_path, lambda then: None)
    for given in ("false", "no", 1, "true"):
        with pytest.raises(HeygemError, match="only after its licence is accepted"):
            installer.start(None, accepted=given)
    assert installer.state.phase == DownloadPhase.IDLE


def test_detector_weights_are_installed_for_the_next_start_without_an_engine_switch(tmp_path):
    """s3fd.pth downloaded through the app: installed and verified, the worker's engine is not
    asked to switch, and the page says it is used from the next start."""
    import hashlib

    from heygem.testing.fileserver import FileServer
    from heygem.testing.processes import wait_for

    weights = b"s3fd test weights" * 1000
    switched = []
    with FileServer() as server:
        entry = {
            "name": "s3fd",
            "file": "s3fd.pth",
            "size": len(weights),
            "sha256": hashlib.sha256(weights).hexdigest(),
            "urls": [server.serve("/s3fd.pth", weights)],
            "licence": "BSD-3-Clause",
            "kind": "detector",
        }
        table = tmp_path / "models.json"
        table.write_text(json.dumps([entry]))
        installer = WeightsInstaller(tmp_path / "checkpoints", switched.append, manifest=table)
        installer.start("s3fd", accepted=True)
        state = wait_for(
            lambda: installer.state.phase == DownloadPhase.INSTALLED and installer.state, timeout=30
        )
    assert (tmp_path / "checkpoints" / "s3fd.pth").read_bytes() == weights
    assert switched == [] and state.error is None
    page = html.unescape(download_html(state, "en"))
    assert "s3fd.pth installed and verified: it is used from the app's next start." in page
