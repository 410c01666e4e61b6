"""Shared fixtures: generated media (the astronaut as the real face) and a random-weight model."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from heygem.testing import synthetic
from heygem.testing.processes import App


@pytest.fixture(autouse=True)
def _heygem_logs(caplog):
    caplog.set_level(logging.INFO, logger="heygem")


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Face tracks and exported models go to a folder of this test session, never ~/.cache
    (subprocesses inherit it through the environment)."""
    folder = tmp_path_factory.mktemp("heygem-cache")
    before = os.environ.get("HEYGEM_CACHE_DIR")
    os.environ["HEYGEM_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("HEYGEM_CACHE_DIR", None)
    else:
        os.environ["HEYGEM_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    """A session folder of generated media, created on first use of each file."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech(media) -> Path:
    """3 s of speech-like narration, 16 kHz mono WAV."""
    return synthetic.speech_wav(media / "speech.wav", 3.0)


@pytest.fixture(scope="session")
def face_clip(media) -> Path:
    """2 s, 640x360, 25 fps: the astronaut drifting across a textured backdrop."""
    return synthetic.face_video(media / "face clip.mp4", 2.0)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app.py (loudness engine, CPU) on a free port with a workspace of its own, one
    per test module."""
    running = App(tmp_path_factory.mktemp("workspace"))
    yield running.wait_ready()
    running.stop()


@pytest.fixture(scope="session")
def random_checkpoint(media, _private_cache) -> Path:
    """A randomly initialised Wav2Lip saved in the official checkpoint format.

    Its int8 gate verdict (what ``--runtime auto`` runs on a CPU) is measured here, once per
    session, into the session's cache: the apps and workers the tests start with it read the
    verdict instead of calibrating inside their start-up timeouts."""
    import importlib.util

    import torch

    from heygem.lipsync.checkpoint import save_checkpoint
    from heygem.lipsync.model import Wav2Lip

    torch.manual_seed(0)
    path = media / "wav2lip_random.pth"
    save_checkpoint(Wav2Lip(), path, data_parallel_prefix=True)
    if importlib.util.find_spec("openvino") is not None:
        from heygem.lipsync.gate import int8_verdict

        int8_verdict(path, _private_cache)
    return path


class IdleWorker:
    """The queue loop's face without its thread: what is submitted stays queued."""

    def __init__(self):
        from heygem.jobs import EngineStatus
        from heygem.jobs.loop import LoopHealth

        self.status = EngineStatus()
        self.health = LoopHealth()

    def wake(self):
        pass

    def cancelled(self, batch_id):
        pass

    def retried(self, batch_id):
        pass


@pytest.fixture
def service(tmp_path):
    """The web layer's Service on a real store and workspace, with no worker running."""
    from heygem.jobs import JobStore, Workspace
    from heygem.web.service import Service

    workspace = Workspace(tmp_path / "ws").create()
    return Service(workspace, JobStore(workspace.db), IdleWorker())
