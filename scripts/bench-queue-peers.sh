#!/usr/bin/env bash
# The job-queue benchmark of docs/PERFORMANCE.md, side by side in one run: BankSync's
# `bench queue` on SQLite and PostgreSQL, then pgqueuer and the raw-SQL ceiling from
# ../shared/bench/queue-peers/ on the same PostgreSQL, three rounds each (medians printed).
#
#   PG_BASE=postgres://banksync:PASSWORD@127.0.0.1:55432 scripts/bench-queue-peers.sh
#
# Needs: a release build (swift build -c release --product banksync), a PostgreSQL whose
# user may create databases, python3 with venv. Creates the scratch databases qbench, pgq
# and rawq if missing; the peers' virtualenv goes to /tmp/qpeers.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PG_BASE:?set PG_BASE=postgres://user:password@host:port}"
PEERS="$(cd .. && pwd)/shared/bench/queue-peers"
[ -d "$PEERS" ] || { echo "peer scripts not found at $PEERS" >&2; exit 2; }
BIN="$(pwd)/.build/release/banksync"
[ -x "$BIN" ] || { echo "build first: swift build -c release --product banksync" >&2; exit 2; }

for db in qbench pgq rawq; do
  psql "$PG_BASE/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || psql "$PG_BASE/postgres" -qc "CREATE DATABASE $db"
done
if [ ! -x /tmp/qpeers/bin/python ]; then
  python3 -m venv /tmp/qpeers && /tmp/qpeers/bin/pip install -q pgqueuer==1.6.0 asyncpg uvloop
fi

echo "## BankSync"
"$BIN" bench queue --runs 3 --workers 4 --postgres-url "$PG_BASE/qbench?sslmode=disable"
"$BIN" bench queue --runs 3 --phase drain --workers 1 --postgres-url "$PG_BASE/qbench?sslmode=disable" | grep '| drain' 

echo "## Peers (three rounds; medians)"
export QB_DSN_BASE="${PG_BASE/postgres:/postgresql:}"
user_host="${PG_BASE#*://}"
export PGHOST=127.0.0.1 PGDATABASE=pgq
export PGUSER="${user_host%%[:@]*}"
password="${user_host#*:}"; password="${password%%@*}"
[ "$password" != "$user_host" ] && export PGPASSWORD="$password"
export PGPORT="${PG_BASE##*:}"
PY=/tmp/qpeers/bin/python
cd "$PEERS"
$PY -m pgqueuer install >/dev/null 2>&1 || true
$PY bench_rawpg.py setup >/dev/null
results=$(mktemp)
for round in 1 2 3; do
  for lib in bench_pgqueuer.py bench_rawpg.py; do
    $PY $lib enqueue --mode batch --jobs 20000 --batch-size 1000
    $PY $lib enqueue --mode single --jobs 20000
    $PY $lib latency --jobs 200 --interval-ms 50
  done
  $PY bench_pgqueuer.py drain --jobs 20000 --workers 1 --batch-size 10
  $PY bench_pgqueuer.py drain --jobs 20000 --workers 5 --batch-size 10
  $PY bench_rawpg.py drain --jobs 20000 --workers 4 --batch-size 10
  $PY bench_rawpg.py drain --jobs 20000 --workers 4 --batch-size 100
done 2>/dev/null | grep '^{' >> "$results"
python3 - "$results" <<'EOF'
import json, statistics, sys
from collections import defaultdict
groups = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    skip = {"ts", "seconds", "rate", "n", "max_ms", "p50_ms", "p95_ms"}
    key = tuple((k, v) for k, v in r.items() if k not in skip)
    groups[key].append(r)
for key, rows in sorted(groups.items(), key=lambda kv: str(kv[0])):
    if "rate" in rows[0]:
        print(key, "median rate", round(statistics.median(r["rate"] for r in rows)))
    else:
        fields = [k for k in rows[0] if k.startswith("p")]
        print(key, {k: round(statistics.median(r[k] for r in rows), 2) for k in fields})
EOF
rm -f "$results"

# The drain ratio, interleaved: five pairs of (raw ceiling 4 × 100, BankSync 4 × 100) run back
# to back, so both sides of each ratio see the same machine state (raw drains alone moved
# between 33k and 50k within minutes on this shared machine).
echo "## Drain vs the raw ceiling, interleaved (5 pairs)"
pairs=$(mktemp)
for pair in 1 2 3 4 5; do
  raw=$($PY bench_rawpg.py drain --jobs 20000 --workers 4 --batch-size 100 2>/dev/null | grep '^{' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["rate"])')
  ours=$("$BIN" bench queue --runs 1 --phase drain --workers 4 --skip-sqlite \
    --postgres-url "$PG_BASE/qbench?sslmode=disable" 2>/dev/null | grep '| drain (' | awk -F'|' '{print $5}' | tr -d ' ')
  echo "$raw $ours" | tee -a "$pairs"
done
python3 - "$pairs" <<'EOF2'
import statistics, sys
pairs = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
ratios = [ours / raw for raw, ours in pairs]
print("raw", round(statistics.median(r for r, _ in pairs)), "BankSync", round(statistics.median(o for _, o in pairs)),
      "median ratio", f"{statistics.median(ratios):.2f}", "ratios", [f"{x:.2f}" for x in ratios])
EOF2
rm -f "$pairs"

