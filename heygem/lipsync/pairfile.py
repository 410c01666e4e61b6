"""A manifest of pairs, CSV or JSON, read and checked whole before anything runs.

CSV: a header row, then one row per pair (blank lines and lines starting with ``#`` are
skipped). JSON: a list of objects, one per pair. Columns (keys): ``audio`` and ``video``
(required), ``output`` (the output's file name; it wins over the rule's name) and any batch
setting (``quality``, ``height``, ``frame_order``, ``pads`` as ``0 10 0 0``, ``face_point`` as
``640 300``, ``overlay`` as ``true``...: :func:`heygem.settings.from_text`), checked by
:func:`heygem.settings.clean`; an empty cell counts as not given.

Where the files are: relative to the manifest's folder (the command line; absolute paths
too), or among the uploaded files, by name (the app: the manifest comes with the files it
names). Every bad row is named with its line number and reason, all at once, in one
:class:`PairManifestError`: a missing file, an unsupported type, an unknown or bad setting, a
duplicate output name, an uploaded name that two uploads share.

Reading is linear in the file's size and stops after one row more than a batch may hold; a
file over :data:`MAX_MANIFEST_BYTES` is refused before it is read (the Batch tab reads it again
at every change of its inputs).
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path, PurePath

from heygem.lipsync.pairing import MANIFEST, Pair, PairError, PairPlan, check_pair_count
from heygem.settings import (
    DEFAULT_MAX_PAIRS,
    IMAGE_EXTENSIONS,
    MANIFEST_EXTENSIONS,
    NARRATION_EXTENSIONS,
    VIDEO_EXTENSIONS,
    BatchSettings,
    SettingsError,
    clean,
    from_text,
)

FILE_COLUMNS = ("audio", "video", "output")
MAX_PROBLEMS_SHOWN = 10  # lines named in one message; the error keeps all of them
MAX_MANIFEST_BYTES = 5 * 1024 * 1024  # ~100 bytes a row: room for 50,000 rows, far past any batch


class PairManifestError(PairError):
    """Bad rows of a manifest; ``problems`` is every (line, reason)."""

    def __init__(self, name: str, problems: list[tuple[int, str]]):
        self.problems = problems
        shown = "; ".join(f"line {line}: {reason}" for line, reason in problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        super().__init__(f"{name}: {shown}" + (f" (and {more} more)" if more > 0 else ""))


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file (1-based)
    values: dict | None  # column -> value, empty cells left out; None: not an object (JSON)


def read_plan(
    path: Path,
    uploads: Sequence[str] | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    name: str | None = None,
) -> PairPlan:
    """The pairs a manifest lists. ``uploads``: the names of the uploaded files its paths
    refer to (the app); None: paths are relative to the manifest's folder (the CLI). ``name``:
    how to call the manifest in messages (default: its file name)."""
    name = name or Path(path).name
    rows = read_rows(Path(path), name, max_pairs + 1)
    if len(rows) > max_pairs:
        raise PairError(f"{name} lists more than {max_pairs:,} pairs, more than a batch may hold")
    files = _Files(Path(path).parent, uploads)
    problems: list[tuple[int, str]] = []
    pairs, outputs = [], {}
    for row in rows:
        try:
            pairs.append(_pair(row, files, outputs))
        except _RowProblem as problem:
            problems.append((row.line, str(problem)))
    if problems:
        raise PairManifestError(name, problems)
    if not pairs:
        raise PairError(f"{name}: the manifest lists no pairs")
    check_pair_count(len(pairs), max_pairs)
    used = set(files.audios) | set(files.videos)
    unmatched = [upload for upload in uploads or () if upload not in used]
    return PairPlan(tuple(files.audios), tuple(files.videos), tuple(pairs), tuple(unmatched), MANIFEST)


def read_rows(path: Path, name: str, max_rows: int | None = None) -> list[Row]:
    """The rows of a CSV or JSON manifest, each with its line number, at most ``max_rows``
    (reading stops there). Raises :class:`PairError` for a file that is not one or is over
    :data:`MAX_MANIFEST_BYTES`, :class:`PairManifestError` for bad columns."""
    if path.suffix.lower() not in MANIFEST_EXTENSIONS:
        raise PairError(f"{name}: a manifest is .csv or .json, not '{path.suffix or '(none)'}'")
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        limit = MAX_MANIFEST_BYTES // 2**20
        raise PairError(f"{name}: {size / 2**20:.1f} MB is more than a manifest may be ({limit} MB)")
    try:
        text = path.read_text("utf-8-sig")  # a spreadsheet's byte-order mark is not a column name
    except UnicodeDecodeError:
        raise PairError(f"{name}: not UTF-8 text") from None
    limit = max_rows if max_rows is not None else float("inf")
    if path.suffix.lower() == ".csv":
        return _csv_rows(text, name, limit)
    return _json_rows(text, name, limit)


def _csv_rows(text: str, name: str, max_rows: float) -> list[Row]:
    reader = csv.reader(io.StringIO(text))
    header, rows = None, []
    for cells in reader:
        line = reader.line_num  # the row's last line: a quoted cell may span lines
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            _check_columns(header, line, name)
            continue
        if len(cells) > len(header):
            raise PairManifestError(name, [(line, f"{len(cells)} cells but {len(header)} columns")])
        values = {col: cell.strip() for col, cell in zip(header, cells, strict=False) if cell.strip()}
        rows.append(Row(line, values))
        if len(rows) >= max_rows:
            break
    return rows


def _check_columns(columns: Sequence[str], line: int, name: str) -> None:
    known = _known_columns()
    unknown = [c for c in columns if c not in known]
    missing = [c for c in ("audio", "video") if c not in columns]
    problems = [(line, f"unknown column {c!r} (use {', '.join(known)})") for c in unknown]
    problems += [(line, f"no {c!r} column") for c in missing]
    if problems:
        raise PairManifestError(name, problems)


def _json_rows(text: str, name: str, max_rows: float) -> list[Row]:
    """A JSON list of objects; each object's line is found by decoding the list one element
    at a time (the json module keeps no positions), counting the newlines since the last one."""
    decoder = json.JSONDecoder()
    at = _skip_space(text, 0)
    if not text.startswith("[", at):
        raise PairError(f"{name}: a JSON manifest is a list of objects, one per pair")
    at, rows = _skip_space(text, at + 1), []
    line, counted = 1, 0  # the line at text[counted]

    def line_at(position: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, position)
        counted = position
        return line

    while not text.startswith("]", at) and len(rows) < max_rows:
        row_line = line_at(at)
        try:
            value, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise PairError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        values = {k: v for k, v in value.items() if v not in (None, "")} if isinstance(value, dict) else None
        rows.append(Row(row_line, values))
        at = _skip_space(text, at)
        if text.startswith(",", at):
            at = _skip_space(text, at + 1)
        elif not text.startswith("]", at):
            raise PairError(f"{name}: not valid JSON (line {line_at(at)}: expected ',' or ']')")
    return rows


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


@functools.cache
def _known_columns() -> tuple[str, ...]:
    return (*FILE_COLUMNS, *(f.name for f in fields(BatchSettings)))


class _RowProblem(Exception):
    """Why one row cannot be used (its line is added by the caller)."""


class _Files:
    """Resolves a row's paths: under ``folder`` (CLI) or among ``uploads`` (app), and keeps
    the distinct narrations and videos in the order first named."""

    def __init__(self, folder: Path, uploads: Sequence[str] | None):
        self.folder, self.uploads = folder, uploads
        self.audios: list[str] = []
        self.videos: list[str] = []
        self._by_name: dict[str, list[str]] = {}
        for upload in uploads or ():
            self._by_name.setdefault(PurePath(upload).name.casefold(), []).append(upload)

    def index(self, kind: str, given, extensions: tuple[str, ...]) -> int:
        text = str(given).strip()
        suffix = PurePath(text.replace("\\", "/")).suffix.lower()
        if suffix not in extensions:
            raise _RowProblem(f"{kind} {text!r}: unsupported type '{suffix or '(none)'}'")
        found = self._find(kind, text)
        known = self.audios if kind == "audio" else self.videos
        if found not in known:
            known.append(found)
        return known.index(found)

    def _find(self, kind: str, text: str) -> str:
        if self.uploads is None:
            path = Path(text) if Path(text).is_absolute() else self.folder / text
            if not path.is_file():
                raise _RowProblem(f"{kind} {text!r} not found (looked in {path.parent})")
            return str(path.resolve())
        matches = self._by_name.get(PurePath(text.replace("\\", "/")).name.casefold(), [])
        if not matches:
            raise _RowProblem(f"{kind} {text!r} is not among the uploaded files")
        if len(matches) > 1:
            raise _RowProblem(f"{kind} {text!r}: {len(matches)} uploaded files have that name")
        return matches[0]


def _pair(row: Row, files: _Files, outputs: dict[str, int]) -> Pair:
    if row.values is None:
        raise _RowProblem("a pair is an object with 'audio' and 'video'")
    values = dict(row.values)
    unknown = [k for k in values if k not in _known_columns()]
    if unknown:
        raise _RowProblem(f"unknown setting {unknown[0]!r} (use {', '.join(_known_columns())})")
    for column in ("audio", "video"):
        if column not in values:
            raise _RowProblem(f"no {column} given")
    audio = files.index("audio", values.pop("audio"), NARRATION_EXTENSIONS)
    video = files.index("video", values.pop("video"), VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
    output = _output_name(values.pop("output", None), row.line, outputs)
    values = {k: from_text(k, v) if isinstance(v, str) else v for k, v in values.items()}  # CSV cells
    try:
        settings = clean(values)
    except SettingsError as exc:
        raise _RowProblem(str(exc)) from None
    return Pair(audio, video, output, settings, row.line)


def _output_name(given, line: int, outputs: dict[str, int]) -> str | None:
    if given is None:
        return None
    text = str(given).strip()
    if "/" in text or "\\" in text or text in (".", ".."):
        raise _RowProblem(f"output {text!r}: a file name, not a path (outputs go to the batch's folder)")
    suffix = PurePath(text).suffix.lower()
    if suffix in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS and suffix != ".mp4":
        raise _RowProblem(f"output {text!r}: outputs are MP4 files (.mp4)")
    if suffix != ".mp4":
        text = f"{text}.mp4"  # 'lesson 1.5' is a name with a dot in it, not a type
    key = text.casefold()
    if key in outputs:
        raise _RowProblem(f"output {text!r} is also line {outputs[key]}'s")
    outputs[key] = line
    return text
