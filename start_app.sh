#!/usr/bin/env bash
# Start HeyGem: set up on first run, pick the device, serve the UI on :7860 (with a login: app.py
# prints it). Extra arguments go to app.py (e.g. --port 7861 --workspace /data/heygem), which
# prints the address, the login and the realtime log's path (its --workspace and --log-name
# decide where they are); --download-models first downloads the Wav2Lip weights (see below).
set -euo pipefail
cd "$(dirname "$0")"

download=ask # --download-models is this script's own: app.py does not get it
checkpoint_dir=checkpoints
app_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --download-models) download=yes ;;
    --checkpoint-dir)
      checkpoint_dir=${2:-$checkpoint_dir}
      app_args+=("$1")
      ;;
    *) app_args+=("$1") ;;
  esac
  shift
done
set -- ${app_args[@]+"${app_args[@]}"}

bash scripts/setup.sh

# Real lip-sync needs the Wav2Lip weights: --download-models fetches them (accepting the
# licence: scripted installs); a terminal without any checkpoint is asked once (default no);
# a start without a terminal never waits.
models=(.venv/bin/python -m heygem models download --dir "$checkpoint_dir")
if [ "$download" = yes ]; then
  "${models[@]}" --accept-licence # a failure stops here, with the block for fetching it by hand
elif [ -t 0 ]; then
  "${models[@]}" --if-missing || echo "Starting with the loudness engine (not real lip-sync)."
fi

if .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  device=cuda
  echo "GPU detected ($(.venv/bin/python -c 'import torch; print(torch.cuda.get_device_name(0))')): using CUDA"
else
  device=cpu
  echo "No CUDA GPU visible to torch: using the CPU (slow; the loudness engine and small batches are fine)"
fi
# app.py prints the address and, when it listens beyond this machine (the default), the login.
if [ -n "${HEYGEM_AUTH:-}" ]; then
  echo "HeyGem: log in with HEYGEM_AUTH's user and password"
else
  echo "HeyGem: log in with the user and password printed below (made on the first start and kept in"
  echo "  the workspace's login.txt; HEYGEM_AUTH=user:pass sets your own; --host 127.0.0.1 needs none)"
fi
exec .venv/bin/python app.py --device "$device" "$@"
