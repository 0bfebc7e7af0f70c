#!/usr/bin/env bash
# Runs the measurements recorded in BENCHMARKS.md: a release gateway on examples/bench.yaml and
# `relay-gateway bench` against it over loopback. Prints one JSON line per run to stdout.
# Usage: scripts/benchmarks.sh [quick]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >&2
BIN=.build/release/relay-gateway
PORT=${RELAY_PORT:-8000}
RELAY_PORT=$PORT $BIN serve --config examples/bench.yaml --log-level warning >&2 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

bench() { $BIN bench --url "http://127.0.0.1:$PORT" --server-pid "$SERVER" --json "$@"; }

RUNS=3
[ "${1:-}" = quick ] && RUNS=1
bench --scenario fanout --subscribers 1000 --publishes 2000 --in-flight 4 --runs $RUNS
bench --scenario publish --publishes 20000 --in-flight 4 --runs $RUNS
bench --scenario rate --subscribers 1000 --rate 100 --duration 10 --runs $RUNS
bench --scenario idle --subscribers 10000 --runs $RUNS
# Scaling: CPU per delivery with 100 and 10,000 subscribers, and with 100 and 1,000 topics.
bench --scenario fanout --subscribers 100 --publishes 20000 --runs $RUNS
bench --scenario fanout --subscribers 10000 --publishes 200 --runs $RUNS
bench --scenario fanout --subscribers 1000 --topics 100 --publishes 20000 --runs $RUNS
bench --scenario fanout --subscribers 10000 --topics 10000 --publishes 20000 --runs $RUNS
