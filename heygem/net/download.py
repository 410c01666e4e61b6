"""Resumable, verified downloads of one file from a list of URLs.

Knows nothing of what the file is: URLs, the expected size and SHA-256, a destination.

- Bytes stream to ``DEST.part`` beside the destination and are hashed as they arrive.
- A ``.part`` left by an earlier try (a dropped connection, a killed process) is resumed with
  an HTTP ``Range`` request; a server that ignores it sends the whole file again, and the
  ``.part`` starts over cleanly.
- A dropped connection, a timeout or a server error is retried with back-off, resuming; a
  server that refuses to resume (416) or resumes at the wrong place has the ``.part`` thrown
  away and the file asked again from its start; a URL that cannot serve the file (refused, not
  found, the wrong size, the wrong bytes) gives way to the next one.
- Only bytes of the right size and hash are renamed to the destination, atomically, so a
  wrong file never appears under its name; a wrong ``.part`` is deleted.
- A file already at the destination is never replaced: kept when it holds the right bytes,
  else refused (:class:`DestinationTaken`; the caller may move it aside first), even when it
  appears while the download runs.
- One process at a time downloads a given destination (a lock on its ``.part``).

Progress goes to one hook, called after every block; raising from it stops the download (the
``.part`` is kept for the next try).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from heygem.media.files import file_digest, human_size
from heygem.net.partfile import DestinationTaken, DownloadError, PartFile, part_path

log = logging.getLogger("heygem")

USER_AGENT = "heygem-downloader/1"


@dataclass(frozen=True)
class Download:
    urls: tuple[str, ...]  # http(s) or file URLs of the same bytes, tried in order
    size: int  # expected length in bytes
    sha256: str  # expected SHA-256 of the bytes, lowercase hex
    dest: Path  # the final name; nothing appears there unless size and hash match


@dataclass(frozen=True)
class DownloadOptions:
    attempts: int = 4  # tries per URL while it fails in ways that may pass (drops, timeouts, 5xx)
    backoff: float = 1.0  # seconds before a URL's first retry, doubled before each next one
    timeout: float = 30.0  # seconds without a byte (or to connect) before a try is given up
    block: int = 1 << 20  # bytes read and written at a time


@dataclass(frozen=True)
class DownloadProgress:
    done: int  # bytes in the .part now, resumed ones included
    total: int  # expected bytes
    url: str  # where the bytes come from now
    resumed: int  # bytes this try started from (done - resumed arrived in this try)


ProgressHook = Callable[[DownloadProgress], None]


class _Retry(Exception):
    """This try failed in a way that may pass: try the same URL again after a pause."""


class _StartOver(_Retry):
    """The server cannot continue this .part: throw it away and ask from the start."""


class _NextUrl(Exception):
    """This URL cannot give the file: go on to the next one."""


def download(
    job: Download, progress: ProgressHook | None = None, options: DownloadOptions | None = None
) -> Path:
    """Fetch ``job.dest`` from the first of ``job.urls`` that gives the right bytes; returns it.

    A destination that already holds the right bytes is kept as it is; one that holds other
    bytes is never replaced (:class:`DestinationTaken`). Raises :class:`DownloadError` (every
    failed try listed) when no URL gives them.
    """
    options = options or DownloadOptions()
    dest = Path(job.dest)
    if dest.is_file():
        size = dest.stat().st_size
        if size != job.size:
            raise DestinationTaken(dest, f"{human_size(size)}, expected {human_size(job.size)}")
        digest = file_digest(dest)
        if digest != job.sha256:
            raise DestinationTaken(dest, f"SHA-256 {digest[:12]}…, expected {job.sha256[:12]}…")
        return dest
    failures: list[str] = []
    with PartFile.open(part_path(dest)) as part:
        if part.size > job.size:
            part.restart("longer than the file")
        for url in job.urls:
            if _fetch_from(url, job, part, progress, options, failures):
                part.publish(dest)
                log.debug("downloaded %s (%s) from %s, SHA-256 verified", dest, human_size(job.size), url)
                return dest
    raise DownloadError(dest, failures)


def _fetch_from(
    url: str,
    job: Download,
    part: PartFile,
    progress: ProgressHook | None,
    options: DownloadOptions,
    failures: list[str],
) -> bool:
    """Try ``url`` until the .part holds the verified file (True) or the URL is given up."""
    for attempt in range(options.attempts):
        if attempt:
            time.sleep(options.backoff * 2 ** (attempt - 1))
        resumed_earlier = part.size > 0  # bytes from an earlier try or another URL
        try:
            if part.size < job.size:
                _stream(url, job, part, progress, options)
        except _StartOver as exc:
            failures.append(f"{url}: {exc}")
            log.warning("download of %s: %s; starting over", job.dest.name, exc)
            part.restart(str(exc))  # a request without Range cannot fail this way again
            continue
        except _Retry as exc:
            failures.append(f"{url}: {exc}")
            log.warning(
                "download of %s: %s (try %d of %d)", job.dest.name, exc, attempt + 1, options.attempts
            )
            continue
        except _NextUrl as exc:
            failures.append(f"{url}: {exc}")
            log.warning("download of %s: %s; next URL", job.dest.name, exc)
            return False
        if part.sha256() == job.sha256:
            return True
        failures.append(f"{url}: wrong bytes (SHA-256 {part.sha256()[:12]}…, expected {job.sha256[:12]}…)")
        part.restart("wrong SHA-256")
        if not resumed_earlier:
            return False  # this URL served the whole file wrong: it will again
        # some of the bytes came from elsewhere: give this URL a clean try
    return False


def _stream(url: str, job: Download, part: PartFile, progress: ProgressHook | None, options: DownloadOptions):
    """Append the rest of the file from ``url`` to the .part (one HTTP request)."""
    start = part.size
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
    with _open(url, headers, options.timeout, resuming=bool(start)) as response:
        if start and _status(response) == 206:
            _check_range(response, start, job.size)
        else:
            if start:
                log.info("download of %s: %s ignored the resume request; starting over", job.dest.name, url)
                part.restart("the server sent the whole file")
                start = 0
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) != job.size:
                raise _NextUrl(f"wrong size: {human_size(int(declared))}, expected {human_size(job.size)}")
        while block := _read(response, options.block, part.size, job.size):
            if part.size + len(block) > job.size:
                part.restart("longer than the file")
                raise _NextUrl(f"wrong size: more than {human_size(job.size)} sent")
            part.append(block)
            if progress is not None:
                progress(DownloadProgress(part.size, job.size, url, start))
    if part.size < job.size:
        raise _Retry(f"connection closed at {human_size(part.size)} of {human_size(job.size)}")


@contextlib.contextmanager
def _open(url: str, headers: dict, timeout: float, resuming: bool) -> Iterator:
    """The response to a GET, or the failure sorted into retry-here or try-the-next-URL."""
    if not re.match(r"(?i)(https?|file)://", url):
        raise _NextUrl("not an http(s) or file URL")
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and resuming:  # the .part no longer fits what the server has
            raise _StartOver("the server refused to resume (HTTP 416)") from None
        if exc.code in (408, 425, 429) or exc.code >= 500:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise _NextUrl(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout, ConnectionResetError)):
            raise _Retry(f"no answer ({reason})") from None
        raise _NextUrl(f"unreachable ({reason})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Retry(f"{type(exc).__name__}: {exc}") from None
    with response:
        yield response


def _read(response, block: int, done: int, size: int) -> bytes:
    """Up to ``block`` bytes, as soon as some arrive (progress follows a slow link)."""
    try:
        return getattr(response, "read1", response.read)(block)
    except (OSError, http.client.HTTPException) as exc:
        raise _Retry(f"connection lost at {human_size(done)} of {human_size(size)} ({exc})") from None


def _status(response) -> int | None:
    return getattr(response, "status", None)  # None for file: URLs


def _check_range(response, start: int, size: int) -> None:
    """A 206 answer must continue exactly where the .part ends, of a file of ``size`` bytes."""
    found = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
    if not found or int(found.group(1)) != start:
        raise _StartOver(f"the server resumed at the wrong place ({response.headers.get('Content-Range')!r})")
    total = found.group(3)
    if total != "*" and int(total) != size:
        raise _NextUrl(f"wrong size: {human_size(int(total))}, expected {human_size(size)}")
