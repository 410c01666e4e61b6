"""What the Batch tab's live table weighs per tick (the page polls it every second), a row per
video against the folded table (:mod:`heygem.web.itemsview`), for a course's batch sizes.

    .venv/bin/python bench/live_table.py [--narrations 20] [--presenters 3 10 50]

A batch of N narrations × P presenters, half done, one running, the rest queued; prints the
table's size in bytes (UTF-8) in English and Chinese, both ways. Pure Python, no app.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heygem.web import itemsview  # noqa: E402


def course_items(narrations: int, presenters: int) -> list[dict]:
    """A batch's status items (as :mod:`heygem.web.batchstatus` gives them), half done."""
    items = []
    for lesson in range(narrations):
        for presenter in range(presenters):
            done = len(items) < narrations * presenters // 2
            items.append(
                {
                    "video": f"presenter{presenter}.mp4",
                    "audio": f"lesson{lesson:02d}.wav",
                    "status": "done" if done else "queued",
                    "progress": 1.0 if done else 0.0,
                    "stage": "",
                    "error": None,
                    "chunk": 0,
                    "chunks": 0,
                    "output": None,
                    "seconds": 30.0 if done else None,
                }
            )
    running = items[len(items) // 2]
    running.update(status="running", stage="lipsync", chunk=1, chunks=2, progress=0.4)
    return items


def table_bytes(items: list[dict], lang: str, folded: bool) -> int:
    saved = itemsview.FOLD_AFTER
    itemsview.FOLD_AFTER = saved if folded else len(items)
    try:
        return len(itemsview.items_table(items, lang, pairs=True).encode())
    finally:
        itemsview.FOLD_AFTER = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--narrations", type=int, default=20)
    parser.add_argument("--presenters", type=int, nargs="+", default=[3, 10, 50])
    args = parser.parse_args()
    print("| pairs | row each, en | folded, en | row each, zh-CN | folded, zh-CN |")
    print("|---:|---:|---:|---:|---:|")
    for presenters in args.presenters:
        items = course_items(args.narrations, presenters)
        sizes = [table_bytes(items, lang, folded) for lang in ("en", "zh") for folded in (False, True)]
        print(f"| {len(items)} | " + " | ".join(f"{size:,} B" for size in sizes) + " |")


if __name__ == "__main__":
    main()
