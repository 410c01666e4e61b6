"""Whole files: written under a temporary name then renamed, and digested by content.

A reader (the browser, another worker, a later run) never sees half a manifest, face track or
exported model, and a crash leaves at most a hidden temporary file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same folder, so the rename is atomic); write
    it inside the ``with``. On success it replaces ``path`` with permissions ``mode``; on an
    error it is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        os.chmod(temp, mode)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


HASH_BLOCK = 4 * 1024 * 1024  # bytes read at a time while hashing


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes as hex (about 1.5 GB/s here; hashlib releases the GIL)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def human_size(n: int) -> str:
    """Bytes in decimal units as a person reads them: 167 kB, 89.8 MB, 436 MB, 2.4 TB (the one
    way HeyGem writes sizes: the download bar, the System tab, disk lines)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if round(value, 1) < 999.5 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1000
    return f"{value:.3g} TB"
