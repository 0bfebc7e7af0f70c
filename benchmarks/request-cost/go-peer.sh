#!/usr/bin/env bash
# Server CPU (utime + stime from /proc) per request under wrk -t2 -c16, for GET /health and
# POST /publish (no subscribers): this build, an older one and the seed's design in Go
# (benchmarks/go-seed), alternating in each round, fresh servers:
#   BASE=/path/to/old/relay-gateway NEW=.build/release/relay-gateway ROUNDS=5 benchmarks/request-cost/go-peer.sh
# Needs wrk, Go and gorilla/websocket (apt-get install wrk golang-go golang-github-gorilla-websocket-dev).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${BASE:?set BASE to the older relay-gateway}" "${NEW:=.build/release/relay-gateway}"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="$SCRATCH/gocache" go build -o "$SCRATCH/go-seed" benchmarks/go-seed/main.go
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() {  # measure PID WRK-ARGS...: µs of server CPU per request
    local pid=$1; shift
    local before after output requests
    before=$(cpu "$pid"); output=$(wrk -t2 -c16 -d3s "$@"); after=$(cpu "$pid")
    requests=$(echo "$output" | awk '/requests in/ {print $1}')
    awk -v b="$before" -v a="$after" -v r="$requests" -v t="$ticks" 'BEGIN { printf "%.1f", (a - b) / t * 1e6 / r }'
    echo "$output" | grep -q "Non-2xx" && printf " (refused!)"
}
for round in $(seq "${ROUNDS:-5}"); do
    line="round $round:"
    for target in new base go; do
        case $target in
            go) "$SCRATCH/go-seed" -addr 127.0.0.1:8710 >/dev/null 2>&1 & ;;
            new) RELAY_PORT=8710 "$NEW" serve --config examples/bench.yaml >/dev/null 2>&1 & ;;
            base) RELAY_PORT=8710 "$BASE" serve --config examples/bench.yaml >/dev/null 2>&1 & ;;
        esac
        pid=$!
        for _ in $(seq 50); do curl -s localhost:8710/health >/dev/null && break; sleep 0.1; done
        line="$line $target health $(measure "$pid" http://127.0.0.1:8710/health)"
        line="$line publish $(measure "$pid" -s benchmarks/request-cost/publish.lua http://127.0.0.1:8710/publish) |"
        kill "$pid"; wait "$pid" 2>/dev/null
    done
    echo "$line"
done
