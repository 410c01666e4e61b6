"""Notifications against a real HTTP server on 127.0.0.1: retried, bounded, kept across restarts."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from heygem.jobs import JobStore, Notifier
from heygem.testing.processes import free_port

NO_WAIT = (0.0, 0.0, 0.0)  # retry at once: the tests step the notifier themselves


class Receiver:
    """An HTTP server that answers each POST with the next of ``codes`` (the last repeats)."""

    def __init__(self, codes):
        self.codes, self.posts = list(codes), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(outer.codes[min(len(outer.posts), len(outer.codes)) - 1])
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def store(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    store.add_batch("b1", "/u/a.wav", "a.wav", {}, [("x.mp4", "/u/x.mp4", "/o/x.mp4", "x.mp4: broken")])
    return store  # b1 ended at submit: its only video failed


def test_a_failing_receiver_is_retried_then_given_up(store, caplog):
    receiver = Receiver([500])
    try:
        notifier = Notifier(store, receiver.url, NO_WAIT)
        notifier.batch_ended("b1")
        while notifier.send_due():
            pass
    finally:
        receiver.close()
    assert len(receiver.posts) == 4  # the first try and three retries, then no more
    assert store.get("b1").notification == {
        "state": "failed",
        "attempts": 4,
        "error": "HTTPError: HTTP Error 500: Internal Server Error",
    }
    assert receiver.posts[0]["batch_id"] == "b1" and receiver.posts[0]["state"] == "failed"
    levels = [r.levelno for r in caplog.records if "b1" in r.getMessage() and "notif" in r.getMessage()]
    assert levels == [logging.WARNING] * 3 + [logging.ERROR]  # each failure logged, the last says so


def test_a_pending_notification_survives_a_restart(store, tmp_path):
    down = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    first = Notifier(store, down, NO_WAIT)
    first.batch_ended("b1")
    assert first.send_due() == 1
    assert store.get("b1").notification["state"] == "pending"
    receiver = Receiver([204])
    try:
        again = Notifier(JobStore(tmp_path / "jobs.sqlite"), receiver.url, NO_WAIT)  # a new process
        assert again.send_due() == 1
        assert again.send_due() == 0  # sent once
    finally:
        receiver.close()
    assert store.get("b1").notification == {"state": "sent", "attempts": 2, "error": None}
    assert [post["batch_id"] for post in receiver.posts] == ["b1"]


def test_a_malformed_url_is_logged_not_raised(store, caplog):
    notifier = Notifier(store, "htp:/nowhere", NO_WAIT[:1])
    notifier.batch_ended("b1")
    while notifier.send_due():
        pass
    assert store.get("b1").notification["state"] == "failed"
    assert "unknown url type" in store.get("b1").notification["error"]


def test_a_retried_batch_notifies_again(store):
    receiver = Receiver([204])
    try:
        notifier = Notifier(store, receiver.url, NO_WAIT)
        notifier.batch_ended("b1")
        notifier.send_due()
        assert store.retry_batch("b1") == 1
        assert store.get("b1").notification is None  # running again: nothing due
        store.finish_item(store.claim_next(), "failed", error="x.mp4: broken")
        notifier.batch_ended("b1")
        notifier.send_due()
    finally:
        receiver.close()
    assert len(receiver.posts) == 2 and store.get("b1").notification["attempts"] == 1


def test_a_bad_retry_setting_is_a_clear_error_at_start_not_a_crash_at_import():
    """HEYGEM_NOTIFY_RETRY_SECONDS with a trailing comma: importing the job layer works, and
    app.py refuses to start with the variable, the value and what it wants."""
    import os
    import subprocess
    import sys

    from heygem.testing.processes import ROOT

    env = {**os.environ, "HEYGEM_NOTIFY_RETRY_SECONDS": "10,30,"}
    imported = subprocess.run([sys.executable, "-c", "import heygem.jobs.notify"], cwd=ROOT, env=env)
    assert imported.returncode == 0
    started = subprocess.run(
        [sys.executable, "-c", "import app; app.parse_args([])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert started.returncode == 2 and "Traceback" not in started.stderr
    assert "HEYGEM_NOTIFY_RETRY_SECONDS: '10,30,' is not seconds separated by commas" in started.stderr
