#!/usr/bin/env bash
# The cluster figures in BENCHMARKS.md: three release gateways on examples/bench-cluster.yaml
# sharing a fresh database on the private PostgreSQL of scripts/postgres-test-instance.sh, and a
# single node on examples/bench.yaml beside them for comparison. One JSON line per run on stdout.
# Usage: scripts/cluster-benchmarks.sh [quick]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >&2
BIN=.build/release/relay-gateway
SERVER_URL=$(scripts/postgres-test-instance.sh start)
DB="relay_bench_$$"
psql "$SERVER_URL" -qc "CREATE DATABASE $DB" >&2
DATABASE_URL="${SERVER_URL%/*}/$DB"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; psql "$SERVER_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >&2 || true' EXIT
for node in 1 2 3; do
    RELAY_PORT=810$node RELAY_NODE_ID=node$node RELAY_DATABASE_URL=$DATABASE_URL \
        $BIN serve --config examples/bench-cluster.yaml --log-level warning >&2 &
    PIDS+=($!)
done
RELAY_PORT=8100 $BIN serve --config examples/bench.yaml --log-level warning >&2 &
SINGLE=$!
PIDS+=($SINGLE)
for port in 8100 8101 8102 8103; do
    for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done

RUNS=3
[ "${1:-}" = quick ] && RUNS=1
NODES=http://127.0.0.1:8102,http://127.0.0.1:8103
for _ in $(seq $RUNS); do
    # Alternate cluster and single node run by run: this machine drifts.
    $BIN bench --url http://127.0.0.1:8101 --nodes $NODES --json --scenario cluster --subscribers 999 --publishes 2000
    $BIN bench --url http://127.0.0.1:8100 --server-pid $SINGLE --json --scenario fanout --subscribers 999 --publishes 2000
    $BIN bench --url http://127.0.0.1:8101 --nodes $NODES --json --scenario cluster-rate --subscribers 999 --rate 100 --duration 10
    $BIN bench --url http://127.0.0.1:8100 --server-pid $SINGLE --json --scenario rate --subscribers 999 --rate 100 --duration 10
    $BIN bench --url http://127.0.0.1:8101 --server-pid "${PIDS[0]}" --json --scenario publish --publishes 5000
done
