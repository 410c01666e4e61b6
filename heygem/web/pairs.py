"""Which (narration, video) pairs a submission makes, worked out before anything is copied.

:func:`plan_uploads` turns the uploaded narrations and videos and a pairing choice (a rule,
or an uploaded manifest whose paths name uploaded files) into an :class:`UploadPlan`: the
pairs in the order they will run, their output names, each narration's duration or the
reason it cannot be used, and the files left out. The Batch tab's table of pairs and the submit
both use it, so the table shows what Start records.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from heygem.errors import MediaError
from heygem.jobs import safe_name
from heygem.lipsync.pairfile import read_plan
from heygem.lipsync.pairing import PairError, PairPlan, output_stems, pair_files, run_order

# The settings columns a manifest template offers (any batch setting may be a column).
TEMPLATE_SETTINGS = ("quality", "height", "sync_offset", "face_point", "mask", "pads")


class Uploaded(Protocol):  # heygem.web.intake.Upload
    path: Path
    name: str


@dataclass(frozen=True)
class UploadPlan:
    plan: PairPlan  # its audios and videos are the uploaded names
    audios: list[Uploaded]  # the upload of each plan.audios entry
    videos: list[Uploaded]  # the upload of each plan.videos entry
    audio_seconds: list[float | None]  # each narration's duration, as its container says
    audio_errors: list[str | None]  # why a narration cannot be used (its pairs fail), else None
    order: list[int]  # plan.pairs indices in the order they run
    stems: list[str]  # each pair's output file stem (plan.pairs order), unique in the batch

    def rows(self) -> list[dict]:
        """The pairs in run order: narration, video, output name, and a reason when it cannot run."""
        return [
            {
                "audio": self.audios[pair.audio].name,
                "video": self.videos[pair.video].name,
                "output": f"{self.stems[k]}.mp4",
                "error": self.audio_errors[pair.audio],
            }
            for k, pair in ((k, self.plan.pairs[k]) for k in self.order)
        ]

    def template_csv(self) -> str:
        """A manifest of these pairs to fill in (CSV): each row's narration, video and output
        name, and empty columns for the settings a row may set (:func:`heygem.settings.from_text`
        reads its cells)."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["audio", "video", "output", *TEMPLATE_SETTINGS])
        for row in self.rows():
            writer.writerow(
                [row["audio"], row["video"], Path(row["output"]).stem, *[""] * len(TEMPLATE_SETTINGS)]
            )
        return text.getvalue()

    def summary(self) -> dict:
        """What the Batch tab shows before Start (plain data)."""
        return {
            "pairs": len(self.plan.pairs),
            "narrations": self.plan.narrations_used,
            "videos": len({pair.video for pair in self.plan.pairs}),
            "rule": self.plan.rule,
            "unmatched": list(self.plan.unmatched),
            "rows": self.rows(),
        }


def plan_uploads(
    audios: list[Uploaded],
    videos: list[Uploaded],
    pairing: str,
    manifest: Uploaded | None,
    max_pairs: int,
) -> UploadPlan:
    """The pairs of a submission. Raises :class:`PairError` (no pairs, too many, a bad
    manifest row with its line) or, when no narration is usable, the reason: one narration
    that cannot be read refuses the batch, as before pairs."""
    if manifest is not None:
        given = [*audios, *videos]  # every one: a name two uploads share is refused where a row names it
        plan = read_plan(manifest.path, [u.name for u in given], max_pairs, manifest.name)
        by_name = {u.name: u for u in given}  # the names rows chose are each one upload's
        chosen_audios = [by_name[name] for name in plan.audios]
        chosen_videos = [by_name[name] for name in plan.videos]
    else:
        plan = pair_files([u.name for u in audios], [u.name for u in videos], pairing, max_pairs)
        chosen_audios, chosen_videos = list(audios), list(videos)
    seconds, errors = _check_narrations(chosen_audios, plan)
    order = run_order(plan, seconds)
    stems = output_stems(plan, lambda name: Path(safe_name(name, "video")).stem)
    return UploadPlan(plan, chosen_audios, chosen_videos, seconds, errors, order, stems)


def _check_narrations(audios: list[Uploaded], plan: PairPlan) -> tuple[list, list]:
    from heygem.media import check_audio  # decoders load at the first submit, not with the UI

    seconds: list[float | None] = []
    failures: dict[int, MediaError] = {}
    for k, upload in enumerate(audios):
        try:
            seconds.append(check_audio(upload.path, upload.name))
        except MediaError as exc:
            seconds.append(None)
            failures[k] = exc
    used = sorted({pair.audio for pair in plan.pairs})
    if all(k in failures for k in used):  # nothing could run
        if len(used) == 1:
            raise failures[used[0]]
        raise PairError("no narration can be used: " + "; ".join(str(failures[k]) for k in used))
    return seconds, [str(failures[k]) if k in failures else None for k in range(len(audios))]
