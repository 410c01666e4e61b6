#!/usr/bin/env bash
# Start HeyGem: set up on first run, pick the device, serve the UI on :7860.
# Extra arguments go to app.py (e.g. --port 7861 --workspace /data/heygem), which prints the
# realtime log's path (its --workspace and --log-name decide where it is).
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/setup.sh

if .venv/bin/python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  device=cuda
  echo "GPU detected ($(.venv/bin/python -c 'import torch; print(torch.cuda.get_device_name(0))')): using CUDA"
else
  device=cpu
  echo "No CUDA GPU visible to torch: using the CPU (slow; the preview engine and small batches are fine)"
fi
port=7860
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--port" ] && port=${args[$((i + 1))]}
done
echo "HeyGem: open http://$(hostname -I 2>/dev/null | awk '{print $1}' || echo localhost):${port} (or http://localhost:${port})"
exec .venv/bin/python app.py --device "$device" "$@"
