#!/usr/bin/env bash
# The project's test command (README, .ci/run): set-up, lint and the import contracts, then
# the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k audio` (`-n 0` runs it in one
# process). The suite runs in HEYGEM_TEST_WORKERS processes (default 2, one per core here):
# its tests wait on app subprocesses, ffmpeg and browsers a lot (3 workers were no faster: ten
# app- and CLI-heavy files took 371 s wall, 261 s CPU in 2 and 395 s, 285 s in 3, back to back
# on a loaded machine). A test file stays whole on one worker (--dist loadfile), so the app a
# module starts once serves all of its tests; files go out slowest first (tests/conftest.py
# SLOWEST_FIRST, --no-loadscope-reorder).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --dev
bash scripts/system-deps.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
exec .venv/bin/python -m pytest -n "${HEYGEM_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
