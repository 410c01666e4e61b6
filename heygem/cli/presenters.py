"""``python -m heygem presenters list``: the app's presenter library; and what ``batch
--presenter NAME|ID`` takes from it.

The library lives in the app's workspace (``--workspace``, app.py's default: this folder);
the command line reads it and never changes it (add presenters in the app: the Presenters tab,
REST or gradio_client). A presenter brings its stored file and its own settings (the face it
follows, mask, pads), and its outputs are named after it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from heygem.errors import HeygemError

DEFAULT_WORKSPACE = Path(__file__).resolve().parents[2]  # app.py's default --workspace


@dataclass(frozen=True)
class LibraryVideo:
    path: str  # the presenter's stored file
    name: str  # its outputs' name (the presenter's)
    settings: dict  # its own settings, under a manifest row's


def add(commands) -> None:
    listing = commands.add_parser("presenters", help="list the app's presenter library")
    listing.add_argument("action", choices=["list"])
    add_workspace_option(listing)


def add_workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=Path,
        default=DEFAULT_WORKSPACE,
        help="the app's workspace, where its presenter library is (default: app.py's)",
    )


def _store(workspace: Path):
    from heygem.jobs import JobStore, Workspace

    place = Workspace(workspace.resolve())
    if not place.db.is_file():
        raise HeygemError(
            f"no presenter library in {workspace} (no {place.db.name}): give the app's --workspace"
        )
    return JobStore(place.db)


def library_videos(workspace: Path, refs: list[str]) -> list[LibraryVideo]:
    """The presenters ``refs`` (names, case ignored, or ids) of the library in ``workspace``."""
    if not refs:
        return []
    store = _store(workspace)
    chosen = []
    for ref in dict.fromkeys(refs):
        presenter = store.presenter(ref)
        if presenter is None:
            known = ", ".join(p.name for p in store.presenters()) or "none"
            raise HeygemError(f"no presenter {ref!r} in {workspace} (the library has: {known})")
        chosen.append(LibraryVideo(presenter.file, presenter.name, presenter.settings))
    return chosen


def run(args: argparse.Namespace) -> int:
    try:
        presenters = _store(args.workspace).presenters()
    except HeygemError as exc:
        print(f"heygem presenters: {exc}")
        return 2
    for p in presenters:
        own = ", ".join(f"{k}={v}" for k, v in p.settings.items()) or "no settings of its own"
        print(f"{p.id}  {p.name}  ({p.original}; face track {p.track}; {own})")
    print(f"{len(presenters)} presenter(s) in {args.workspace}")
    return 0
