"""A batch's files as the downloads see them: its finished outputs, a zip's members, and the
bytes the workspace's files take (a presenter linked into many batches counted once)."""

from __future__ import annotations

import json
from pathlib import Path

from heygem.jobs import Batch, Workspace, batch_manifest
from heygem.web.refusals import ConflictError


def finished_outputs(workspace: Workspace, batch: Batch) -> list[Path]:
    """The batch's finished outputs that are still there (only files inside outputs/)."""
    paths = [Path(i.output) for i in batch.items if i.output]
    return [p for p in paths if workspace.contains_output(p) and p.is_file()]


def archive_members(workspace: Workspace, batch: Batch) -> list[tuple[str, Path | bytes]]:
    """(name in the zip, file or contents) of the batch's finished outputs and its batch.json,
    made from the store now (the file on disk is rewritten when a batch ends, a moment after
    its state says so). ConflictError when no output is finished yet."""
    outputs = finished_outputs(workspace, batch)
    if not outputs:
        raise ConflictError(f"batch {batch.id} has no finished output yet", "no_output")
    manifest = json.dumps(batch_manifest(batch).to_json(), ensure_ascii=False, indent=2)
    return [(f"{batch.id}/{f.name}", f) for f in outputs] + [(f"{batch.id}/batch.json", manifest.encode())]


def used_bytes(workspace: Workspace) -> int:
    """Bytes the files the browser may read take on disk (outputs and uploads): a file with
    several names (a library presenter hard-linked into batches) counts once."""
    sizes = {}  # (device, inode) -> bytes
    for folder in workspace.servable():
        for path in folder.rglob("*"):
            if path.is_file():
                info = path.stat()
                sizes[(info.st_dev, info.st_ino)] = info.st_size
    return sum(sizes.values())
