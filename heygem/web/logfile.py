"""Logging for the app: the realtime log file (rotated by size) and the console.

Only entry points call :func:`setup_logging`; the library just logs to ``logging.getLogger("heygem")``.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
MAX_BYTES = 20 * 1024 * 1024  # rotate the log at 20 MB
BACKUPS = 5  # keep 运行实时日志.log.1 ... .5


def setup_logging(log_file: Path, level: int = logging.INFO) -> None:
    """Log heygem's messages (and warnings from elsewhere) to ``log_file`` and to stderr.

    Lines are flushed as they are written, so ``tail -f`` follows the file live.
    """
    formatter = logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    console = logging.StreamHandler()
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    for handler in (file_handler, console):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    logging.getLogger("heygem").setLevel(level)
    for noisy in ("httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def tail(log_file: Path, lines: int = 300, max_bytes: int = 256 * 1024) -> str:
    """The last ``lines`` lines of the log, reading at most ``max_bytes`` from its end."""
    try:
        with open(log_file, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])
