#!/usr/bin/env bash
# The project's test command (README, .ci/run): set-up, lint and the import contracts, then
# the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k audio`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --dev
bash scripts/system-deps.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
