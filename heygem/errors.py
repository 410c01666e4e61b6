"""Errors that carry a message fit to show a user: which file, and why."""

from __future__ import annotations

from pathlib import Path


class HeygemError(RuntimeError):
    """Base class: the message is complete and safe to show as one line."""


class MediaError(HeygemError):
    """An input file that cannot be used; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class Cancelled(HeygemError):
    """Raised through the progress hook to stop a job between steps."""


def describe(exc: BaseException) -> str:
    """One line naming an error: its message, prefixed by its type unless it is ours."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, HeygemError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
