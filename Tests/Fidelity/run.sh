#!/usr/bin/env bash
# Provider fidelity: the sandbox's Plaid and GoCardless answers against the providers' OpenAPI
# documents (../shared/specs), and the official Python clients (plaid-python, nordigen) run
# against the sandbox.
#
#   bash Tests/Fidelity/run.sh
#
# Environment:
#   BANKSYNC_BIN        the banksync executable (default .build/debug/banksync; not built here)
#   FIDELITY_VENV       a venv to create or reuse (default: a fresh one in a temp dir)
#   FIDELITY_SPECS_DIR  where the OpenAPI documents are (default ../shared/specs)
#   FIDELITY_SEED       the sandbox seed (default 42)
#   PYTHON              the interpreter that makes the venv (default python3)
# Exits non-zero if any response breaks its schema, any client step fails, or setup fails.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
cd "$(dirname "$0")/../.."
HERE=Tests/Fidelity
START=$(date +%s)

log() { printf '[fidelity] %s\n' "$*"; }
die() { printf '[fidelity] FAILED: %s\n' "$*" >&2; exit 1; }

BIN=${BANKSYNC_BIN:-.build/debug/banksync}
[ -x "$BIN" ] || die "no banksync executable at $BIN (build it first, or set BANKSYNC_BIN)"
SPECS=${FIDELITY_SPECS_DIR:-../shared/specs}
for doc in plaid-2020-09-14.yml gocardless-bankaccountdata-v2.json; do
  [ -f "$SPECS/$doc" ] || die "missing OpenAPI document $SPECS/$doc (../shared/specs must sit beside the repository)"
done
export FIDELITY_SPECS_DIR=$(cd "$SPECS" && pwd)
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || die "no $PYTHON on PATH"

WORK=$(mktemp -d /tmp/banksync-fidelity.XXXXXX)
SANDBOX_PID=
cleanup() {
  if [ -n "$SANDBOX_PID" ] && kill -0 "$SANDBOX_PID" 2>/dev/null; then
    kill "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The venv. Debian's python3 needs python3-venv for ensurepip; install it when we may.
VENV=${FIDELITY_VENV:-$WORK/venv}
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" >"$WORK/venv.log" 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "python venv unavailable; installing python3-venv from Debian"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null && apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$VENV"
      "$PYTHON" -m venv "$VENV" || die "cannot create a venv with $PYTHON"
    else
      cat "$WORK/venv.log" >&2
      die "cannot create a venv with $PYTHON (install python3-venv)"
    fi
  fi
fi
PIP_START=$(date +%s)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt" >"$WORK/pip.log" 2>&1 \
  || { cat "$WORK/pip.log" >&2; die "pip install -r $HERE/requirements.txt failed"; }
PIP_SECONDS=$(( $(date +%s) - PIP_START ))
log "venv $VENV ready in ${PIP_SECONDS}s: $("$VENV/bin/python" -m pip freeze --disable-pip-version-check | grep -iE '^(plaid-python|nordigen|openapi-schema-validator|jsonschema)==' | tr '\n' ' ')"

# The sandbox, on a free loopback port.
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$BIN" sandbox --port "$PORT" --seed "${FIDELITY_SEED:-42}" >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
BASE="http://127.0.0.1:$PORT"
ready=
for _ in $(seq 1 150); do
  kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$WORK/sandbox.log" >&2; die "the sandbox exited before it answered"; }
  if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$BASE/sandbox/" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
[ -n "$ready" ] || { cat "$WORK/sandbox.log" >&2; die "the sandbox did not answer on $BASE/sandbox/ within 30s"; }
log "sandbox $BIN on $BASE (pid $SANDBOX_PID, seed ${FIDELITY_SEED:-42})"

status=0
log "spec validation (Plaid: $FIDELITY_SPECS_DIR/plaid-2020-09-14.yml, GoCardless: $FIDELITY_SPECS_DIR/gocardless-bankaccountdata-v2.json)"
"$VENV/bin/python" "$HERE/validate_specs.py" --base-url "$BASE" --specs "$FIDELITY_SPECS_DIR" | tee "$WORK/specs.out" || status=1
log "official clients"
"$VENV/bin/python" "$HERE/official_clients.py" --base-url "$BASE" | tee "$WORK/clients.out" || status=1

kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$WORK/sandbox.log" >&2; status=1; log "the sandbox died during the run"; }
kill "$SANDBOX_PID" 2>/dev/null || true
wait "$SANDBOX_PID" 2>/dev/null || true
SANDBOX_PID=

count() { sed -nE "s/^[a-z-]+: ([0-9]+) passed, ([0-9]+) failed$/\\$1/p" "$WORK/specs.out" "$WORK/clients.out" | awk '{s+=$1} END {print s+0}'; }
PASSED=$(count 1)
FAILED=$(count 2)
[ "$status" = 0 ] || [ "$FAILED" != 0 ] || FAILED=1  # a script failed without its summary line
log "took $(( $(date +%s) - START ))s (pip install ${PIP_SECONDS}s)"
if [ "$status" != 0 ]; then
  log "FAILED: see the FAIL lines above (endpoint, status, schema and JSON path)"
fi
echo "fidelity: $PASSED passed, $FAILED failed"
exit "$status"
