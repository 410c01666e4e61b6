#!/usr/bin/env bash
# Debian packages the tests use: chromium (browser tests), a CJK font (readable Chinese in
# screenshots), redis-server (scale-out tests), curl and jq (the README's REST API flow).
# Installed only when missing, and only where apt-get may run (root or sudo); elsewhere the
# tests that need them skip and say why.
set -uo pipefail

wanted=()
command -v chromium >/dev/null 2>&1 || wanted+=(chromium)
command -v redis-server >/dev/null 2>&1 || wanted+=(redis-server)
command -v curl >/dev/null 2>&1 || wanted+=(curl)
command -v jq >/dev/null 2>&1 || wanted+=(jq)
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || wanted+=(fonts-wqy-zenhei)
[ ${#wanted[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "system-deps: cannot install ${wanted[*]} (not root, no sudo); those tests will skip" >&2
  exit 0
fi
echo "system-deps: installing ${wanted[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null 2>&1 ||
  echo "system-deps: apt-get install ${wanted[*]} failed; those tests will skip" >&2
exit 0
