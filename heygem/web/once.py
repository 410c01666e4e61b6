"""A submission sent twice with the same request id makes one batch: the page's Start pressed
twice while the first submit still copies, a client that retries after a timeout
(``Idempotency-Key``). The second waits for the first and gets its answer; one that failed is
tried again. Ids live in this process's memory, the last :data:`KEPT` of them."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("heygem")

KEPT = 1000  # request ids remembered


@dataclass
class _Call:
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while it runs
    result: str | None = None  # its answer, once it succeeded


class Once:
    def __init__(self, kept: int = KEPT):
        self.kept = kept
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._lock = threading.Lock()

    def run(self, key: str | None, make: Callable[[], str]) -> str:
        """``make()``, unless ``key`` was given to a call that succeeded: then its answer."""
        if not key:
            return make()
        with self._lock:
            call = self._calls.setdefault(key, _Call())
            self._calls.move_to_end(key)
            while len(self._calls) > self.kept:
                self._calls.popitem(last=False)
        with call.lock:
            if call.result is None:
                call.result = make()
            else:
                log.info("request %s came again: answered with %s, nothing new made", key, call.result)
            return call.result
