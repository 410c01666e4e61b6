"""How long a JSON manifest of pairs takes to read and check, by its number of rows.

    .venv/bin/python bench/manifest.py [--rows 1000 5000 20000] [--repeats 3]

For each size: the whole file read and checked (``max_pairs`` = its rows, as a command line
batch that big would) and, as the app reads it, with the default pair limit (1000: reading
stops at row 1001 and the manifest is refused). Rows name uploaded files (no file is opened).
Printed: the median seconds of the repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from heygem.lipsync.pairfile import read_plan  # noqa: E402
from heygem.lipsync.pairing import PairError  # noqa: E402


def seconds(manifest: Path, uploads: list[str], max_pairs: int, repeats: int) -> float:
    took = []
    for _ in range(repeats):
        started = time.perf_counter()
        with contextlib.suppress(PairError):  # over the limit: refused, as the app does
            read_plan(manifest, uploads, max_pairs)
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    uploads = [f"lesson{k:03d}.wav" for k in range(100)] + [f"host{k:03d}.mp4" for k in range(100)]
    print("| rows | bytes | whole file s | with the pair limit (1000) s |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for count in args.rows:
            rows = [{"audio": uploads[k % 100], "video": uploads[100 + k // 100 % 100]} for k in range(count)]
            manifest = Path(work) / f"jobs-{count}.json"
            manifest.write_text(json.dumps(rows, indent=2))
            whole = seconds(manifest, uploads, count, args.repeats)
            limited = seconds(manifest, uploads, 1000, args.repeats)
            print(f"| {count} | {manifest.stat().st_size} | {whole:.3f} | {limited:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
