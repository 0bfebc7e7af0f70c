#!/usr/bin/env bash
# Bulk publish with `relay-gateway bench --batch N`: server CPU per message published (publish,
# to a topic nobody follows) and per delivery (fan-out to 1,000 subscribers), with batches of 1,
# 10 and 100 messages per request, rounds alternating, a fresh server each run.
#   usage: BIN=.build/release/relay-gateway ROUNDS=3 benchmarks/batch.sh > raw.jsonl
set -uo pipefail
cd "$(dirname "$0")/.."
: "${BIN:=.build/release/relay-gateway}"
ulimit -n 20000
for round in $(seq "${ROUNDS:-3}"); do
    for batch in 1 10 100; do
        for scenario in "publish --publishes 100000 --in-flight 16" "fanout --subscribers 1000 --publishes 5000"; do
            RELAY_PORT=8700 "$BIN" serve --config examples/bench.yaml >/dev/null 2>&1 &
            pid=$!
            for _ in $(seq 50); do curl -s localhost:8700/health >/dev/null && break; sleep 0.1; done
            # shellcheck disable=SC2086
            "$BIN" bench --url http://127.0.0.1:8700 --server-pid "$pid" --json --batch "$batch" --scenario $scenario 2>/dev/null \
                | sed "s/^{/{\"round\":$round,/"
            kill "$pid"; wait "$pid" 2>/dev/null
        done
    done
done
