#!/usr/bin/env bash
# Server CPU (utime + stime from /proc) per request under wrk -t2 -c16, for GET /health and
# POST /publish (no subscribers), alternating builds in each round, fresh servers:
#   BASE=/path/to/old/relay-gateway NEW=.build/release/relay-gateway ROUNDS=5 benchmarks/request-cost/run.sh
# and, with the NEW build only, publish behind `auth` (a static token) and behind `jwt` (HS256, RS256):
#   FILTERS=1 NEW=.build/release/relay-gateway ROUNDS=5 benchmarks/request-cost/run.sh
set -uo pipefail
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cd "$(dirname "$0")/../.."
: "${NEW:=.build/release/relay-gateway}"
here=benchmarks/request-cost
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# µs of server CPU per request for `wrk ARGS`, against pid $1
measure() {
    local pid=$1; shift
    local before after output requests
    before=$(cpu "$pid")
    output=$(wrk -t2 -c16 -d"${SECONDS_PER_RUN:-3}"s "$@")
    after=$(cpu "$pid")
    requests=$(echo "$output" | awk '/requests in/ {print $1}')
    awk -v b="$before" -v a="$after" -v r="$requests" -v t="$ticks" 'BEGIN { printf "%.1f", (a - b) / t * 1e6 / r }'
    # Answers that were not 2xx measured refusals, not the path: marked with "(refused!)".
    echo "$output" | grep -q "Non-2xx" && printf " (refused!)"
}
start() {  # start BINARY CONFIG: serves on 8710, prints its pid
    SECRET=$SECRET RELAY_PORT=8710 "$1" serve --config "$2" >/dev/null 2>&1 &
    local pid=$!
    for _ in $(seq 50); do curl -s localhost:8710/health >/dev/null && break; sleep 0.1; done
    echo "$pid"
}

export SECRET=bench-secret-0123456789abcdef-0123456789abcdef
if [ -n "${FILTERS:-}" ]; then
    b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
    header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
    payload=$(printf '{"sub":"backend","scope":"publish","iss":"bench","aud":"relay","exp":%d}' $(( $(date +%s) + 86400 )) | b64url)
    jwt="$header.$payload.$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$SECRET" -binary | b64url)"
    # An RSA key made now, for RS256 (none is committed).
    keys=$(mktemp -d)
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$keys/rsa.key" 2>/dev/null
    openssl pkey -in "$keys/rsa.key" -pubout -out "$keys/rsa.pub.pem"
    export JWT_PUBLIC_KEY=$keys/rsa.pub.pem
    rsheader=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
    rsjwt="$rsheader.$payload.$(printf '%s.%s' "$rsheader" "$payload" | openssl dgst -sha256 -sign "$keys/rsa.key" -binary | b64url)"
    echo "# POST /publish, server CPU per request (us): no filter | auth (static token) | jwt HS256 | jwt RS256 (each jwt with iss, aud, scope)"
    for round in $(seq "${ROUNDS:-3}"); do
        pid=$(start "$NEW" examples/bench.yaml); none=$(measure "$pid" -s $here/publish.lua http://127.0.0.1:8710/publish); kill "$pid"; wait "$pid" 2>/dev/null
        pid=$(start "$NEW" $here/auth.yaml); auth=$(TOKEN=$SECRET measure "$pid" -s $here/publish.lua http://127.0.0.1:8710/publish); kill "$pid"; wait "$pid" 2>/dev/null
        pid=$(start "$NEW" $here/jwt.yaml); hs=$(TOKEN=$jwt measure "$pid" -s $here/publish.lua http://127.0.0.1:8710/publish); kill "$pid"; wait "$pid" 2>/dev/null
        pid=$(start "$NEW" $here/jwt-rs256.yaml); rs=$(TOKEN=$rsjwt measure "$pid" -s $here/publish.lua http://127.0.0.1:8710/publish); kill "$pid"; wait "$pid" 2>/dev/null
        echo "round $round: none $none | auth $auth | jwt HS256 $hs | jwt RS256 $rs"
    done
    exit 0
fi
: "${BASE:?set BASE to the older relay-gateway}"
echo "# wrk -t2 -c16, server CPU per request (us), alternating; base = $BASE, new = $NEW"
for round in $(seq "${ROUNDS:-3}"); do
    line="round $round:"
    for build in base new; do
        bin=$NEW; [ "$build" = base ] && bin=$BASE
        pid=$(start "$bin" examples/bench.yaml)
        health=$(measure "$pid" http://127.0.0.1:8710/health)
        publish=$(measure "$pid" -s $here/publish.lua http://127.0.0.1:8710/publish)
        kill "$pid"; wait "$pid" 2>/dev/null
        line="$line $build health $health publish $publish |"
    done
    echo "$line"
done
