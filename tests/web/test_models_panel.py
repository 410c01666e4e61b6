"""The download panel's text, and the installer's refusals, without a running app."""

from __future__ import annotations

import json

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
