"""POST /api/v1/batches: the form it takes, checked into what :meth:`Service.submit` needs.

Fields: ``audio`` (one or more files: the narrations), ``video`` (one or more files),
``settings`` (text: a JSON object of :class:`heygem.settings.BatchSettings` keys),
``pairing`` (text: how narrations meet videos, :data:`heygem.settings.PAIR_RULES`; ``cross``,
every narration onto every video, is the default) and ``manifest`` (a CSV or JSON file whose
rows name uploaded files; it replaces ``pairing``) and ``presenter`` (text, once per library
presenter: its id or name; with presenters, ``video`` files are optional). A file name's folders are dropped
(RFC 7578 4.2: receivers never use a path a client sent), so ``../../x.mp4`` is stored as
``x.mp4`` inside the batch's folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from heygem import settings as batch_settings
from heygem.settings import PAIR_RULES
from heygem.web.apierrors import ApiError
from heygem.web.service import Upload
from heygem.web.uploads import FilePart, Form

FILE_FIELDS = ("audio", "video", "manifest")
TEXT_FIELDS = ("settings", "pairing", "presenter")
REPEATED_FIELDS = ("presenter",)  # text fields that may come more than once
ACCEPTED_TYPES = {
    "audio": ("audio/", "video/"),  # a video's soundtrack can be the narration
    "video": ("video/", "image/"),  # a still image is a presenter too
    "manifest": ("text/", "application/json", "application/csv", "application/vnd.ms-excel"),
    "file": ("video/", "image/"),  # a library presenter (POST /presenters)
}
GENERIC_TYPES = ("", "application/octet-stream")  # no type given: the file's contents decide


def multipart_body(required: list[str], properties: dict) -> dict:
    """A route's ``openapi_extra``: a multipart/form-data body of these fields."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


SUBMIT_BODY = multipart_body(
    ["audio"],
    {
        "audio": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "one or more narrations, one part each",
        },
        "video": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "presenter videos or still images, one part each (optional with presenter fields)",
        },
        "presenter": {
            "type": "array",
            "items": {"type": "string"},
            "description": "library presenters (id or name), one field each: "
            "stored once, never uploaded again; outputs are named after them",
        },
        "settings": {
            "type": "string",
            "description": 'a JSON object of batch settings, e.g. {"quality": "high", '
            '"height": 720, "enhancer": "gfpgan", "enhancer_blend": 80} (README: the keys)',
        },
        "pairing": {"type": "string", "enum": list(PAIR_RULES), "default": "cross"},
        "manifest": {
            "type": "string",
            "format": "binary",
            "description": "CSV or JSON rows audio,video[,output][,settings...] naming uploaded files",
        },
    },
)


@dataclass(frozen=True)
class Submission:
    audios: list[Upload]  # the narrations
    videos: list[Upload]
    settings: dict  # as given (checked by heygem.settings.clean)
    pairing: str  # one of PAIR_RULES
    manifest: Upload | None  # rows naming uploaded files; replaces pairing
    presenters: list[str]  # library presenters (ids or names)


def submission(form: Form) -> Submission:
    """A well-formed submission; raises :class:`ApiError`."""
    _check_fields(form)
    settings = settings_field(form.fields.get("settings", []))
    pairing = (form.fields.get("pairing") or ["cross"])[0]
    if pairing not in PAIR_RULES:
        raise ApiError(
            422, "invalid_input", f"pairing {pairing!r} is not allowed (use {', '.join(PAIR_RULES)})"
        )
    for part in form.files:
        check_file(part)
    uploads = {
        field: [Upload(p.path, p.name, movable=True) for p in form.files if p.field == field]
        for field in FILE_FIELDS
    }
    if not uploads["audio"]:
        raise ApiError(422, "invalid_input", "no narration: add an 'audio' file")
    presenters = [p.strip() for p in form.fields.get("presenter", []) if p.strip()]
    if not uploads["video"] and not presenters:
        raise ApiError(422, "invalid_input", "no videos: add 'video' files or 'presenter' fields")
    if len(uploads["manifest"]) > 1:
        raise ApiError(400, "bad_request", "one 'manifest' file at most")
    manifest = uploads["manifest"][0] if uploads["manifest"] else None
    return Submission(uploads["audio"], uploads["video"], settings, pairing, manifest, presenters)


def _check_fields(form: Form) -> None:
    known = FILE_FIELDS + TEXT_FIELDS
    for name in [*form.fields, *(p.field for p in form.files)]:
        if name not in known:
            raise ApiError(400, "bad_request", f"unknown form field {name!r} (use {', '.join(known)})")
    for name in form.fields:
        if name in FILE_FIELDS:
            raise ApiError(400, "bad_request", f"{name!r} must be a file (curl: -F {name}=@path)")
        if len(form.fields[name]) > 1 and name not in REPEATED_FIELDS:
            raise ApiError(400, "bad_request", f"{name!r} was sent {len(form.fields[name])} times")
    for part in form.files:
        if part.field in TEXT_FIELDS:
            raise ApiError(400, "bad_request", f"{part.field!r} must be text, not a file")


def settings_field(given: list[str], check=batch_settings.clean) -> dict:
    """A ``settings`` form field: a JSON object, checked by ``check`` (a bad key or value:
    422 naming it, before any file is stored); {} when not given."""
    if not given or not given[0].strip():
        return {}
    try:
        settings = json.loads(given[0])
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "bad_request", f"settings is not JSON ({exc.msg} at character {exc.pos})"
        ) from None
    if not isinstance(settings, dict):
        raise ApiError(422, "invalid_input", f"settings must be a JSON object, not {type(settings).__name__}")
    check(settings)
    return settings


def check_file(part: FilePart) -> None:
    accepted = ACCEPTED_TYPES[part.field]
    if part.content_type not in GENERIC_TYPES and not part.content_type.startswith(accepted):
        kinds = " or ".join(a.rstrip("/") for a in accepted)
        raise ApiError(
            415, "unsupported_media_type", f"{part.name}: {part.content_type} is not {kinds} ({part.field!r})"
        )
    if part.size == 0:
        raise ApiError(422, "empty_file", f"{part.name}: the file is empty (0 bytes)")
