#!/usr/bin/env bash
# The dashboard in headless Chromium: installs chromium and chromium-driver (Debian) and
# selenium (PyPI) when missing, then runs browser_check.py against `banksync demo`.
# SCREENSHOTS=docs/screenshots saves the pages (the README shows them).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "[dashboard] installing chromium and chromium-driver from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi
PY=${DASHBOARD_PYTHON:-}
if [ -z "$PY" ]; then
  VENV=$(mktemp -d /tmp/banksync-dashboard.XXXXXX)
  trap 'rm -rf "$VENV"' EXIT
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'selenium>=4,<5'
  PY="$VENV/bin/python"
fi
BIN=${BANKSYNC_BIN:-.build/debug/banksync}
[ -x "$BIN" ] || swift build --product banksync
"$PY" Tests/Dashboard/browser_check.py --binary "$BIN" ${SCREENSHOTS:+--screenshots "$SCREENSHOTS"}
