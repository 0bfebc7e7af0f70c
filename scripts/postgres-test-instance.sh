#!/usr/bin/env bash
# A private PostgreSQL for the cluster tests: initdb into a temporary folder as the `postgres`
# user, listening only on 127.0.0.1:${RELAY_TEST_PG_PORT:-25432}, trust auth, database relay_test.
#   scripts/postgres-test-instance.sh start    # prints the URL to export as RELAY_TEST_DATABASE_URL
#   scripts/postgres-test-instance.sh restart  # pg_ctl restart (the tests use it too)
#   scripts/postgres-test-instance.sh stop
set -euo pipefail
PORT=${RELAY_TEST_PG_PORT:-25432}
DIR=${RELAY_TEST_PG_DIR:-/tmp/relay-test-pg-$PORT}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
# The server must not keep descriptors this script inherited: a parent that watches for its
# child's exit through one (as Foundation's Process does) would otherwise wait for the server.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
done
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-start}" in
start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
        mkdir -p "$DIR"
        [ "$(id -u)" = 0 ] && chown postgres "$DIR"
        as_postgres "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if ! as_postgres "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
        as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    as_postgres "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'relay_test'" | grep -q 1 \
        || as_postgres "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres relay_test
    echo "postgres://postgres@127.0.0.1:$PORT/relay_test"
    ;;
restart)
    as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -m fast -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" restart >/dev/null
    ;;
stop)
    if [ -f "$DIR/PG_VERSION" ] && as_postgres "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
        as_postgres "$BIN/pg_ctl" -D "$DIR" -w -m fast stop >/dev/null
    fi
    ;;
*)
    echo "usage: $0 start|restart|stop" >&2
    exit 2
    ;;
esac
