#!/usr/bin/env bash
# Two builds side by side with `relay-gateway bench`, alternating, fresh servers each round:
# health, publish, connect and fan-out at 1,000 subscribers; one JSON line per run (with
# "round" and "build"). The NEW binary is also the load generator for both.
#   usage: BASE=/path/to/old/relay-gateway NEW=.build/release/relay-gateway ROUNDS=3 benchmarks/side-by-side.sh
set -uo pipefail
cd "$(dirname "$0")/.."
: "${BASE:?set BASE to the older relay-gateway}" "${NEW:=.build/release/relay-gateway}"
ulimit -n 20000
for round in $(seq "${ROUNDS:-3}"); do
    for build in base new; do
        bin=$NEW; [ "$build" = base ] && bin=$BASE
        RELAY_PORT=8700 "$bin" serve --config examples/bench.yaml >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 50); do curl -s localhost:8700/health >/dev/null && break; sleep 0.1; done
        for scenario in "health --publishes 20000 --in-flight 16" "publish --publishes 20000 --in-flight 16" \
            "connect --subscribers 1000" "fanout --subscribers 1000 --publishes 2000"; do
            # shellcheck disable=SC2086
            "$NEW" bench --url http://127.0.0.1:8700 --server-pid "$pid" --json --scenario $scenario 2>/dev/null \
                | sed "s/^{/{\"round\":$round,\"build\":\"$build\",/"
        done
        kill "$pid"; wait "$pid" 2>/dev/null
    done
done
