"""What a zip download holds: outputs picked in the History tab, each under its name in the
archive, behind a short-lived token; the browser fetches ``heygem/zip/<token>``, which
:mod:`heygem.web.zipstream` streams.

Tokens live in the app process's memory: a restart ends every link, as ZIP_TOKEN_SECONDS do.
A file deleted after the selection was made is left out of its zip.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from heygem.errors import HeygemError
from heygem.jobs import Batch, safe_name

ZIP_TOKEN_SECONDS = 3600  # a zip download's link works this long


class ZipTokens:
    """Token -> (when it was made, the zip's file name, its members); safe to use from the
    web's threads at once (two zip clicks, a download while another is made)."""

    def __init__(self):
        self._zips: dict[str, tuple[float, str, list[tuple[Path, str]]]] = {}
        self._lock = threading.Lock()

    def issue(self, members: list[tuple[Path, str]]) -> str:
        """A new token for a zip of ``members`` ((file, name in the archive)); expired ones go."""
        now = time.monotonic()
        token = secrets.token_urlsafe(16)
        with self._lock:
            for old in [t for t, (made, _, _) in self._zips.items() if now - made > ZIP_TOKEN_SECONDS]:
                del self._zips[old]
            self._zips[token] = (now, time.strftime("heygem-%Y%m%d-%H%M%S.zip"), members)
        return token

    def files(self, token: str) -> tuple[str, list[tuple[Path, str]]]:
        """The zip's file name and its members still on disk; HeygemError once it expired."""
        with self._lock:
            made, name, members = self._zips.get(token) or (0.0, "", [])
        if not members or time.monotonic() - made > ZIP_TOKEN_SECONDS:
            raise HeygemError("this download has expired: make the zip again")
        return name, [(file, arcname) for file, arcname in members if file.is_file()]


def zip_members(
    files: list[Path], group: str | None, batch_of: Callable[[str], Batch | None]
) -> list[tuple[Path, str]]:
    """(file, name in the archive) for outputs: each under its batch's folder (the folder it
    lies in); with ``group``, a batch of several narrations (``batch_of(batch id)``) gets a
    folder per narration or per video inside it."""
    names = {}
    for batch_id in dict.fromkeys(file.parent.name for file in files) if group else ():
        names |= zip_names(batch_of(batch_id), group)
    return [(file, names.get(str(file), f"{file.parent.name}/{file.name}")) for file in files]


def zip_names(batch, group: str) -> dict[str, str]:
    """Output path -> its name in a zip, grouped by ``group`` ("audio": a folder per
    narration, "video": per video) inside the batch's folder, for a batch (a
    :class:`heygem.jobs.Batch`, None when deleted) of several narrations; else {}."""
    if batch is None or len(batch.narrations) < 2:
        return {}
    names = {}
    for item in batch.items:
        if item.output:
            key = batch.narration(item)[1] if group == "audio" else item.name
            names[item.output] = f"{batch.id}/{Path(safe_name(key, group)).stem}/{Path(item.output).name}"
    return names
