#!/usr/bin/env bash
# Instructions the server executes per request (valgrind's callgrind: counts, not seconds, so
# steady on a noisy VM), for GET /health and POST /publish (no subscribers), two builds:
# each server runs under callgrind for N1 and then N2 requests of `bench`, and the difference
# of the totals over N2 - N1 is the cost of one request (start-up and shutdown cancel out).
#   BASE=/path/to/old/relay-gateway NEW=.build/release/relay-gateway [SCENARIOS=publish] benchmarks/request-cost/callgrind.sh
set -uo pipefail
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
cd "$(dirname "$0")/../.."
: "${BASE:?set BASE to the older relay-gateway}" "${NEW:=.build/release/relay-gateway}"
N1=${N1:-1000}
N2=${N2:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read the DWARF 5 debug info Swift writes (copies without it), and its
# rt_sigsuspend wrapper writes to the mask it is given, which libdispatch keeps read-only: a
# preloaded sigsuspend hands it a writable copy.
cat > "$work/shim.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return syscall(SYS_rt_sigsuspend, &copy, 8); }
C
gcc -shared -fPIC -o "$work/shim.so" "$work/shim.c"
objcopy --strip-debug "$BASE" "$work/base"
objcopy --strip-debug "$NEW" "$work/new"
# total BUILD SCENARIO COUNT: instructions of a whole server run serving COUNT requests
total() {
    local out="$work/$1-$2-$3.out" pid
    RELAY_PORT=8790 LD_PRELOAD="$work/shim.so" valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$work/$1" serve --config examples/bench.yaml >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 120); do curl -s -m 2 127.0.0.1:8790/health >/dev/null && break; sleep 1; done
    "$NEW" bench --url http://127.0.0.1:8790 --scenario "$2" --publishes "$3" --in-flight 4 --health-path "" >/dev/null 2>&1 \
        || echo "bench failed" >&2
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}
for scenario in ${SCENARIOS:-health publish}; do
    line="$scenario:"
    for build in base new; do
        a=$(total $build $scenario "$N1"); b=$(total $build $scenario "$N2")
        line="$line $build $(( (b - a) / (N2 - N1) ))"
    done
    echo "$line instructions per request"
done
