"""Where one app instance keeps its data, and how uploaded names become safe file names.

workspace/
    outputs/<batch>/          results, batch.json, .work/<item>/ chunk segments until done
    uploads/<batch>/          the batch's own copies of its audio and videos (a library
                              presenter's file is hard-linked there, not copied)
    uploads/library/<sha256>/ a library presenter: its file, stored once, and its thumbnail
    heygem.sqlite             the job store (WAL)
    运行实时日志.log          the realtime log (name configurable), rotated by size
    login.txt                 the login the app made (user:password, mode 0600), when it needs one
    .cache/                   Gradio's upload cache and other disposable files

The browser may fetch files under outputs/ and uploads/ only.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LOG_NAME = "运行实时日志.log"
BATCH_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}")  # what new_batch makes


@dataclass(frozen=True)
class Workspace:
    root: Path  # folder holding everything below
    log_name: str = DEFAULT_LOG_NAME  # realtime log file name inside root

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def db(self) -> Path:
        return self.root / "heygem.sqlite"

    @property
    def log(self) -> Path:
        return self.root / self.log_name

    @property
    def login(self) -> Path:
        return self.root / "login.txt"

    @property
    def cache(self) -> Path:
        return self.root / ".cache"

    def create(self) -> Workspace:
        for folder in (self.root, self.outputs, self.uploads, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def batch_outputs(self, batch_id: str) -> Path:
        return self.outputs / batch_id

    def batch_uploads(self, batch_id: str) -> Path:
        return self.uploads / batch_id

    @property
    def library(self) -> Path:
        """The presenter library's files, one folder per presenter (its content's SHA-256)."""
        return self.uploads / "library"

    def new_batch(self, make_id: Callable[[], str] | None = None) -> str:
        """A fresh batch id, its uploads folder made atomically: two submissions in the same
        second never share one (a taken id is skipped, never reused)."""
        make_id = make_id or (lambda: time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4))
        self.uploads.mkdir(parents=True, exist_ok=True)
        while True:
            batch_id = make_id()
            try:
                self.batch_uploads(batch_id).mkdir()
            except FileExistsError:
                continue
            return batch_id

    def work_dir(self, batch_id: str, idx: int) -> Path:
        return self.batch_outputs(batch_id) / ".work" / f"{idx:04d}"

    def servable(self) -> list[Path]:
        """The only folders the browser may read from."""
        return [self.outputs, self.uploads]

    def contains_output(self, path: str | Path) -> bool:
        """True for a file inside outputs/ (after resolving links and '..')."""
        try:
            Path(path).resolve().relative_to(self.outputs.resolve())
        except ValueError:
            return False
        return True


_UNSAFE = re.compile(r"[^\w\-. ()\[\]+,@&=!~]")  # \w: letters of every script


def safe_name(name: str, fallback: str = "file") -> str:
    """An uploaded name reduced to a safe single file name: no folders, no '..', no leading
    '-' or '.', no control characters; letters of any script (Chinese included) are kept."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    name = _UNSAFE.sub("_", name).strip(" ._-")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem[:80] or fallback
    return f"{stem}.{suffix[:10].lower()}" if suffix else stem
