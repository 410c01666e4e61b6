"""Notifications: a JSON POST of a finished batch's manifest to ``--notify-url``, retried.

When a batch ends, its notification is recorded in the job store as due; a thread of its own
sends what is due, so a slow receiver never holds up the queue. A POST that fails (no answer,
an HTTP error, a malformed URL) goes to the realtime log and is tried again after each of
:func:`retry_seconds` (``HEYGEM_NOTIFY_RETRY_SECONDS``, comma-separated, read when a Notifier
is made and checked by app.py at start); after the last the
notification is given up, and the log and the batch's status say so. The store keeps when
the next try is due, so a restart goes on where the last process stopped.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import urllib.parse
import urllib.request

from heygem.errors import describe
from heygem.jobs.housekeeping import batch_manifest
from heygem.jobs.records import Batch
from heygem.jobs.store import JobStore

log = logging.getLogger("heygem")

# Seconds to wait before each retry (7 tries over about 53 minutes); then it is given up.
DEFAULT_RETRY_SECONDS = (10.0, 30.0, 90.0, 300.0, 900.0, 1800.0)
RETRY_ENV = "HEYGEM_NOTIFY_RETRY_SECONDS"  # replaces them: seconds, comma-separated
TIMEOUT = 10  # seconds a receiver has to answer one POST
IDLE_WAIT = 60  # seconds the thread sleeps when nothing is due, unless woken


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be notified (None when it can): it must be http(s)://host/..."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "not an http:// or https:// URL with a host"
    return None


def retry_seconds(text: str | None = None) -> tuple[float, ...]:
    """The waits before each retry: ``text`` (seconds, comma-separated), else $HEYGEM_NOTIFY_RETRY_SECONDS,
    else :data:`DEFAULT_RETRY_SECONDS`. Raises ValueError saying what is wrong."""
    text = os.environ.get(RETRY_ENV) if text is None else text
    if text is None:
        return DEFAULT_RETRY_SECONDS
    try:
        waits = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{text!r} is not seconds separated by commas (e.g. 10,30,90)") from None
    if not all(math.isfinite(wait) and wait >= 0 for wait in waits):
        raise ValueError(f"{text!r}: each wait is a number of seconds, 0 or more")
    return waits


class Notifier:
    """Sends due notifications from its own thread; :meth:`send_due` is one round of it."""

    def __init__(self, store: JobStore, url: str, waits: tuple[float, ...] | None = None):
        """``waits``: seconds before each retry (default: :func:`retry_seconds`)."""
        self.store = store
        self.url = url
        self.retry_seconds = waits if waits is not None else retry_seconds()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="heygem-notify", daemon=True)

    def start(self) -> Notifier:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def batch_ended(self, batch_id: str) -> None:
        """Record the batch's notification as due now and send it soon."""
        self.store.schedule_notification(batch_id, time.time())
        self._wake.set()

    def send_due(self) -> int:
        """Try every notification that is due; returns how many were tried."""
        due = self.store.notifications_due(time.time())
        for batch in due:
            self._send(batch)
        return len(due)

    def _send(self, batch: Batch) -> None:
        attempt = batch.notify_attempts + 1
        body = json.dumps(batch_manifest(batch).to_json(), ensure_ascii=False).encode()
        try:
            request = urllib.request.Request(
                self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                log.info("notified %s about batch %s (HTTP %s)", self.url, batch.id, response.status)
        except Exception as exc:  # no answer, an HTTP error, a malformed URL: all retried
            self._failed(batch, attempt, describe(exc))
            return
        self.store.notification_sent(batch.id, attempt)

    def _failed(self, batch: Batch, attempt: int, error: str) -> None:
        tries = len(self.retry_seconds) + 1
        if attempt >= tries:
            log.error(
                "gave up notifying %s about batch %s after %d attempts: %s",
                self.url,
                batch.id,
                attempt,
                error,
            )
            self.store.notification_failed(batch.id, attempt, error, retry_at=None)
            return
        wait = self.retry_seconds[attempt - 1]
        log.warning(
            "notification to %s about batch %s failed (attempt %d of %d): %s; trying again in %g s",
            self.url,
            batch.id,
            attempt,
            tries,
            error,
            wait,
        )
        self.store.notification_failed(batch.id, attempt, error, retry_at=time.time() + wait)

    def _main(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
                due = self.store.next_notification()
            except Exception:  # the store, briefly: the next round tries again
                log.exception("notifications: could not read the job store; trying again in %d s", IDLE_WAIT)
                due = None
            wait = IDLE_WAIT if due is None else max(0.0, min(IDLE_WAIT, due - time.time()))
            self._wake.wait(wait)
            self._wake.clear()
