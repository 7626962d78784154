#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a live `banksync serve` — embedded SQLite in a temporary
# directory, a `banksync sandbox` as all three providers, a tenant with an API key — using the
# served /openapi.yaml. Fails on any 5xx and any answer that does not match the document.
# Uses the banksync binary `swift test` built (BANKSYNC_BIN to override).
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[schemathesis] %s\n' "$*"; }
BIN=${BANKSYNC_BIN:-.build/debug/banksync}
[ -x "$BIN" ] || swift build --product banksync
WORK=$(mktemp -d /tmp/banksync-schemathesis.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

ST=${SCHEMATHESIS:-}
if [ -z "$ST" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q 'schemathesis>=4,<5'
  ST="$WORK/venv/bin/schemathesis"
fi

SANDBOX_PORT=$(free_port)
API_PORT=$(free_port)
"$BIN" sandbox --port "$SANDBOX_PORT" --start "$(date -u +%F)" > "$WORK/sandbox.log" 2>&1 &
PIDS+=($!)
export BANKSYNC_DATABASE_URL="sqlite://$WORK/api.sqlite"
export BANKSYNC_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"
export BANKSYNC_HTTP_PORT=$API_PORT
export BANKSYNC_LOG_LEVEL=warning
"$BIN" migrate >/dev/null
KEY=$("$BIN" tenants create --name schemathesis | grep '^bsk_')
"$BIN" serve > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
BASE="http://127.0.0.1:$API_PORT"
for _ in $(seq 1 100); do
  curl -sf "$BASE/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "$BASE/health/ready" >/dev/null || { cat "$WORK/serve.log"; exit 1; }

# Something to find: a user with a synced Teller connection.
USER_ID=$(curl -sf -X POST "$BASE/v1/users" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"external_id": "schemathesis-user"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ENROLLMENT=$(curl -sf -X POST "http://127.0.0.1:$SANDBOX_PORT/sandbox/connections" -d '{"provider": "teller"}')
python3 - "$ENROLLMENT" > "$WORK/link.json" <<'PY'
import json, sys
e = json.loads(sys.argv[1])
print(json.dumps({"provider": "teller", "access_token": e["access_token"], "enrollment_id": e["id"]}))
PY
curl -sf -X POST "$BASE/v1/users/$USER_ID/connections" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d @"$WORK/link.json" >/dev/null
sleep 2
log "server on $BASE, user $USER_ID"

set +e
"$ST" run "$BASE/openapi.yaml" \
  --header "Authorization: Bearer $KEY" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" --workers 1 --request-timeout 20 \
  --generation-deterministic --no-color 2>&1 | tee "$WORK/schemathesis.log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  log "schemathesis failed (exit $status); server log tail:"
  tail -50 "$WORK/serve.log"
fi
exit "$status"
