"""Bounded producer/consumer plumbing: a stage that runs ahead, and one that runs behind.

Pass 2 of the pipeline runs three stages at once, so that the model never waits for I/O:

    reader thread  (:class:`Prefetch`)  decode source frames, gather batches with their
                                        face regions and mel windows
    calling thread                      the engine renders each batch (the model)
    writer thread  (:class:`Sink`)      colour-convert the frames and pipe them to the encoder

Each queue holds at most ``depth`` items, so what is in flight is bounded whatever the video
length. The background stages may run nicer than the calling thread (``nice``), so that on
a small machine they fill the gaps the model leaves instead of taking cores from it; the
bounded queues keep them from falling behind. An exception in a background stage is raised in the calling thread at its next
``next()`` / ``put()`` / ``close()``; when the calling thread fails (or is cancelled through
the progress hook), :meth:`Prefetch.close` and :meth:`Sink.abort` stop the threads. Each stage
counts its busy seconds (work, not waiting) for the per-stage timings.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from heygem.machine import lower_priority

T = TypeVar("T")

POLL_SECONDS = 0.05  # how often a blocked stage looks whether it has been told to stop
_END = object()  # queue item: the producer is finished


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class Prefetch(Generic[T]):
    """Iterate ``source`` in a background thread, at most ``depth`` items ahead of the reader.

    ``source`` is created and exhausted (or closed) inside the thread. Use as an iterator,
    and call :meth:`close` (or use ``with``) to stop early.
    """

    def __init__(
        self, source: Callable[[], Iterator[T]], depth: int = 1, name: str = "prefetch", nice: int = 0
    ):
        self.busy = 0.0  # seconds the thread spent producing items
        self._nice = nice  # niceness steps the thread runs below its creator
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name=name, daemon=True)
        self._thread.start()

    def _run(self, source: Callable[[], Iterator[T]]) -> None:
        lower_priority(self._nice)
        try:
            started = time.perf_counter()
            items = source()
            try:
                for item in items:
                    self.busy += time.perf_counter() - started
                    if not self._offer(item):
                        return
                    started = time.perf_counter()
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            self._offer(_END)
        except BaseException as error:  # handed to the reader, raised there
            self._offer(_Failure(error))

    def _offer(self, item) -> bool:
        """Put ``item`` when there is room; False when told to stop first."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        item = self._queue.get()
        if item is _END:
            self._queue.put(_END)  # later calls end too
            raise StopIteration
        if isinstance(item, _Failure):
            raise item.error
        return item

    def close(self) -> None:
        """Stop the thread and wait for it (it finishes the item it is producing)."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=POLL_SECONDS)
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Sink(Generic[T]):
    """Call ``consume(item)`` in a background thread for each :meth:`put` item, in order,
    with at most ``depth`` items waiting."""

    def __init__(self, consume: Callable[[T], None], depth: int = 1, name: str = "sink", nice: int = 0):
        self.busy = 0.0  # seconds the thread spent consuming items
        self._nice = nice  # niceness steps the thread runs below its creator
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        lower_priority(self._nice)
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if item is _END:
                return
            started = time.perf_counter()
            try:
                self._consume(item)
            except BaseException as error:  # raised in the caller by put() / close()
                self._error = error
                return
            finally:
                self.busy += time.perf_counter() - started

    def put(self, item: T) -> None:
        """Queue ``item``; blocks while the queue is full. Raises the consumer's error."""
        while True:
            self._raise_failure()
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    self._raise_failure()
                    raise RuntimeError("sink thread ended unexpectedly") from None

    def close(self) -> None:
        """Wait until every item is consumed; raises the consumer's error."""
        self.put(_END)
        self._thread.join()
        self._raise_failure()

    def abort(self) -> None:
        """Drop what is queued and stop the thread without waiting for it to finish the item
        it is consuming; call :meth:`join` after unblocking that item if needed."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def join(self) -> None:
        self._thread.join()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error
