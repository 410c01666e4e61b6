"""`bash start_app.sh` and the weights: it never waits without a terminal, asks once on one
(default no), and `--download-models` fetches them before the app starts (scripted installs)."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import threading

import pytest

from heygem.media import file_digest
from heygem.testing.fileserver import FileServer
from heygem.testing.processes import ROOT, free_port, wait_for

PROMPT = "[y/N]"


class StartedApp:
    """``bash start_app.sh ARGS`` with its output collected, on a pseudo-terminal or without one."""

    def __init__(self, args: list[str], env: dict, terminal: bool):
        cmd = ["bash", str(ROOT / "start_app.sh"), *args]
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **env}
        if terminal:
            self.fd, child = pty.openpty()
            streams = {"stdin": child, "stdout": child, "stderr": child}
        else:
            # stdin a pipe that stays open and silent: whatever reads it would wait forever
            streams = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, start_new_session=True, **streams)
        if terminal:
            os.close(child)
        else:
            self.fd = self.proc.stdout.fileno()
        self._output = bytearray()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            self._output += chunk

    @property
    def output(self) -> str:
        return self._output.decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 180) -> None:
        def seen():
            if text in self.output:
                return True
            if self.proc.poll() is not None:
                raise RuntimeError(f"start_app.sh exited {self.proc.returncode}:\n{self.output[-3000:]}")
            return False

        wait_for(seen, timeout=timeout)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the script's own session: the app it became
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdin:
            self.proc.stdin.close()


@pytest.fixture
def install(tmp_path, random_checkpoint):
    """A fresh install's arguments (empty checkpoint folder, engine auto) and a manifest
    pointing at a local server that serves the random checkpoint."""
    with FileServer() as server:
        url = server.serve("/wav2lip_gan.pth", random_checkpoint)
        entry = {
            "name": "wav2lip_gan",
            "file": "wav2lip_gan.pth",
            "size": random_checkpoint.stat().st_size,
            "sha256": file_digest(random_checkpoint),
            "urls": [url],
            "licence": "Test weights: non-commercial use only.",
            "kind": "wav2lip",
        }
        (tmp_path / "models.json").write_text(json.dumps([entry]))
        folder = tmp_path / "checkpoints"
        folder.mkdir()
        args = ["--host", "127.0.0.1", "--port", str(free_port()), "--workspace", str(tmp_path / "ws")]
        args += ["--checkpoint-dir", str(folder), "--engine", "auto"]
        env = {"HEYGEM_MODELS_MANIFEST": str(tmp_path / "models.json")}
        yield {"args": args, "env": env, "folder": folder, "server": server}


def test_a_start_without_a_terminal_never_waits(install):
    started = StartedApp(install["args"], install["env"], terminal=False)
    try:
        started.wait_for("model ready")
    finally:
        started.stop()
    assert PROMPT not in started.output
    assert "engine loudness" in started.output
    assert install["server"].requests == []


def test_on_a_terminal_it_asks_once_and_no_is_the_default(install):
    started = StartedApp(install["args"], install["env"], terminal=True)
    try:
        started.wait_for(PROMPT)
        assert "Test weights: non-commercial use only." in started.output  # the licence, before
        started.type("\n")  # just Enter
        started.wait_for("model ready")
    finally:
        started.stop()
    assert started.output.count(PROMPT) == 1
    assert "engine loudness" in started.output
    assert install["server"].requests == [] and list(install["folder"].iterdir()) == []


def test_download_models_fetches_the_weights_before_the_app_starts(install, random_checkpoint):
    started = StartedApp([*install["args"], "--download-models"], install["env"], terminal=False)
    try:
        started.wait_for("model ready")
    finally:
        started.stop()
    assert file_digest(install["folder"] / "wav2lip_gan.pth") == file_digest(random_checkpoint)
    assert "engine wav2lip (wav2lip_gan.pth)" in started.output
    assert PROMPT not in started.output
