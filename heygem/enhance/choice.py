"""Whether a video gets the face enhancer, and which one: decided once per video, never per
frame (a restorer switched on and off between frames flickers).

``enhancer`` setting (:data:`heygem.settings.ENHANCERS`):

- ``none``: off;
- ``gfpgan`` / ``restoreformer``: on, whatever the device and the face size (its weights must
  be installed, or the video fails saying how to get them);
- ``auto``: GFPGAN where it pays and is affordable: on a CUDA GPU, with its weights
  installed, for a face whose Wav2Lip patch (96 px) is scaled up at least
  :data:`AUTO_MIN_UPSCALE` times (a smaller face loses little in the patch). Off on the CPU,
  where the reason says what it would cost instead.

Light on purpose (no torch): the app's host shows the costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from heygem.errors import HeygemError

ENHANCER_FILES = {"gfpgan": "GFPGANv1.4.pth", "restoreformer": "RestoreFormer++.ckpt"}  # in checkpoints/
ENHANCER_MODELS = {"gfpgan": "gfpgan_1.4", "restoreformer": "restoreformer_pp"}  # `models download` names
AUTO_RESTORER = "gfpgan"  # what auto turns on
AUTO_MIN_UPSCALE = 2.0  # auto: the face crop's shorter side over the 96 px patch, at least
# Seconds per face on the CPU, default runtime (OpenVINO f32), measured by bench/enhancer.py
# on this project's 2-core AVX2 machine while shared (load 5-11; README "Face enhancer"): what
# auto says it would cost, and the settings panel's cost note.
CPU_SECONDS_PER_FACE = {"gfpgan": 10.0, "restoreformer": 11.0}


class EnhancerUnavailable(HeygemError):
    """The enhancer asked for cannot run: its weights are not installed."""


@dataclass(frozen=True)
class EnhancerChoice:
    restorer: str | None  # "gfpgan" | "restoreformer"; None: no enhancer for this video
    checkpoint: Path | None  # its weights
    reason: str  # one line for the log and the result: why on or off


def enhancer_checkpoint(restorer: str, checkpoint_dir: Path, explicit: Path | None = None) -> Path:
    """The weights file ``restorer`` loads: ``explicit`` when given, else its official name in
    ``checkpoint_dir``."""
    return Path(explicit) if explicit else Path(checkpoint_dir) / ENHANCER_FILES[restorer]


def choose(
    setting: str,
    device: str,
    checkpoint_dir: Path,
    explicit: Path | None,
    upscale: float | None,
    frames: int,
) -> EnhancerChoice:
    """The decision for one video. ``upscale``: the face crop's shorter side / 96 px (median
    over the frames with a face; None without a face); ``frames``: frames with a face (for the
    cost). Raises :class:`EnhancerUnavailable` for a named enhancer without its weights."""
    if setting == "none":
        return EnhancerChoice(None, None, "enhancer none")
    if setting != "auto":
        path = enhancer_checkpoint(setting, checkpoint_dir, explicit)
        if not path.is_file():
            raise EnhancerUnavailable(
                f"the {setting} enhancer needs {path}: run `python -m heygem models download "
                f"{ENHANCER_MODELS[setting]}`, or choose enhancer none"
            )
        return EnhancerChoice(setting, path, f"enhancer {setting} (asked for)")
    path = enhancer_checkpoint(AUTO_RESTORER, checkpoint_dir, explicit)
    if not device.startswith("cuda"):
        return EnhancerChoice(
            None, None, f"enhancer auto: off on the CPU ({cost_text(AUTO_RESTORER, frames)})"
        )
    if not path.is_file():
        return EnhancerChoice(None, None, f"enhancer auto: off, {path.name} is not installed")
    if upscale is None or upscale < AUTO_MIN_UPSCALE:
        scaled = "no face" if upscale is None else f"the face is scaled up {upscale:.1f}x"
        return EnhancerChoice(None, None, f"enhancer auto: off, {scaled} (on from {AUTO_MIN_UPSCALE:g}x)")
    return EnhancerChoice(
        AUTO_RESTORER, path, f"enhancer auto: {AUTO_RESTORER}, the face is scaled up {upscale:.1f}x"
    )


def cost_text(restorer: str, frames: int) -> str:
    """What ``restorer`` would add on this machine's CPU for ``frames`` faces, one phrase."""
    seconds = CPU_SECONDS_PER_FACE[restorer]
    total = seconds * frames
    span = f"{total / 60:.0f} min" if total >= 90 else f"{total:.0f} s"
    return f"{restorer} would add about {seconds:g} s per frame here, {span} for {frames} frames"
