#!/usr/bin/env bash
# The REST path, connecting and addressed delivery against the peers, on this machine, one
# load generator: this build on examples/bench.yaml and on config/relay.yaml (access log on),
# optionally a previous build (BEFORE=/path/to/relay-gateway, the same two configs), the seed's
# design in Go (benchmarks/go-seed: net/http + gorilla/websocket) and nginx + nchan (publish).
# Every measurement runs on each server in turn, RUNS times (default 3): one JSON line each,
# with "target" and "tool" ("bench": relay-gateway bench; "wrk": 16 connections for 5 s, server
# CPU read from /proc). Output goes to stdout; progress to stderr. (benchmarks/JOURNAL.md, "The edge")
#   Debian: apt-get install wrk golang-go golang-github-gorilla-websocket-dev nginx-light libnginx-mod-nchan
#   usage: BEFORE=/tmp/before/.build/release/relay-gateway scripts/peer-comparison.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
swift build -c release >&2
BIN=.build/release/relay-gateway
SCRATCH=$(mktemp -d)
ulimit -n 20000
GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="$SCRATCH/gocache" go build -o "$SCRATCH/go-seed" benchmarks/go-seed/main.go

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; sleep 0.5; rm -rf "$SCRATCH"' EXIT
declare -A URL PID
start() { # name port command...
    local name=$1 port=$2
    shift 2
    "$@" >"$SCRATCH/$name.log" 2>&1 &
    PIDS+=($!)
    PID[$name]=$!
    URL[$name]="http://127.0.0.1:$port"
}
TARGETS=(relay relay-log)
[ -n "${BEFORE:-}" ] && TARGETS+=(before before-log)
TARGETS+=(go)
# Every round on fresh servers: the seed's design scans every registration per publish, so
# registrations left by an earlier scenario would cost it more each round.
start_all() {
    start relay 8000 env RELAY_PORT=8000 $BIN serve --config examples/bench.yaml
    start relay-log 8010 env RELAY_PORT=8010 $BIN serve --config config/relay.yaml
    if [ -n "${BEFORE:-}" ]; then
        start before 8001 env RELAY_PORT=8001 "$BEFORE" serve --config examples/bench.yaml
        start before-log 8011 env RELAY_PORT=8011 "$BEFORE" serve --config config/relay.yaml
    fi
    start go 8100 "$SCRATCH/go-seed" -addr 127.0.0.1:8100
    start nchan 8300 nginx -p "$SCRATCH" -c "$PWD/benchmarks/nchan.conf"
    for name in "${TARGETS[@]}"; do
        for _ in $(seq 100); do curl -s "${URL[$name]}/health" >/dev/null && break; sleep 0.1; done
    done
    sleep 0.5
    NCHAN_WORKERS=$(pgrep -d, -P "${PID[nchan]}")
}
stop_all() {
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
}

bench() { # target args...
    local name=$1
    shift
    echo "bench $name $*" >&2
    $BIN bench --url "${URL[$name]}" --server-pid "${PID[$name]}" --json "$@" 2>/dev/null | sed "s/^{/{\"target\":\"$name\",\"tool\":\"bench\",/"
}

cpu_ticks() { # pids, comma-separated: utime + stime
    local total=0
    for pid in ${1//,/ }; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo $total
}

wrk_run() { # target scenario url pids [lua]
    local name=$1 scenario=$2 url=$3 pids=$4 lua=${5:-}
    echo "wrk $name $scenario" >&2
    local before after requests
    before=$(cpu_ticks "$pids")
    requests=$(wrk -t2 -c16 -d5s ${lua:+-s "$lua"} "$url" | awk '/requests in/ {print $1}')
    after=$(cpu_ticks "$pids")
    awk -v t="$name" -v s="$scenario" -v r="$requests" -v c=$((after - before)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "{\"target\":\"%s\",\"tool\":\"wrk\",\"scenario\":\"%s\",\"requests\":%d,\"serverCPUMicroseconds\":%.2f}\n", t, s, r, c / hz * 1e6 / r }'
}

cat >"$SCRATCH/publish.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"topic": "bench-nobody", "message": "hello"}'
wrk.headers["Content-Type"] = "application/json"
EOF
cat >"$SCRATCH/nchan.lua" <<'EOF'
wrk.method = "POST"
wrk.body = "hello"
wrk.headers["Accept"] = "application/json"
EOF

for _ in $(seq "$RUNS"); do
    start_all
    for name in "${TARGETS[@]}"; do wrk_run "$name" health "${URL[$name]}/health" "${PID[$name]}"; done
    for name in "${TARGETS[@]}"; do wrk_run "$name" publish "${URL[$name]}/publish" "${PID[$name]}" "$SCRATCH/publish.lua"; done
    wrk_run nchan publish "${URL[nchan]}/pub/bench-nobody" "$NCHAN_WORKERS" "$SCRATCH/nchan.lua"
    for name in "${TARGETS[@]}"; do bench "$name" --scenario health,publish --publishes 20000 --in-flight 16; done
    $BIN bench --target nchan --url "${URL[nchan]}" --server-pid "$NCHAN_WORKERS" --json --scenario publish --publishes 20000 --in-flight 16 2>/dev/null \
        | sed 's/^{/{"target":"nchan","tool":"bench",/'
    for name in "${TARGETS[@]}"; do bench "$name" --scenario fanout --subscribers 1000 --publishes 2000; done
    for name in "${TARGETS[@]}"; do bench "$name" --scenario addressed --subscribers 1000 --publishes 20000 --in-flight 16; done
    for name in "${TARGETS[@]}"; do bench "$name" --scenario connect --subscribers 2000; done
    for name in "${TARGETS[@]}"; do bench "$name" --scenario register --publishes 20000 --in-flight 16; done
    stop_all
done
