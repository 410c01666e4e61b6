"""``python -m heygem models list|download|verify``: the weights, fetched and checked.

Exit status: 0 when every requested model is installed and verified (``verify``: when no
file present is wrong), 1 otherwise (a download failed, or another file is under a model's
name: it is left as it is unless ``--force``), 2 when nothing was done (no licence consent,
an unknown model, a bad manifest).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from heygem.errors import HeygemError
from heygem.lipsync import (
    DEFAULT_MODEL,
    WAV2LIP_FILES,
    ModelFile,
    ModelsManifestError,
    OtherWeightsError,
    WeightState,
    check_model,
    find_checkpoint,
    install_model,
    load_table,
    manual_instructions,
    select_models,
    wav2lip_model,
)
from heygem.media import human_size
from heygem.net.download import DownloadProgress
from heygem.settings import DEFAULT_CHECKPOINT_DIR


def add(commands) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_CHECKPOINT_DIR,
        help="the checkpoint folder (default: checkpoints/)",
    )
    common.add_argument(
        "--manifest",
        type=Path,
        help="a JSON list of models that replaces the built-in table (default: $HEYGEM_MODELS_MANIFEST)",
    )
    models = commands.add_parser("models", help="list, download and verify model weights")
    actions = models.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common], help="each model: file, size, state, licence, use")
    download = actions.add_parser(
        "download", parents=[common], help="download, verify and install weights (resumes, retries)"
    )
    download.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"models to fetch (default: the table's Wav2Lip weights, {DEFAULT_MODEL} in the built-in one)",
    )
    download.add_argument(
        "--accept-licence",
        action="store_true",
        help="accept the models' licences (needed without a terminal)",
    )
    download.add_argument(
        "--force",
        action="store_true",
        help="replace a file of another size or hash under a model's name (your own weights), "
        "keeping it as NAME.bak-<sha12>",
    )
    download.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when the folder already holds a Wav2Lip checkpoint (what start_app.sh uses)",
    )
    actions.add_parser("verify", parents=[common], help="hash what is installed and name each mismatch")


def run(args: argparse.Namespace) -> int:
    try:
        table = load_table(args.manifest)
        return {"list": list_models, "download": download, "verify": verify}[args.action](args, table)
    except ModelsManifestError as exc:
        print(exc, file=sys.stderr)
        return 2


def list_models(args: argparse.Namespace, table: tuple[ModelFile, ...]) -> int:
    for model in table:
        state = check_model(model, args.dir)
        print(f"{model.name:<16} {model.file:<20} {model.size_text:>8}  {state.state}")
        if model.about:
            print(f"    for: {model.about}")
        print(f"    licence: {model.licence}")
    print(_auto_line(args.dir))
    return 0


def download(args: argparse.Namespace, table: tuple[ModelFile, ...]) -> int:
    folder = args.dir
    found = find_checkpoint(folder)
    if args.if_missing and found:
        print(f"Wav2Lip weights found: {found}")
        return 0
    offered = wav2lip_model(table)  # the app's rule for which Wav2Lip weights to offer
    if not args.names and offered is None:
        raise ModelsManifestError("the models table has no Wav2Lip weights to download")
    models = select_models(table, args.names or [offered.name])
    todo, refused, by_hand = [], 0, 0
    for model in models:
        check = check_model(model, folder)
        if check.state == WeightState.INSTALLED:
            print(f"{model.file}: already installed and verified ({folder / model.file})")
        elif check.state == WeightState.UNVERIFIED:
            print(f"{model.file}: {check.detail} ({folder / model.file})")
        elif check.state in (WeightState.WRONG_SIZE, WeightState.WRONG_HASH) and not args.force:
            print(OtherWeightsError(check), file=sys.stderr)  # never replaced unasked
            refused += 1
        elif not model.verifiable:  # never fetched unverified: say where it is, licence first
            by_hand += 1
            print(f"{model.file} licence: {model.licence}")
            print(
                f"{model.file}: its publisher gives no SHA-256, so HeyGem cannot verify a download "
                f"and does not make one.\n{manual_instructions(model, folder)}\n",
                file=sys.stderr,
            )
        else:
            todo.append(model)
    if not todo:
        return 1 if refused or by_hand else 0
    if args.if_missing:
        print(f"No Wav2Lip weights in {folder}: the app would run the loudness engine (not real lip-sync).")
    if not _consent(todo, args.accept_licence):
        return 2
    failed = 0
    for model in todo:
        try:
            with logging_redirect_tqdm():
                path = install_model(model, folder, _bar(model), force=args.force)
        except KeyboardInterrupt:
            print(f"\n{model.file}: interrupted; the same command resumes the download", file=sys.stderr)
            return 1
        except HeygemError as exc:  # DownloadError, or the folder cannot be written
            failed += 1
            print(f"\n{exc}\n{manual_instructions(model, folder)}\n", file=sys.stderr)
            continue
        print(f"{model.file}: verified ({model.size} bytes, SHA-256 {model.sha256}); installed as {path}")
    if not failed and any(m.kind == "wav2lip" for m in todo):
        print(_auto_line(folder))
    return 1 if failed or refused or by_hand else 0


def verify(args: argparse.Namespace, table: tuple[ModelFile, ...]) -> int:
    wrong = 0
    for model in table:
        result = check_model(model, args.dir)
        other = result.state in (WeightState.WRONG_SIZE, WeightState.WRONG_HASH)
        wrong += other
        print(f"{model.file}: {result.detail}")
        if other:  # a damaged download, or the user's own weights: said, never touched
            print(
                f"    not the published {model.name}: engine auto uses it as it is; "
                f"`models download --force {model.name}` replaces it, keeping it as {model.file}.bak-<sha12>"
            )
    known = {m.file for m in table}
    for name in WAV2LIP_FILES:
        if name not in known and (args.dir / name).is_file():
            print(f"{name}: not in the models table, so there is no hash to check it against")
    print(_auto_line(args.dir))
    return 1 if wrong else 0


def _consent(models: list[ModelFile], accepted: bool) -> bool:
    """Show every licence; accepted by the flag, or by the user at a terminal."""
    for model in models:
        print(f"{model.file} ({model.size_text}) licence: {model.licence}")
    if accepted:
        return True
    total = human_size(sum(m.size or 0 for m in models))
    if not sys.stdin.isatty():
        print("Not downloading: pass --accept-licence to accept the licence above.", file=sys.stderr)
        return False
    try:
        answer = input(f"Accept the licence above and download {total}? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _bar(model: ModelFile):
    """A tqdm byte bar (bytes, rate, ETA) on the download's progress hook; one bar per try,
    starting where the try resumes."""
    bars: list[tqdm] = []

    def hook(p: DownloadProgress) -> None:
        if not bars or bars[-1].initial != p.resumed or p.done < bars[-1].n:
            if bars:
                bars[-1].close()
            bars.append(
                tqdm(
                    total=p.total,
                    initial=p.resumed,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1000,
                    desc=model.file,
                )
            )
        bar = bars[-1]
        bar.update(p.done - bar.n)
        if p.done == p.total:
            bar.close()

    return hook


def _auto_line(folder: Path) -> str:
    found = find_checkpoint(folder)
    if found:
        return f"engine auto uses {found}"
    return f"engine auto runs the loudness engine (not real lip-sync): no {' / '.join(WAV2LIP_FILES)} in {folder}"
