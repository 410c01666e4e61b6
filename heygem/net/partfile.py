"""The ``.part`` a download writes: where it is, a lock against a second downloader, the SHA-256
of what it holds, and the one rename that gives verified bytes their name (never over another
file). Also the download's errors, which it raises too."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from heygem.errors import HeygemError

log = logging.getLogger("heygem")

PART_SUFFIX = ".part"  # bytes in flight live in DEST.part until verified


class DownloadError(HeygemError):
    """No URL gave the right bytes; ``failures`` has one line per failed try."""

    def __init__(self, dest: Path, failures: list[str]):
        self.dest = Path(dest)
        self.failures = failures
        super().__init__(f"could not download {self.dest.name}: {'; '.join(failures) or 'no URL given'}")


class DestinationTaken(DownloadError):
    """Another file is at the destination: it is left as it is, nothing is downloaded."""

    def __init__(self, dest: Path, detail: str):
        self.detail = detail
        super().__init__(
            dest, [f"{Path(dest).name} is already there and is not this file ({detail}): left as it is"]
        )


def part_path(dest: Path) -> Path:
    """Where the bytes of ``dest`` are kept until they are verified."""
    return dest.with_name(dest.name + PART_SUFFIX)


class PartFile:
    """The ``.part`` being written, locked against a second downloader, and the SHA-256 of
    the bytes it holds (kept up to date as blocks are appended)."""

    def __init__(self, path: Path, handle):
        self.path = path
        self._handle = handle
        self._hash = hashlib.sha256()
        self.size = 0
        handle.seek(0)
        while block := handle.read(1 << 22):  # a resumed .part: hash what is there once
            self._hash.update(block)
            self.size += len(block)

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path) -> Iterator[PartFile]:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+b")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise DownloadError(path, [f"cannot write {path}: {exc.strerror or exc}"]) from None
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    raise DownloadError(path, ["another process is downloading this file now"]) from None
                raise
            part = cls(path, handle)
            try:
                yield part
            finally:
                if path.exists() and part.size == 0:
                    path.unlink()  # nothing worth resuming

    def append(self, block: bytes) -> None:
        try:
            self._handle.write(block)
        except OSError as exc:  # a full disk is no reason to try another URL
            raise DownloadError(self.path, [f"cannot write {self.path}: {exc.strerror or exc}"]) from None
        self._hash.update(block)
        self.size += len(block)

    def restart(self, why: str) -> None:
        """Throw the bytes away (they are wrong, or the server starts over)."""
        if self.size:
            log.info("discarding %s (%s)", self.path.name, why)
        self._handle.truncate(0)
        self._hash = hashlib.sha256()
        self.size = 0

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def publish(self, dest: Path) -> None:
        """Flush to disk, then give the verified bytes their name at once: a hard link, which
        fails rather than replace a file that appeared there meanwhile, then the .part's name
        goes (a rename, checked first, where the file system has no hard links)."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        try:
            os.link(self.path, dest)
        except FileExistsError:
            raise DestinationTaken(dest, "it appeared while downloading") from None
        except OSError:  # no hard links here (some network and FUSE file systems)
            if dest.exists():
                raise DestinationTaken(dest, "it appeared while downloading") from None
            os.replace(self.path, dest)
            return
        self.path.unlink()
