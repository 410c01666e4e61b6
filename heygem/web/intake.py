"""A submission's files, stored in its batch's own folder before anything runs.

Gradio's cache may be cleaned at any time, so each narration and video a pair uses is stored
once in ``uploads/<batch>/`` under a safe name, however many pairs use it (copied from
Gradio's cache, moved from the REST API's staging folder, hard-linked from the presenter
library: one copy on disk, :mod:`heygem.web.presenters`), and each video is probed there, so
that an unusable one is named with its reason before the batch is recorded.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from heygem.errors import HeygemError, MediaError
from heygem.jobs import Presenter, Workspace, safe_name
from heygem.web.pairs import UploadPlan

log = logging.getLogger("heygem")


class SubmitError(HeygemError):
    """A submission refused as a whole (no audio, no video, unreadable audio)."""


@dataclass(frozen=True)
class Upload:
    path: Path  # where the file is now (Gradio's cache, or anywhere for the API)
    name: str  # the name the user gave it
    movable: bool = False  # it may be moved into the batch (the REST API's staged files), not copied
    presenter: Presenter | None = None  # a library presenter: linked, never copied; its settings apply

    @classmethod
    def of(cls, path) -> Upload:
        """A Gradio upload: Gradio keeps the uploaded name as the file's name."""
        return cls(Path(path), Path(path).name)


@dataclass(frozen=True)
class Stored:
    audios: dict[int, Path]  # narration index (in the plan) -> its stored copy
    videos: dict[int, Path]  # video index -> its stored copy
    video_errors: dict[int, str]  # video index -> why it cannot be used


def store_uploads(workspace: Workspace, batch_id: str, planned: UploadPlan) -> Stored:
    """Store each narration and video that a pair uses in the batch's folder, once, and probe
    the videos. Raises :class:`SubmitError` naming a file that could not be stored."""
    from heygem.media import probe  # decoders load at the first submit, not with the UI

    folder = workspace.batch_uploads(batch_id)
    audios = sorted({pair.audio for pair in planned.plan.pairs})
    videos = sorted({pair.video for pair in planned.plan.pairs})
    stored = Stored({}, {}, {})
    for k in audios:
        upload = planned.audios[k]
        prefix = "audio-" if len(audios) == 1 else f"audio-{k:02d}-"
        stored.audios[k] = folder / f"{prefix}{safe_name(upload.name, 'audio')}"
        _copy(upload, stored.audios[k])
    for k in videos:
        upload = planned.videos[k]
        stored.videos[k] = folder / f"{k:03d}-{safe_name(upload.name, 'video')}"
        if upload.presenter is not None:
            stored.videos[k] = _link(upload, stored.videos[k])
        else:
            _copy(upload, stored.videos[k])
        try:
            probe(stored.videos[k])
        except MediaError as exc:
            stored.video_errors[k] = f"{upload.name}: {exc.reason}"
            log.warning("batch %s: %s", batch_id, stored.video_errors[k])
    return stored


def _copy(upload: Upload, stored: Path) -> None:
    """Move (when it may be moved, and the disk is the same) or copy an upload into its batch;
    a failed copy (disk full) names the file and the reason. Gradio's uploads are copied: the
    page may use its cached file again."""
    if upload.movable:
        try:
            os.replace(upload.path, stored)  # no second copy of a 4 GB video
            return
        except OSError:  # another file system (a mounted uploads/): copied below
            pass
    try:
        shutil.copyfile(upload.path, stored)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SubmitError(f"{safe_display(upload.name)}: could not be stored: {reason}") from exc


def _link(upload: Upload, stored: Path) -> Path:
    """A library presenter's file in the batch: a hard link (the same bytes on disk once;
    the batch keeps them if the presenter is deleted); on a file system without hard links, the
    library's file itself. Returns the path the batch uses."""
    try:
        os.link(upload.path, stored)
    except FileNotFoundError:
        raise SubmitError(
            f"{safe_display(upload.name)}: the presenter's file is gone from the library"
        ) from None
    except OSError as exc:
        log.info("presenter %s used in place (no hard link here: %s)", upload.name, exc.strerror or exc)
        return upload.path
    return stored


def safe_display(name: str) -> str:
    """A name to show: the last path part only, control characters dropped."""
    name = str(name).replace("\\", "/").split("/")[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "file"
