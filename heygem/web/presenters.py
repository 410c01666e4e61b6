"""The presenter library: presenter videos and stills added once and used by any number of
batches (the Presenters tab, REST ``/api/v1/presenters``, gradio_client ``/add_presenter``, the
command line's ``--presenter``).

A file is stored once, by its content: ``uploads/library/<sha256>/<safe name>`` (the same bytes
added again, under any name, give the presenter that holds them), beside a thumbnail of its
first frame that ffmpeg makes. A batch never copies it: the batch's folder gets a hard link (one
copy on disk however many batches use it, and a batch keeps its file if the presenter is
deleted later; a file system without hard links gets the library's path itself,
:func:`heygem.web.intake.store_uploads`). A presenter's own settings (:data:`PRESENTER_KEYS`:
the face it follows, mask, pads), checked by :func:`heygem.settings.clean`, become each of its
pairs' own settings in every batch that uses it; a manifest row's settings go over them. Its
face track is made ahead by the worker (:mod:`heygem.jobs.trackprep`). Deleting a presenter
that a queued or running batch uses is refused, naming it and the batches.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path

from heygem.errors import MediaError
from heygem.jobs import JobStore, NameTakenError, Presenter, Workspace, safe_name
from heygem.media import file_digest, replacing
from heygem.media.ffmpeg import command
from heygem.settings import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, SettingsError, clean
from heygem.states import TrackPrep
from heygem.web.intake import SubmitError, Upload, safe_display
from heygem.web.refusals import ConflictError, NotFoundError

log = logging.getLogger("heygem")

PRESENTER_KEYS = ("face_point", "pads", "mask", "mask_size", "mask_feather")  # a presenter's own settings
THUMBNAIL_HEIGHT = 180  # pixels
MAX_NAME = 80  # characters of a presenter's name


def presenter_settings(given: dict | None) -> dict:
    """A presenter's own settings, checked (:func:`heygem.settings.clean`); a key that is not
    one of :data:`PRESENTER_KEYS` raises :class:`~heygem.settings.SettingsError`."""
    checked = clean(given)
    for key, value in checked.items():
        if key not in PRESENTER_KEYS:
            raise SettingsError(key, value, f"a presenter keeps {', '.join(PRESENTER_KEYS)}")
    return checked


def checked_name(name: str) -> str:
    """A presenter's name as given, stripped; refused (SubmitError) when empty, too long, or
    holding a path separator or a control character."""
    name = str(name).strip()
    if not name or len(name) > MAX_NAME or any(c in name for c in "/\\") or not name.isprintable():
        raise SubmitError(f"presenter name {name[:100]!r}: 1-{MAX_NAME} printable characters, no / or \\")
    return name


class PresenterLibrary:
    """The library's actions, over the job store's records and the workspace's files."""

    def __init__(self, workspace: Workspace, store: JobStore, worker):
        self.workspace = workspace
        self.store = store
        self.worker = worker  # its ``prepares_tracks`` says whether it makes tracks; woken on add
        self._lock = threading.Lock()  # one add at a time: the same file twice is one presenter

    def add(
        self, upload: Upload, name: str | None = None, settings: dict | None = None
    ) -> tuple[Presenter, bool]:
        """Store ``upload`` as a presenter (moved when it may be, else copied); returns it and
        whether it is new (the same bytes already stored give that presenter, unchanged).
        Raises SubmitError (a file that is no video or still), SettingsError, ConflictError
        (``name`` taken)."""
        shown = safe_display(upload.name)
        suffix = Path(shown).suffix.lower()
        if suffix not in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS:
            raise SubmitError(f"{shown}: a presenter is a video or a still image, not '{suffix or '(none)'}'")
        own = presenter_settings(settings)
        wanted = checked_name(name) if name and str(name).strip() else None
        sha = file_digest(upload.path)
        with self._lock:
            existing = self.store.presenter_by_sha(sha)
            if existing is not None:
                return existing, False
            presenter = self._store(upload, sha, shown, wanted or self._free_name(Path(shown).stem), own)
            try:
                self.store.add_presenter(presenter)
            except NameTakenError:
                shutil.rmtree(Path(presenter.file).parent, ignore_errors=True)
                raise ConflictError(
                    f"a presenter is already named {presenter.name!r}", "name_taken"
                ) from None
        log.info("presenter %s added (%s, %s)", presenter.name, shown, presenter.id)
        self.worker.wake()  # its face track is made next
        return presenter, True

    def _store(self, upload: Upload, sha: str, shown: str, name: str, settings: dict) -> Presenter:
        """The file in its library folder, probed, with its thumbnail: the record to add."""
        from heygem.media import probe  # decoders load at the first add, not with the UI

        folder = self.workspace.library / sha
        folder.mkdir(parents=True, exist_ok=True)
        stored = folder / safe_name(shown, "presenter")
        try:
            with replacing(stored) as temp:  # a reader never sees half of it
                if upload.movable:
                    shutil.move(upload.path, temp)
                else:
                    shutil.copyfile(upload.path, temp)
            info = probe(stored)
        except (OSError, MediaError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            reason = exc.reason if isinstance(exc, MediaError) else exc.strerror or str(exc)
            raise SubmitError(f"{shown}: {reason}") from None
        thumbnail = _thumbnail(stored, folder / "thumb.jpg")
        track = TrackPrep.QUEUED if getattr(self.worker, "prepares_tracks", False) else TrackPrep.LATER
        return Presenter(
            sha[:16],
            sha,
            name,
            str(stored),
            shown,
            stored.stat().st_size,
            time.time(),
            settings,
            str(thumbnail) if thumbnail else None,
            info.width,
            info.height,
            None if info.is_image else round(info.duration, 3),
            track,
        )

    def _free_name(self, stem: str) -> str:
        """``stem`` (cut to a valid name), or ``stem 2``, ``stem 3``... when another has it."""
        base = "".join(c for c in stem if c.isprintable() and c not in "/\\")[: MAX_NAME - 4].strip()
        base = base or "presenter"
        taken = {p.name.casefold() for p in self.store.presenters()}
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base} {n}"
        return name

    def all(self) -> list[Presenter]:
        return self.store.presenters()

    def get(self, ref: str) -> Presenter:
        """A presenter by id or name (case ignored); NotFoundError."""
        found = self.store.presenter(str(ref).strip())
        if found is None:
            raise NotFoundError(f"no presenter {str(ref)[:100]!r} (give its id or its name)")
        return found

    def update(self, ref: str, name: str | None = None, settings: dict | None = None) -> Presenter:
        """Rename it and/or change its own settings (``settings``: the keys to change; one
        given as None is dropped); a new face point makes its face track again. Batches
        submitted before keep the settings they were submitted with."""
        presenter = self.get(ref)
        new_name = checked_name(name) if name is not None else None
        own = None
        if settings is not None:
            merged = {**presenter.settings, **settings}
            own = presenter_settings({k: v for k, v in merged.items() if v is not None})
        moved = own is not None and own.get("face_point") != presenter.settings.get("face_point")
        try:
            self.store.update_presenter(presenter.id, new_name, own, new_track=moved)
        except NameTakenError:
            raise ConflictError(f"a presenter is already named {new_name!r}", "name_taken") from None
        if moved:
            self.worker.wake()
        return self.get(presenter.id)

    def delete(self, ref: str) -> None:
        """Delete a presenter and its files; refused while a queued or running batch uses it.
        Batches that used it keep their own link to the file."""
        presenter = self.get(ref)
        users = self.store.presenter_users(presenter.id)
        if users:
            message = (
                f"presenter {presenter.name!r} is used by batch {', '.join(users)} (queued or running): "
                "cancel it or wait until it ends"
            )
            raise ConflictError(message, "presenter_in_use")
        self.store.delete_presenter(presenter.id)
        shutil.rmtree(self.workspace.library / presenter.sha256, ignore_errors=True)
        log.info("presenter %s deleted", presenter.name)

    def document(self, presenter: Presenter) -> dict:
        """A presenter as plain JSON (gradio_client's /presenters; the REST API adds its URLs)."""
        return {
            "id": presenter.id,
            "name": presenter.name,
            "file_name": presenter.original,
            "size": presenter.size,
            "created": presenter.created,
            "width": presenter.width,
            "height": presenter.height,
            "duration": presenter.duration,
            "settings": presenter.settings,
            "track": {
                "state": presenter.track,
                "progress": round(presenter.track_progress, 4),
                "error": presenter.track_error,
                "frames": presenter.track_frames,
                "seconds": presenter.track_seconds,
            },
            "used_by": self.store.presenter_users(presenter.id),
        }

    def uploads(self, refs: list[str] | None) -> list[Upload]:
        """The presenters ``refs`` (ids or names) as a submission's videos, each named as the
        presenter with its file's type (``Anna.mp4``: its outputs are named after it)."""
        chosen = [self.get(ref) for ref in dict.fromkeys(refs or [])]
        return [Upload(Path(p.file), f"{p.name}{Path(p.file).suffix}", presenter=p) for p in chosen]


def _thumbnail(source: Path, dest: Path) -> Path | None:
    """A small JPEG of ``source``'s first frame (ffmpeg, no decoder in this process); None
    when ffmpeg cannot make one (the presenter is kept all the same)."""
    argv = command(
        [({}, source)],
        {"frames:v": 1, "vf": f"scale=-2:'min({THUMBNAIL_HEIGHT},ih)'", "q:v": 4},
        dest,
    )
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("no thumbnail for %s: %s", source.name, exc)
        return None
    return dest
