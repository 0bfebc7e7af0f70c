#!/usr/bin/env bash
# Addressed delivery, server CPU per delivered message, with a cheap load generator: wrk (C)
# publishes to a random one of 1,000 users, each held by subs.py (Python asyncio), so the load
# generator takes less of the 2 cores than `relay-gateway bench` does. Targets, in turn each
# round: this build, BEFORE (a previous build's binary, optional) and the NIO floor
# (benchmarks/nio-floor: NIO's HTTP decoder, encoder and WebSocket upgrader with nothing else).
#   usage: BEFORE=/tmp/before/.build/release/relay-gateway ROUNDS=5 benchmarks/addressed-floor/run.sh
#   needs: wrk, python3, a release build of this package (swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
HERE=benchmarks/addressed-floor
swift build -c release --package-path benchmarks/nio-floor --scratch-path .build-nio-floor >&2
ulimit -n 20000
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
declare -A PID
start() { # name port command...
    local name=$1 port=$2
    shift 2
    "$@" >/dev/null 2>&1 &
    PIDS+=($!)
    PID[$name]=$!
    PORT[$name]=$port
}
declare -A PORT
TARGETS=(relay)
start relay 8000 env RELAY_PORT=8000 .build/release/relay-gateway serve --config examples/bench.yaml
if [ -n "${BEFORE:-}" ]; then
    TARGETS+=(before)
    start before 8001 env RELAY_PORT=8001 "$BEFORE" serve --config examples/bench.yaml
fi
TARGETS+=(floor)
start floor 8200 .build-nio-floor/release/nio-floor 8200
sleep 2
for name in "${TARGETS[@]}"; do
    python3 $HERE/subs.py 1000 "${PORT[$name]}" >/dev/null 2>&1 &
    PIDS+=($!)
done
sleep 15
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$ROUNDS"); do
    for name in "${TARGETS[@]}"; do
        before=$(ticks "${PID[$name]}")
        requests=$(wrk -t2 -c16 -d3s -s $HERE/addressed.lua "http://127.0.0.1:${PORT[$name]}/publish" | awk '/requests in/ {print $1}')
        after=$(ticks "${PID[$name]}")
        awk -v t="$name" -v r="$round" -v n="$requests" -v c=$((after - before)) -v hz="$hz" \
            'BEGIN { printf "{\"round\":%d,\"target\":\"%s\",\"deliveries\":%d,\"deliveriesPerSecond\":%.0f,\"serverCPUMicroseconds\":%.1f}\n", r, t, n, n / 3, c / hz * 1e6 / n }'
    done
done
