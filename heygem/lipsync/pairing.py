"""A batch as a list of (narration, video) pairs: how the list is made, named and ordered.

The same three ways in the UI, the API and the command line:

- ``cross``: every narration onto every video (the default);
- ``order``: the first narration onto the first video, the second onto the second, ...;
- ``name``: each narration onto the videos of the same file name (``lesson01.wav`` <->
  ``lesson01.mp4``; case is ignored);
- or a manifest, one row per pair (:mod:`heygem.lipsync.pairfile`).

Files a rule leaves without a partner are kept in :attr:`PairPlan.unmatched`, so that they
are listed before anything runs, never dropped silently. Pure: names in, indices out; this
module opens no file. :func:`output_stems` names the outputs and :func:`run_order` puts the
pairs in the order that reuses the most (a narration's mel, a video's face track).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from heygem.errors import HeygemError
from heygem.settings import DEFAULT_MAX_PAIRS, PAIR_RULES

MANIFEST = "manifest"  # the pairing of a plan read from a manifest


class PairError(HeygemError):
    """A list of pairs that cannot be made (no partner at all, too many pairs, a bad rule)."""


@dataclass(frozen=True)
class Pair:
    audio: int  # index into PairPlan.audios
    video: int  # index into PairPlan.videos
    output: str | None = None  # the output file name a manifest row chose; None: named by the rule
    settings: dict = field(default_factory=dict)  # a manifest row's own settings, already checked
    line: int | None = None  # the manifest line it came from


@dataclass(frozen=True)
class PairPlan:
    audios: tuple[str, ...]  # narrations: paths (CLI) or uploaded names (app), in the order given
    videos: tuple[str, ...]  # videos or stills, likewise
    pairs: tuple[Pair, ...]  # what will run
    unmatched: tuple[str, ...] = ()  # files no pair uses, to list before start
    rule: str = "cross"  # one of PAIR_RULES, or MANIFEST

    @property
    def narrations_used(self) -> int:
        return len({pair.audio for pair in self.pairs})


def pair_files(
    audios: Sequence[str], videos: Sequence[str], rule: str = "cross", max_pairs: int = DEFAULT_MAX_PAIRS
) -> PairPlan:
    """The pairs ``rule`` makes of these narrations and videos (names or paths). Raises
    :class:`PairError` for an unknown rule, no partner at all, or more than ``max_pairs``."""
    if rule not in PAIR_RULES:
        raise PairError(f"pairing {rule!r} is not known (use {', '.join(PAIR_RULES)}, or a manifest)")
    if not audios:
        raise PairError("no narration audio was given")
    if not videos:
        raise PairError("no videos were given")
    if rule == "cross":
        check_pair_count(len(audios) * len(videos), max_pairs, f" ({len(audios)} × {len(videos)})")
        pairs = [Pair(a, v) for a in range(len(audios)) for v in range(len(videos))]
    elif rule == "order":
        pairs = [Pair(k, k) for k in range(min(len(audios), len(videos)))]
    else:
        pairs = _pairs_by_name(audios, videos)
    check_pair_count(len(pairs), max_pairs)
    used_audios, used_videos = {p.audio for p in pairs}, {p.video for p in pairs}
    unmatched = [a for k, a in enumerate(audios) if k not in used_audios]
    unmatched += [v for k, v in enumerate(videos) if k not in used_videos]
    return PairPlan(tuple(audios), tuple(videos), tuple(pairs), tuple(unmatched), rule)


def _pairs_by_name(audios: Sequence[str], videos: Sequence[str]) -> list[Pair]:
    by_stem: dict[str, int] = {}
    for k, audio in enumerate(audios):
        key = match_key(audio)
        if key in by_stem:
            first = audios[by_stem[key]]
            raise PairError(
                f"two narrations are named {PurePath(audio).stem!r} ({_name(first)}, {_name(audio)}): "
                "pairing by name needs one narration per name"
            )
        by_stem[key] = k
    pairs = [Pair(by_stem[match_key(v)], k) for k, v in enumerate(videos) if match_key(v) in by_stem]
    if not pairs:
        raise PairError(
            "no narration has the file name of a video (narrations: "
            f"{_names(audios)}; videos: {_names(videos)})"
        )
    return sorted(pairs, key=lambda pair: (pair.audio, pair.video))


def match_key(name: str) -> str:
    """What pairing by name compares: the file stem, Unicode-normalised, case ignored."""
    return unicodedata.normalize("NFC", PurePath(str(name).replace("\\", "/")).stem).strip().casefold()


def check_pair_count(count: int, max_pairs: int, detail: str = "") -> None:
    if count > max_pairs:
        raise PairError(f"{count:,} pairs{detail} is more than a batch may hold ({max_pairs:,})")


def _name(path: str) -> str:
    return PurePath(str(path).replace("\\", "/")).name


def _names(paths: Sequence[str], at_most: int = 5) -> str:
    shown = ", ".join(_name(p) for p in paths[:at_most])
    return shown + (f" and {len(paths) - at_most} more" if len(paths) > at_most else "")


def file_stem(name: str) -> str:
    return PurePath(str(name).replace("\\", "/")).stem


def output_stems(plan: PairPlan, stem: Callable[[str], str] = file_stem) -> list[str]:
    """Each pair's output file stem, unique in the batch (case ignored): a manifest row's own
    name wins; otherwise ``<video stem>__<audio stem>`` when the batch has more than one
    narration, the video's stem when it has one (as before pairs). ``stem`` turns a name into
    a stem (the app makes it safe too)."""
    several = plan.narrations_used > 1
    taken: set[str] = set()
    stems: list[str | None] = [None] * len(plan.pairs)
    for k, pair in enumerate(plan.pairs):  # a manifest's own names first: they are kept as given
        if pair.output:
            stems[k] = unique_stem(stem(pair.output), taken)
    for k, pair in enumerate(plan.pairs):
        if stems[k] is None:
            base = stem(plan.videos[pair.video])
            if several:
                base = f"{base}__{stem(plan.audios[pair.audio])}"
            stems[k] = unique_stem(base, taken)
    return stems


def unique_stem(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem-1``, ``stem-2``... when another output of the batch already has it."""
    candidate, n = stem, 0
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}"
    taken.add(candidate.lower())
    return candidate


def run_order(plan: PairPlan, seconds: Sequence[float | None]) -> list[int]:
    """Indices of ``plan.pairs`` in the order to run them (``seconds``: each narration's
    duration, None when unknown).

    Narration by narration, so each mel is made once and kept while consecutive pairs share
    it; the longest narration first, so the first pair of every video needs the longest face
    track of the batch (a track covers the frames a narration uses) and each later pair of
    that video reads it from the track cache instead of detecting again. Ties keep the order
    given."""
    first_seen: dict[int, int] = {}
    for k, pair in enumerate(plan.pairs):
        first_seen.setdefault(pair.audio, k)

    def key(k: int) -> tuple:
        audio = plan.pairs[k].audio
        return (-(seconds[audio] or 0.0), first_seen[audio], k)

    return sorted(range(len(plan.pairs)), key=key)
