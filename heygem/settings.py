"""What a batch may choose, the one list of each choice, and where things live by default.

:class:`BatchSettings` is parsed here and nowhere else: the UI, the API, the CLI and the job
store all go through :meth:`BatchSettings.parse` (or :func:`clean`, which checks what a user
gave and keeps only that, so the process's own defaults still apply to the rest).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from heygem.errors import HeygemError

ENGINES = ("auto", "wav2lip", "musetalk", "loudness")  # auto: wav2lip when a checkpoint exists, else loudness
# The licence class of each engine's weights, as the engine choice shows it (docs/engines.md).
ENGINE_LICENCES = {
    "wav2lip": "non-commercial use only",
    "musetalk": "commercial use under its licence, with its use restrictions",
    "loudness": "no weights: not real lip-sync",
}
# Older names a user may still type (flags, settings, manifests); each means the engine it maps to.
ENGINE_ALIASES = {"preview": "loudness"}  # the weight-free engine's name up to 0.2
DETECTORS = ("auto", "blazeface", "sfd")  # auto: sfd on CUDA when s3fd.pth exists, else blazeface
RUNTIMES = (
    "auto",
    "torch",
    "onnx",
    "onnx-int8",
    "openvino",
    "openvino-bf16",
    "openvino-int8",
)  # auto: openvino-bf16 (native bf16) or openvino on CPU, torch fp16 on CUDA
ENHANCERS = ("auto", "none", "gfpgan", "restoreformer")  # face restorer after the lip-sync; auto: see
# heygem.enhance.choice (gfpgan on a CUDA GPU with its weights, for faces scaled up >= 2x; off on a CPU)
ENHANCER_RUNTIMES = ("auto", "torch", "openvino", "openvino-bf16")  # auto: torch on CUDA, openvino on CPU
DEFAULT_ENHANCER_BLEND = 80.0  # % of the restored face blended in, inside the lip-sync mask
FRAME_ORDERS = ("pingpong", "loop")  # how a video shorter than its narration continues
QUALITY_CRF = {"high": 18, "standard": 23, "small": 28}  # output quality -> x264 CRF
HEIGHTS = ("original", "1080", "720", "480")  # output heights the UI offers
DEFAULT_PADS = (0, 10, 0, 0)  # face box padding top, bottom, left, right (px), as Wav2Lip's
MASK_MODES = ("face", "mouth")  # face: the lower face the model redraws; mouth: lips and jaw under
DEFAULT_MASK_SIZE = 5.0  # % of the crop width the mask grows past its outline (chin room)
DEFAULT_MASK_FEATHER = 10.0  # % of the crop width over which the mask's edge fades in
PAIR_RULES = ("cross", "order", "name")  # narrations x videos: every pair, by position, by file name
DEFAULT_MAX_PAIRS = 1000  # (narration, video) pairs one batch may hold (--max-pairs, HEYGEM_MAX_PAIRS)

AUDIO_EXTENSIONS = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".wma", ".aiff", ".aif")
AUDIO_EXTENSIONS += (".caf", ".amr", ".3gp", ".weba")  # phones' and browsers' recordings
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".flv", ".ts", ".mpg")
NARRATION_EXTENSIONS = AUDIO_EXTENSIONS + VIDEO_EXTENSIONS  # a video's soundtrack is a narration too
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")  # a still presenter
MANIFEST_EXTENSIONS = (".csv", ".json")  # a batch's list of pairs

DEFAULT_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def default_cache_dir() -> Path:
    """Where disposable files go (face tracks, exported models): $HEYGEM_CACHE_DIR, else
    $XDG_CACHE_HOME/heygem or ~/.cache/heygem."""
    explicit = os.environ.get("HEYGEM_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "heygem"


def engine_name(name: str) -> str:
    """An engine as the user typed it, with an old name (:data:`ENGINE_ALIASES`) made current."""
    return ENGINE_ALIASES.get(name, name)


class SettingsError(HeygemError):
    """A setting that is not allowed; the message names the key, the value and what is allowed."""

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"setting {key!r}: {value!r} is not allowed ({allowed})")


@dataclass(frozen=True)
class BatchSettings:
    engine: str = "auto"  # one of ENGINES (an ENGINE_ALIASES name is taken too)
    detector: str = "auto"  # one of DETECTORS
    quality: str = "standard"  # a QUALITY_CRF key
    crf: int | None = None  # x264 CRF 0-51; overrides quality (the CLI's --crf)
    height: int | None = None  # output height in pixels; None keeps the source's
    frame_order: str = "pingpong"  # one of FRAME_ORDERS
    chunk_seconds: float = 30.0  # seconds of output per chunk: what a retry or a resume redoes
    pads: tuple[int, int, int, int] = DEFAULT_PADS  # face box padding top, bottom, left, right (px)
    sync_offset: int = 0  # frames the mel windows are shifted by (0: the original inference)
    keyframe_interval: int = 8  # frames between face detections; 1 detects every frame
    face_point: tuple[float, float] | None = None  # x, y source pixels: follow the face there
    face_points: Mapping[str, tuple[float, float]] | None = None  # per video name, over face_point
    mask: str = "face"  # one of MASK_MODES
    mask_size: float = DEFAULT_MASK_SIZE  # % of the face crop's width the mask grows (- shrinks)
    mask_feather: float = DEFAULT_MASK_FEATHER  # % of the face crop's width its edge fades over
    overlay: bool = False  # draw the face box and the mask's outline on the output (for tuning)
    enhancer: str = "auto"  # one of ENHANCERS: the face restorer after the lip-sync
    enhancer_blend: float = DEFAULT_ENHANCER_BLEND  # % of the restored face painted in, inside the mask

    @property
    def x264_crf(self) -> int:
        return self.crf if self.crf is not None else QUALITY_CRF[self.quality]

    def face_point_for(self, video: str | None) -> tuple[float, float] | None:
        """The point that picks the face of ``video`` (its uploaded name): its own, else the
        batch's, else None (the most prominent face)."""
        own = (self.face_points or {}).get(video) if video is not None else None
        return own or self.face_point

    @classmethod
    def parse(cls, given: Mapping | None, base: BatchSettings | None = None) -> BatchSettings:
        """``base`` (default: the defaults above) with every key of ``given`` checked and
        applied. Raises :class:`SettingsError` for an unknown key or a bad value."""
        return replace(base or cls(), **clean(given))


def clean(given: Mapping | None) -> dict:
    """The keys a user gave, each checked and normalised (numbers as numbers, pads as a
    tuple); a None value counts as not given. Raises :class:`SettingsError` naming the first
    bad one."""
    out = {}
    for key, value in (given or {}).items():
        if key not in _CHECKS:
            raise SettingsError(key, value, f"known settings: {', '.join(_CHECKS)}")
        if value is not None:
            out[key] = _CHECKS[key](key, value)
    return out


def _choice(options, aliases: Mapping[str, str] | None = None) -> Callable:
    """A check for one of ``options``; an ``aliases`` key is taken as the option it maps to."""

    def check(key, value):
        value = (aliases or {}).get(value, value) if isinstance(value, str) else value
        if value not in options:
            raise SettingsError(key, value, f"use {', '.join(options)}")
        return value

    return check


def _number(kind: type, low: float, high: float) -> Callable:
    """A check for an int (or float) in [low, high]; numeric strings count, bools do not."""

    def check(key, value):
        number = None
        if not isinstance(value, bool):
            with contextlib.suppress(TypeError, ValueError):
                number = float(value)
        ok = number is not None and math.isfinite(number) and low <= number <= high
        if not ok or (kind is int and number != int(number)):
            raise SettingsError(key, value, f"{kind.__name__} from {low:g} to {high:g}")
        return kind(number)

    return check


def _height(key, value):
    if value in ("", "original", 0):
        return None
    try:
        return _number(int, 16, 4320)(key, value)
    except SettingsError:
        allowed = f"use {', '.join(HEIGHTS)}, or a whole number of pixels from 16 to 4320"
        raise SettingsError(key, value, allowed) from None


def _pads(key, value):
    allowed = "four whole pixel counts 0-1000: top, bottom, left, right"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 4:
        raise SettingsError(key, value, allowed)
    try:
        return tuple(_number(int, 0, 1000)(key, v) for v in value)
    except SettingsError:
        raise SettingsError(key, value, allowed) from None


def _point(key, value):
    allowed = "[x, y]: two pixel positions 0-100000 in the source video"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise SettingsError(key, value, allowed)
    try:
        return tuple(_number(float, 0, 100_000)(key, v) for v in value)
    except SettingsError:
        raise SettingsError(key, value, allowed) from None


def _points(key, value):
    if not isinstance(value, Mapping):
        raise SettingsError(key, value, "{video name: [x, y]}")
    return {str(name): _point(f"{key}[{name!r}]", point) for name, point in value.items()}


def _flag(key, value):
    if not isinstance(value, bool):
        raise SettingsError(key, value, "true or false")
    return value


TRUE_WORDS, FALSE_WORDS = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def from_text(key: str, text: str):
    """A setting as a spreadsheet cell or a form field writes it, turned into the value
    :func:`clean` checks: ``pads`` ``0 10 0 0`` and ``face_point`` ``640 300`` (spaces, commas
    or semicolons between the numbers) as lists, ``overlay`` ``true``/``false`` (yes/no, 1/0,
    on/off) as a bool; any other text as it is (numbers in text are numbers to :func:`clean`)."""
    text = text.strip()
    if key in ("pads", "face_point"):
        return [part for part in re.split(r"[\s,;]+", text.strip("[]()")) if part]
    if key == "overlay" and text.lower() in TRUE_WORDS + FALSE_WORDS:
        return text.lower() in TRUE_WORDS
    return text


_CHECKS: dict[str, Callable] = {
    "engine": _choice(ENGINES, ENGINE_ALIASES),
    "detector": _choice(DETECTORS),
    "quality": _choice(tuple(QUALITY_CRF)),
    "crf": _number(int, 0, 51),
    "height": _height,
    "frame_order": _choice(FRAME_ORDERS),
    "chunk_seconds": _number(float, 0.1, 600),
    "pads": _pads,
    "sync_offset": _number(int, -50, 50),
    "keyframe_interval": _number(int, 1, 250),
    "face_point": _point,
    "face_points": _points,
    "mask": _choice(MASK_MODES),
    "mask_size": _number(float, -30, 60),
    "mask_feather": _number(float, 0, 50),
    "overlay": _flag,
    "enhancer": _choice(ENHANCERS),
    "enhancer_blend": _number(float, 0, 100),
}
assert set(_CHECKS) == {f.name for f in fields(BatchSettings)}  # every setting is checked
