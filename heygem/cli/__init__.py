"""Command line: ``python -m heygem COMMAND``.

    batch AUDIO VIDEO [VIDEO ...] -o OUTDIR    lip-sync a batch (also --audio A.. --video V..
                                               [--pair cross|order|name], --manifest FILE)
    preprocess VIDEO [VIDEO ...]               cache face tracks ahead of time
    cache info|clear                           the face-track cache
    presenters list [--workspace DIR]          the app's presenter library (batch --presenter NAME)
    worker --broker URL --workspace DIR        a Celery worker for the app
    models list|download|verify                the model weights: fetch, check, install

One module per command, each with ``add(commands)`` (its arguments) and ``run(args)``.
The command line prints its answers; everything else goes to the log.
"""

from __future__ import annotations

import argparse
import logging

from heygem.cli import batch, models, presenters, tracks, worker

COMMANDS = {
    "batch": batch,
    "preprocess": tracks,
    "cache": tracks,
    "presenters": presenters,
    "worker": worker,
    "models": models,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m heygem", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in dict.fromkeys(COMMANDS.values()):
        module.add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if getattr(args, "verbose", False) else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("heygem").setLevel(level)  # our own level: Celery's worker lowers the root's
    return COMMANDS[args.command].run(args)
