"""The flags that say which models a process loads, shared by ``batch``, ``worker`` and app.py.

They are the process's defaults; a batch's own settings (engine, detector) override them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from heygem.settings import (
    DEFAULT_CHECKPOINT_DIR,
    DETECTORS,
    ENGINE_ALIASES,
    ENGINE_LICENCES,
    ENGINES,
    ENHANCER_RUNTIMES,
    RUNTIMES,
    engine_name,
)


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """--engine, --checkpoint, --checkpoint-dir, --detector, --device, --batch-size, --runtime,
    --enhancer-checkpoint, --enhancer-runtime, --musetalk-margin."""
    parser.add_argument(
        "--engine",
        default="auto",
        type=engine_name,  # an old name ("preview") is taken as its engine
        choices=ENGINES,
        help="auto: wav2lip when a checkpoint is found, else loudness; the weights' licences: "
        + "; ".join(f"{name}: {text}" for name, text in ENGINE_LICENCES.items())
        + f" (old names: {', '.join(ENGINE_ALIASES)})",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="Wav2Lip .pth, or for musetalk the models/ folder of its layout (default: checkpoints/, checkpoints/musetalk/)",
    )
    parser.add_argument("--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR)
    parser.add_argument("--detector", default="auto", choices=DETECTORS)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, help="frames per model call")
    parser.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIMES,
        help="where the network runs (auto: openvino-bf16 or openvino on CPU, torch on CUDA; "
        "all but torch on CPU only)",
    )
    parser.add_argument(
        "--enhancer-checkpoint",
        type=Path,
        help="the face enhancer's weights (default: GFPGANv1.4.pth or RestoreFormer++.ckpt in the checkpoint dir)",
    )
    parser.add_argument(
        "--enhancer-runtime",
        default="auto",
        choices=ENHANCER_RUNTIMES,
        help="where the face enhancer runs (auto: openvino on CPU, torch fp16 on CUDA)",
    )
    parser.add_argument(
        "--musetalk-margin",
        type=int,
        default=10,
        metavar="PX",
        help="pixels the musetalk engine adds below each face crop, room for the chin (upstream's extra_margin)",
    )


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    """--cache-dir and --no-track-cache."""
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="face tracks and exported models (default: $HEYGEM_CACHE_DIR or ~/.cache/heygem)",
    )
    parser.add_argument("--no-track-cache", action="store_true", help="always detect faces")


def engine_settings(args: argparse.Namespace):
    """The :class:`~heygem.lipsync.EngineSettings` the flags above ask for."""
    from heygem.lipsync import EngineSettings

    return EngineSettings(
        engine=args.engine,
        checkpoint=args.checkpoint,
        detector=args.detector,
        device=args.device,
        checkpoint_dir=args.checkpoint_dir,
        batch_size=args.batch_size,
        runtime=args.runtime,
        cache_dir=args.cache_dir,
        track_cache_mb=0 if args.no_track_cache else EngineSettings.track_cache_mb,
        enhancer_checkpoint=args.enhancer_checkpoint,
        enhancer_runtime=args.enhancer_runtime,
        musetalk_margin=args.musetalk_margin,
    )
