"""POST /api/v1/batches: the form it takes, checked into what :meth:`Service.submit` needs.

Fields: ``audio`` (a file: the narration), ``video`` (one or more files), ``settings`` (text:
a JSON object of :class:`heygem.settings.BatchSettings` keys) and ``pairing``. A file name's
folders are dropped (RFC 7578 4.2: receivers never use a path a client sent), so
``../../x.mp4`` is stored as ``x.mp4`` inside the batch's folder.

``pairing`` says how narrations meet videos. A batch has one narration for now, laid over
every video: ``cross``, the default. The many-narrations work adds ``order`` and ``name``
(and several ``audio`` files) here.
"""

from __future__ import annotations

import json

from heygem import settings as batch_settings
from heygem.web.apierrors import ApiError
from heygem.web.service import Upload
from heygem.web.uploads import FilePart, Form

FILE_FIELDS = ("audio", "video")
TEXT_FIELDS = ("settings", "pairing")
PAIRINGS = ("cross",)  # how narrations are laid over videos; one narration: over every video
ACCEPTED_TYPES = {
    "audio": ("audio/", "video/"),  # a video's soundtrack can be the narration
    "video": ("video/", "image/"),  # a still image is a presenter too
}
GENERIC_TYPES = ("", "application/octet-stream")  # no type given: the file's contents decide

SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["audio", "video"],
                    "properties": {
                        "audio": {"type": "string", "format": "binary", "description": "the narration"},
                        "video": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "presenter videos or still images, one part each",
                        },
                        "settings": {
                            "type": "string",
                            "description": 'a JSON object, e.g. {"quality": "high", "height": 720}',
                        },
                        "pairing": {"type": "string", "enum": list(PAIRINGS), "default": "cross"},
                    },
                }
            }
        },
    }
}


def submission(form: Form) -> tuple[Upload, list[Upload], dict]:
    """(audio, videos, settings) of a well-formed submission; raises :class:`ApiError`."""
    _check_fields(form)
    settings = _settings(form.fields.get("settings", []))
    pairing = (form.fields.get("pairing") or ["cross"])[0]
    if pairing not in PAIRINGS:
        raise ApiError(
            422, "invalid_input", f"pairing {pairing!r} is not supported (use {', '.join(PAIRINGS)})"
        )
    for part in form.files:
        _check_file(part)
    audios = [Upload(p.path, p.name) for p in form.files if p.field == "audio"]
    videos = [Upload(p.path, p.name) for p in form.files if p.field == "video"]
    if not audios:
        raise ApiError(422, "invalid_input", "no narration: add an 'audio' file")
    if len(audios) > 1:
        raise ApiError(
            422, "invalid_input", f"one narration per batch: {len(audios)} 'audio' files were sent"
        )
    if not videos:
        raise ApiError(422, "invalid_input", "no videos: add one or more 'video' files")
    return audios[0], videos, settings


def _check_fields(form: Form) -> None:
    known = FILE_FIELDS + TEXT_FIELDS
    for name in [*form.fields, *(p.field for p in form.files)]:
        if name not in known:
            raise ApiError(400, "bad_request", f"unknown form field {name!r} (use {', '.join(known)})")
    for name in form.fields:
        if name in FILE_FIELDS:
            raise ApiError(400, "bad_request", f"{name!r} must be a file (curl: -F {name}=@path)")
        if len(form.fields[name]) > 1:
            raise ApiError(400, "bad_request", f"{name!r} was sent {len(form.fields[name])} times")
    for part in form.files:
        if part.field in TEXT_FIELDS:
            raise ApiError(400, "bad_request", f"{part.field!r} must be text, not a file")


def _settings(given: list[str]) -> dict:
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
    batch_settings.clean(settings)  # a bad key or value: 422 naming it, before any copying
    return settings


def _check_file(part: FilePart) -> None:
    accepted = ACCEPTED_TYPES[part.field]
    if part.content_type not in GENERIC_TYPES and not part.content_type.startswith(accepted):
        kinds = " or ".join(a.rstrip("/") for a in accepted)
        raise ApiError(
            415, "unsupported_media_type", f"{part.name}: {part.content_type} is not {kinds} ({part.field!r})"
        )
    if part.size == 0:
        raise ApiError(422, "empty_file", f"{part.name}: the file is empty (0 bytes)")
