"""An HTTP file server on 127.0.0.1 for download tests, with the faults real hosts have.

Each served file is a :class:`Route` with its faults: a connection dropped part-way, Range
requests ignored, a pause point the test releases, a redirect. Every request is recorded
(path, Range header, status, bytes sent), so a test can assert what was fetched.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from heygem.testing.processes import free_port

BLOCK = 256 * 1024  # bytes written at a time


@dataclass
class Route:
    source: Path | bytes  # what the path serves
    honour_range: bool = True  # False: every answer is the whole file (200), as some mirrors do
    wrong_range: bool = False  # a Range is answered 206 from the file's start (a broken proxy)
    drop_at: float | None = None  # cut the connection (TCP reset) when this fraction has been sent
    drops: int = 1  # how many answers are cut at drop_at; later ones are whole
    reset: bool = False  # cut with a TCP reset (unread bytes are lost) instead of a close
    hold_at: float | None = None  # pause here until release() (an explicit pause point for races)
    redirect_to: str | None = None  # answer 302 to this path instead

    @property
    def size(self) -> int:
        return self.source.stat().st_size if isinstance(self.source, Path) else len(self.source)

    def read(self, offset: int, length: int) -> bytes:
        if isinstance(self.source, bytes):
            return self.source[offset : offset + length]
        with open(self.source, "rb") as file:
            file.seek(offset)
            return file.read(length)


@dataclass
class Served:
    path: str
    range: str | None  # the request's Range header
    status: int
    sent: int  # body bytes written


@dataclass
class FileServer:
    """``with FileServer() as server: url = server.serve("/w.pth", path, drop_at=0.4)``."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Served] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)  # a response reached hold_at
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def serve(self, path: str, source: Path | bytes, **faults) -> str:
        """Serve ``source`` at ``path`` with the given :class:`Route` faults; returns its URL."""
        self.routes[path] = Route(source, **faults)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def release(self) -> None:
        """Let a response held at its ``hold_at`` go on."""
        self._release.set()

    def sent(self, path: str | None = None) -> int:
        """Body bytes sent for ``path`` (every path when None)."""
        with self._lock:
            return sum(r.sent for r in self.requests if path is None or r.path == path)

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FileServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def dead_url(path: str = "/file") -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}{path}"


def _handler(server: FileServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            route = server.routes.get(self.path)
            record = Served(self.path, self.headers.get("Range"), 404, 0)
            with server._lock:
                server.requests.append(record)
            if route is None:
                self.send_error(404)
                return
            if route.redirect_to:
                record.status = 302
                self.send_response(302)
                self.send_header("Location", route.redirect_to)
                self.end_headers()
                return
            # a client that gives up on an answer (a timeout, a retry) is no error of the server's
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(route, record)

        def _send(self, route: Route, record: Served) -> None:
            size = route.size
            wanted = re.match(r"bytes=(\d+)-$", record.range or "")
            start = int(wanted.group(1)) if wanted and route.honour_range else 0
            ranged = bool(start)
            if route.wrong_range:
                start = 0
            if start >= size and start:
                record.status = 416
                self.send_error(416)
                return
            record.status = 206 if ranged else 200
            self.send_response(record.status)
            self.send_header("Content-Length", str(size - start))
            self.send_header("Accept-Ranges", "bytes" if route.honour_range else "none")
            if ranged:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            cut = self._cut_point(route, start, size)
            hold = int(route.hold_at * size) if route.hold_at is not None else None
            position = start
            while position < size:
                if position == hold and not server._release.is_set():
                    server.held.set()  # also holds a retry that resumes right here
                    server._release.wait(120)
                end = min(size, position + BLOCK)
                for stop in (cut, hold):
                    if stop is not None and position < stop < end:
                        end = stop
                self.wfile.write(route.read(position, end - position))
                record.sent += end - position
                position = end
                if position == cut:
                    self._cut(route.reset)
                    return

        def _cut_point(self, route: Route, start: int, size: int) -> int | None:
            """Where this answer is cut, if it is (each cut uses up one of the route's drops)."""
            with server._lock:
                if route.drop_at is None or route.drops <= 0 or int(route.drop_at * size) <= start:
                    return None
                route.drops -= 1
            return int(route.drop_at * size)

        def _cut(self, reset: bool) -> None:
            """End the answer short of its Content-Length: a close after what was sent, or a
            TCP reset, which also loses what the client had not read yet."""
            self.wfile.flush()
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def log_message(self, *args):
            pass

    return Handler
