"""Start the real app.py in a subprocess for tests: a free port, a temp workspace."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from heygem.states import FINISHED_STATES

ROOT = Path(__file__).resolve().parents[2]
REDIS = shutil.which("redis-server")
FAST_REDELIVERY = {
    "HEYGEM_VISIBILITY_TIMEOUT": "8",
    "HEYGEM_LOCK_SECONDS": "6",
}  # seconds, for tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """``python app.py`` on 127.0.0.1 with the loudness engine; stop() or kill() it."""

    def __init__(self, workspace: Path, port: int | None = None, env: dict | None = None, *args: str):
        self.workspace = workspace
        self.env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = workspace / "app-stdout.txt"
        cmd = [
            sys.executable,
            str(ROOT / "app.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workspace",
            str(workspace),
            "--engine",
            "loudness",
            "--device",
            "cpu",
            *args,
        ]
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
        workspace.mkdir(parents=True, exist_ok=True)
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=self._out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90, marker: str = "model ready") -> App:
        """Until the page answers and the log says ``marker`` (the model is loaded); an app
        that never gets there is killed, so no test leaves a server behind."""
        try:
            return self._wait_ready(timeout, marker)
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, timeout: float, marker: str) -> App:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2).read(100)
                up = True
            except urllib.error.HTTPError:
                up = True  # answering (a login-protected app says 401)
            except OSError:
                up = False
            if up and marker in self.log.read_text(errors="replace"):
                return self
            time.sleep(0.3)
        raise TimeoutError(f"app not ready: {self.log.read_text()[-3000:]}")

    def login(self) -> tuple[str, str] | None:
        """(user, password) the app asks for: HEYGEM_AUTH's, else the one it made (a
        ``--host`` beyond loopback); None when it asks for none."""
        given = self.env.get("HEYGEM_AUTH") or (
            (self.workspace / "login.txt").read_text().strip()
            if (self.workspace / "login.txt").exists()
            else ""
        )
        user, _, password = given.partition(":")
        return (user, password) if given else None

    def headers(self) -> dict:
        """The Authorization header of :meth:`login`, or none."""
        from heygem.web.server import basic_header

        login = self.login()
        return {"Authorization": basic_header(*login)} if login else {}

    def client(self):
        from gradio_client import Client

        return Client(self.url, headers=self.headers(), verbose=False)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()

    def kill(self) -> None:
        """kill -9: no chance to clean up, like a crash or a power cut."""
        self.proc.kill()
        self.proc.wait()
        self._out.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.kill()


FINISHED = FINISHED_STATES  # batch states that no longer change


def finished(client, batch_id: str) -> dict | None:
    """The batch's /batch_status once it has finished, else None (for :func:`wait_for`)."""
    status = client.predict(batch_id, api_name="/batch_status")
    return status if status["state"] in FINISHED else None


def wait_for(predicate, timeout: float = 120, every: float = 0.2):
    """Poll until predicate() returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"condition not met in {timeout} s")


class Redis:
    """redis-server on 127.0.0.1 with append-only persistence in a temp folder."""

    def __init__(self, folder):
        self.folder, self.port = Path(folder), free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self):
        cmd = [
            REDIS,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            return _ping(redis.Redis(port=self.port))

        wait_for(up, timeout=20)

    def restart(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20)
        self.start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)


def _ping(client):
    try:
        return client.ping()
    except Exception:
        return False


class Worker:
    """``python -m heygem worker`` (loudness engine by default) in a subprocess."""

    def __init__(self, name, broker, workspace, env=None, engine="loudness", extra=()):
        self.name = name
        self.log = workspace / f"worker-{name}.txt"
        cmd = [
            sys.executable,
            "-m",
            "heygem",
            "worker",
            "--broker",
            broker,
            "--workspace",
            str(workspace),
            "--engine",
            engine,
            "--device",
            "cpu",
            "--name",
            name,
            *extra,
        ]
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self._out, stderr=subprocess.STDOUT
        )
        try:
            wait_for(self._ready, timeout=90)
        except BaseException:
            self.stop()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker {self.name} exited: {self.log.read_text()[-2000:]}")
        return f"worker {self.name} ready" in self.log.read_text(errors="replace")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._out.close()


class Pauses:
    """Hold a process at its pause points (:mod:`heygem.pause`) and let it go again."""

    def __init__(self, folder: Path, *patterns: str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.env = {"HEYGEM_TEST_PAUSE_AT": ",".join(patterns), "HEYGEM_TEST_PAUSE_DIR": str(self.folder)}

    def reached(self, name: str, timeout: float = 120) -> None:
        """Until the process is held at ``name``."""
        from heygem.pause import marker_for

        wait_for(lambda: marker_for(name, self.folder).exists(), timeout=timeout, every=0.05)

    def any_reached(self, timeout: float = 120) -> Path:
        """Until the process is held at any point; returns that point's marker file."""
        return wait_for(lambda: next(iter(sorted(self.folder.glob("*.paused"))), None), timeout, 0.05)

    def release(self, name: str) -> None:
        from heygem.pause import marker_for

        marker_for(name, self.folder).unlink()
