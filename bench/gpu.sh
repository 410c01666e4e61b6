#!/usr/bin/env bash
# The CUDA path's figures (bench/gpu.py): run on a machine with an NVIDIA GPU, from the
# repository root; --dry-run checks every step on the CPU first. Uses .venv when it exists
# (scripts/setup.sh makes it; the same torch pin gets a CUDA build there), else python3.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3
"$python" -c 'import torch, cv2, av, librosa' 2>/dev/null || {
  echo "bench/gpu.sh: $python lacks the project's packages: run bash scripts/setup.sh first" >&2
  exit 2
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
exec "$python" bench/gpu.py "$@"
