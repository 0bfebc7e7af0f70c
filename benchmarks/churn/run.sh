#!/usr/bin/env bash
# Memory kept by connections that come and go: a fresh server (registration_ttl 1s) takes ROUNDS
# rounds of `bench --scenario connect --subscribers 2000` over WebSockets, then the same over
# Server-Sent Events (--events-path), each round's connections closed and registrations expired
# before its resident memory is read. Prints VmRSS after each round and the growth from the
# first, per build; builds alternate when BASE is set:
#   NEW=.build/release/relay-gateway ROUNDS=10 benchmarks/churn/run.sh
#   BASE=/path/to/old/relay-gateway NEW=.build/release/relay-gateway benchmarks/churn/run.sh
# (BASE needs no --events-path: its rounds are WebSockets only.)
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${NEW:=.build/release/relay-gateway}"
ulimit -n 20000
config=$(mktemp --suffix=.yaml)
trap 'rm -f "$config"' EXIT
cat > "$config" <<'YAML'
relay: {registration_ttl: 1s}
listeners:
  - host: 127.0.0.1
    port: 8711
    routes:
      - {path: /health, method: GET, handler: health}
      - {path: /register, method: POST, handler: register}
      - {path: "/ws/{client_id}", handler: subscribe}
      - {path: "/events/{client_id}", handler: events}
YAML
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# run BINARY LABEL [bench options]: one fresh server, ROUNDS rounds
run() {
    local binary=$1 label=$2; shift 2
    "$binary" serve --config "$config" >/dev/null 2>&1 &
    local pid=$! first="" line="$label:"
    for _ in $(seq 50); do curl -s localhost:8711/health >/dev/null && break; sleep 0.1; done
    for round in $(seq "${ROUNDS:-10}"); do
        "$binary" bench --url http://127.0.0.1:8711 --scenario connect --subscribers 2000 "$@" >/dev/null 2>&1 || echo "bench failed" >&2
        until curl -s localhost:8711/health | grep -q '"connections":0,"registrations":0'; do sleep 0.2; done
        local now; now=$(rss "$pid")
        [ -n "$first" ] || first=$now
        line="$line $((now / 1024))"
    done
    echo "$line MB; growth after the first round: $(( (now - first) )) KiB over $(( (${ROUNDS:-10} - 1) * 2000 )) connections"
    kill "$pid"; wait "$pid" 2>/dev/null
}
for pass in $(seq "${PASSES:-1}"); do
    [ -n "${BASE:-}" ] && run "$BASE" "base websocket"
    run "$NEW" "new websocket"
    [ -n "${BASE:-}" ] || run "$NEW" "new event-stream" --events-path /events
done
