"""The weights HeyGem can fetch, as data, and whether each is installed and intact.

Each model is a :class:`ModelFile`. The built-in table is ``models.json`` beside this module;
a manifest (``--manifest FILE`` or $HEYGEM_MODELS_MANIFEST) replaces it for company mirrors,
air-gapped sites and tests. Both are a JSON list of entries::

    {"name": "wav2lip_gan", "file": "wav2lip_gan.pth", "size": 435801865,
     "sha256": "ca9ab7…", "urls": ["https://…", "file:///mnt/mirror/…"],
     "licence": "…", "kind": "wav2lip" | "detector" | "enhancer" | "musetalk",
     "about": "what it is for (optional)"}

A file is installed only when its size and SHA-256 match (:func:`install_model`, through
:func:`heygem.net.download.download`), and never over another file of the same name (a user's
own fine-tune): that is refused (:class:`OtherWeightsError`) unless forced, and then kept as
``NAME.bak-<sha12>``. An entry whose SHA-256 nobody publishes has ``"sha256": null`` (and
``"size": null`` when that is unknown too): such a file is never called verified
(:attr:`WeightState.UNVERIFIED`) and never downloaded by HeyGem, which only says where to
fetch it by hand. Also here: the Wav2Lip file names engine ``auto``
looks for, in order (:func:`find_checkpoint`). Light on purpose (no torch): the app's host
and the command line read it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from heygem.enhance.choice import ENHANCER_FILES
from heygem.errors import HeygemError
from heygem.media.files import file_digest, human_size
from heygem.net.download import Download, DownloadOptions, ProgressHook, download, part_path

BUILT_IN_TABLE = Path(__file__).with_name("models.json")
MANIFEST_ENV = "HEYGEM_MODELS_MANIFEST"  # a manifest that replaces the built-in table
DEFAULT_MODEL = "wav2lip_gan"  # what `models download` and the app fetch when not told

# What engine auto looks for in the checkpoint folder, best first: the official classic
# checkpoints and the TorchScript files that the Wav2Lip README links to today.
WAV2LIP_FILES = ("wav2lip_gan.pth", "Wav2Lip-SD-GAN.pt", "wav2lip.pth", "Wav2Lip-SD-NOGAN.pt")
MUSETALK_FOLDER = "musetalk"  # MuseTalk's models/ layout, under the checkpoint folder
MUSETALK_FILES = tuple(  # the weights the musetalk engine reads there (heygem.lipsync.musetalk.networks)
    f"{MUSETALK_FOLDER}/{name}"
    for name in (
        "musetalkV15/unet.pth",
        "sd-vae/diffusion_pytorch_model.safetensors",
        "whisper/model.safetensors",
    )
)
KIND_FILES = {  # where each kind is looked for
    "wav2lip": WAV2LIP_FILES,
    "detector": ("s3fd.pth",),
    "enhancer": tuple(ENHANCER_FILES.values()),
    "musetalk": MUSETALK_FILES,
}


@dataclass(frozen=True)
class ModelFile:
    name: str  # what the user types: `models download wav2lip_gan`
    file: str  # its file name in the checkpoint folder
    size: int | None  # bytes; None: not published
    sha256: str | None  # of the whole file, lowercase hex; None: not published (never verified)
    urls: tuple[str, ...]  # copies of the same bytes, tried in order
    licence: str  # shown before any download; the user must accept it
    kind: str  # "wav2lip" | "detector" | "enhancer" | "musetalk"
    about: str = ""  # what it is for, one line

    @property
    def size_text(self) -> str:
        return human_size(self.size) if self.size is not None else "size ?"

    @property
    def verifiable(self) -> bool:
        """Whether its size and SHA-256 are known, so that a download can be checked."""
        return self.size is not None and self.sha256 is not None


class WeightState(StrEnum):
    INSTALLED = "installed and verified"
    MISSING = "missing"
    WRONG_SIZE = "wrong size"
    WRONG_HASH = "wrong hash"
    PARTIAL = "partial"  # only a .part of an interrupted download: `models download` resumes it
    UNVERIFIED = "present, not verified"  # no published SHA-256 to check it against


@dataclass(frozen=True)
class WeightCheck:
    model: ModelFile
    path: Path  # where the file is (or would be)
    state: WeightState
    detail: str  # one line for a person: "wrong size: 167 kB, expected 436 MB"


class OtherWeightsError(HeygemError):
    """A file of another size or hash is already under a model's name: left as it is."""

    def __init__(self, check: WeightCheck):
        self.check = check
        path, name = check.path, check.model.name
        super().__init__(
            f"{path} is already there and is not the published {name} ({check.detail}): it is left "
            f"as it is (your own weights? engine auto uses them). To install the published file "
            f"instead, keeping this one as {path.name}.bak-<its SHA-256's first 12 digits>: "
            f"python -m heygem models download --force {name}"
        )


class ModelsManifestError(HeygemError):
    """A models table that cannot be used; the message names the file, the entry and why."""


def find_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The Wav2Lip checkpoint engine auto uses from ``checkpoint_dir``, in the order of
    :data:`WAV2LIP_FILES`; None when there is none."""
    for name in WAV2LIP_FILES:
        if (Path(checkpoint_dir) / name).is_file():
            return Path(checkpoint_dir) / name
    return None


def load_table(manifest: Path | None = None) -> tuple[ModelFile, ...]:
    """``manifest``, else $HEYGEM_MODELS_MANIFEST, else the built-in table, checked entry by
    entry; raises :class:`ModelsManifestError` naming the file and the bad entry."""
    path = Path(manifest or os.environ.get(MANIFEST_ENV) or BUILT_IN_TABLE)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelsManifestError(f"models manifest {path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ModelsManifestError(f"models manifest {path}: not valid JSON ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise ModelsManifestError(f"models manifest {path}: expected a non-empty JSON list of models")
    table = tuple(_entry(path, i, entry) for i, entry in enumerate(entries, 1))
    names = [m.name for m in table]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ModelsManifestError(f"models manifest {path}: the name {duplicate!r} is used twice")
    return table


def _entry(path: Path, index: int, entry) -> ModelFile:
    where = f"models manifest {path}, entry {index}"
    if not isinstance(entry, dict):
        raise ModelsManifestError(f"{where}: expected an object")
    where += f" ({entry.get('name', '?')!r})"
    required = ("name", "file", "size", "sha256", "urls", "licence", "kind")
    missing = [key for key in required if key not in entry]
    unknown = sorted(set(entry) - {*required, "about"})
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown keys {', '.join(unknown)}"
        raise ModelsManifestError(f"{where}: {problem}")
    name, file, size, sha256, urls = (entry[k] for k in ("name", "file", "size", "sha256", "urls"))
    kind = entry["kind"]
    checks = [
        (isinstance(name, str) and re.fullmatch(r"[\w.-]+", name), "'name' must be a plain word"),
        (kind in KIND_FILES, f"'kind' must be one of {', '.join(KIND_FILES)}"),
        (
            kind not in KIND_FILES or file in KIND_FILES[kind],
            f"'file' must be one of {', '.join(KIND_FILES.get(kind, ()))} (where HeyGem looks for a {kind})",
        ),
        (
            size is None or (isinstance(size, int) and not isinstance(size, bool) and size > 0),
            "'size' must be bytes > 0 (or null: not published)",
        ),
        (
            sha256 is None or (isinstance(sha256, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sha256)),
            "'sha256' must be 64 hex digits (or null: not published)",
        ),
        (
            isinstance(urls, list) and urls and all(isinstance(u, str) and u.strip() for u in urls),
            "'urls' must be a non-empty list of URLs",
        ),
        (isinstance(entry["licence"], str) and entry["licence"].strip(), "'licence' must be text"),
    ]
    for ok, problem in checks:
        if not ok:
            raise ModelsManifestError(f"{where}: {problem}")
    sha256 = sha256.lower() if sha256 else None
    return ModelFile(
        name, file, size, sha256, tuple(urls), entry["licence"].strip(), kind, entry.get("about", "")
    )


def select_models(table: tuple[ModelFile, ...], names: list[str]) -> list[ModelFile]:
    """The entries called ``names``, a kind's name standing for all its entries (``musetalk``:
    its three files); raises :class:`ModelsManifestError` for an unknown one."""
    by_name = {m.name: [m] for m in table}
    for model in table:
        if model.kind not in by_name:
            by_name.setdefault(model.kind, [m for m in table if m.kind == model.kind])
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(dict.fromkeys([*(m.name for m in table), *(m.kind for m in table)]))
        raise ModelsManifestError(f"no model called {', '.join(unknown)} (known: {known})")
    return list(dict.fromkeys(m for n in names for m in by_name[n]))


def wav2lip_model(table: tuple[ModelFile, ...]) -> ModelFile | None:
    """The Wav2Lip weights to offer: :data:`DEFAULT_MODEL` if the table has it, else its first
    Wav2Lip entry."""
    wav2lip = [m for m in table if m.kind == "wav2lip"]
    return next((m for m in wav2lip if m.name == DEFAULT_MODEL), wav2lip[0] if wav2lip else None)


def check_model(model: ModelFile, folder: Path) -> WeightCheck:
    """Is ``model`` in ``folder`` with the right size and SHA-256 (hashed: ~0.3 s per 436 MB)?"""
    path = Path(folder) / model.file
    if path.is_file():
        size = path.stat().st_size
        if model.size is not None and size != model.size:
            detail = f"wrong size: {human_size(size)}, expected {model.size_text}"
            return WeightCheck(model, path, WeightState.WRONG_SIZE, detail)
        if model.sha256 is None:
            detail = f"present ({human_size(size)}), not verified: no published SHA-256 to check it against"
            return WeightCheck(model, path, WeightState.UNVERIFIED, detail)
        digest = file_digest(path)
        if digest != model.sha256:
            detail = f"wrong hash: SHA-256 {digest[:12]}…, expected {model.sha256[:12]}…"
            return WeightCheck(model, path, WeightState.WRONG_HASH, detail)
        return WeightCheck(model, path, WeightState.INSTALLED, f"{model.size_text}, SHA-256 verified")
    part = part_path(path)
    if part.is_file():
        have = part.stat().st_size
        detail = f"partial: {human_size(have)} of {model.size_text} downloaded; `models download` resumes it"
        return WeightCheck(model, path, WeightState.PARTIAL, detail)
    return WeightCheck(model, path, WeightState.MISSING, "missing")


def install_model(
    model: ModelFile,
    folder: Path,
    progress: ProgressHook | None = None,
    options: DownloadOptions | None = None,
    force: bool = False,
) -> Path:
    """Download ``model`` into ``folder`` (resuming, verified, renamed only when right); a file
    already there and verified is kept. Another file under its name raises
    :class:`OtherWeightsError`, unless ``force``, which first keeps it as ``NAME.bak-<sha12>``
    (:func:`keep_aside`). Raises :class:`~heygem.net.download.DownloadError`, or
    :class:`ModelsManifestError` for a model without a published size and SHA-256 (never
    downloaded: :func:`manual_instructions`)."""
    if not model.verifiable:
        raise ModelsManifestError(
            f"{model.name}: no published size and SHA-256, so HeyGem does not download it"
        )
    check = check_model(model, folder)
    if check.state in (WeightState.WRONG_SIZE, WeightState.WRONG_HASH):
        if not force:
            raise OtherWeightsError(check)
        keep_aside(check.path)
    job = Download(model.urls, model.size, model.sha256, Path(folder) / model.file)
    return download(job, progress, options)


def keep_aside(path: Path) -> Path:
    """Rename ``path`` to ``NAME.bak-<first 12 digits of its SHA-256>`` beside it (a copy of the
    same bytes already there is enough: then ``path`` just goes); returns the backup."""
    backup = path.with_name(f"{path.name}.bak-{file_digest(path)[:12]}")
    if backup.exists():
        path.unlink()
    else:
        path.rename(backup)
    return backup


def manual_instructions(model: ModelFile, folder: Path) -> str:
    """What a user needs to fetch ``model`` by hand and copy it in."""
    dest = Path(folder).resolve() / model.file
    lines = [
        f"{model.name}: get it by hand and copy it in",
        f"  file:    {model.file}",
        f"  size:    {model.size} bytes ({model.size_text})" if model.size else "  size:    not published",
        f"  sha256:  {model.sha256}"
        if model.sha256
        else "  sha256:  not published: the file cannot be verified",
        *(f"  {'from:' if i == 0 else '':<8} {url}" for i, url in enumerate(model.urls)),
        f"  put it:  {dest}",
        f"  check:   python -m heygem models verify --dir {Path(folder).resolve()}",
    ]
    return "\n".join(lines)
