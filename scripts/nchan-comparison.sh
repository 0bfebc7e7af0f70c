#!/usr/bin/env bash
# relay-gateway against nchan on this machine, with the same load generator: a release gateway on
# examples/bench.yaml and nginx + nchan on benchmarks/nchan.conf, both over loopback, each bench
# run alternating between the two servers. Prints one JSON line per run, with a "target" field.
# Needs nginx and its nchan module (Debian: apt-get install nginx-light libnginx-mod-nchan).
# Usage: scripts/nchan-comparison.sh [quick]        (benchmarks/JOURNAL.md, "Against nchan")
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >&2
BIN=.build/release/relay-gateway
RELAY=${RELAY_PORT:-8000}
NCHAN=8300
SCRATCH=$(mktemp -d)
ulimit -n 20000
RELAY_PORT=$RELAY $BIN serve --config examples/bench.yaml --log-level warning >&2 &
SERVER=$!
nginx -p "$SCRATCH" -c "$PWD/benchmarks/nchan.conf" >&2 &
NGINX=$!
trap 'kill $SERVER $NGINX 2>/dev/null || true; sleep 0.5; rm -rf "$SCRATCH"' EXIT
for _ in $(seq 50); do
    curl -s "http://127.0.0.1:$RELAY/health" >/dev/null && curl -s -o /dev/null -X POST "http://127.0.0.1:$NCHAN/pub/probe" && break
    sleep 0.1
done
WORKERS=$(pgrep -d, -P $NGINX)

both() {
    $BIN bench --url "http://127.0.0.1:$RELAY" --server-pid "$SERVER" --json "$@" | sed 's/^{/{"target":"relay",/'
    $BIN bench --target nchan --url "http://127.0.0.1:$NCHAN" --server-pid "$WORKERS" --json "$@" | sed 's/^{/{"target":"nchan",/'
}

RUNS=3
[ "${1:-}" = quick ] && RUNS=1
for _ in $(seq $RUNS); do
    both --scenario fanout --subscribers 1000 --publishes 2000 --in-flight 4
    both --scenario rate --subscribers 1000 --rate 100 --duration 10
    both --scenario publish --publishes 20000 --in-flight 4
    both --scenario fanout --subscribers 100 --publishes 20000
    both --scenario fanout --subscribers 10000 --publishes 200
    both --scenario fanout --subscribers 1000 --topics 100 --publishes 20000
done
