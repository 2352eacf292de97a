#!/usr/bin/env bash
# Builds examples/postgres-sink (a package of its own that depends on this checkout by path) with
# every warning as an error, starts a throwaway PostgreSQL server on 127.0.0.1, and runs the
# example's tests against it: the handler's unit tests, the table's idempotent insert, and the
# crash test (a sink killed with SIGKILL mid-run, restarted: one row per event, no duplicate).
# The server lives in a temporary folder, listens on a free port of 127.0.0.1 only, runs as the
# `postgres` user when this script runs as root (PostgreSQL refuses root), and is stopped and
# removed on the way out, whatever happens. Installs Debian's postgresql when missing.
# Arguments go to `swift test` (e.g. --filter SinkRowTests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh postgres
cd examples/postgres-sink
swift build --build-tests \
    -Xswiftc -warnings-as-errors \
    --explicit-target-dependency-import-check error

# The newest installed server's programs: Debian keeps them in /usr/lib/postgresql/VERSION/bin,
# other systems on PATH.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then
    pg_bin=$(dirname "$(command -v initdb)")
fi
as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
    as_server_user=(runuser -u postgres --)
fi

# In /tmp, not $TMPDIR: the server's user must reach it, and a socket's path has at most 107 bytes.
pg_dir=$(mktemp -d /tmp/sluice-postgres.XXXXXX)
stop_server() {
    if [ -f "$pg_dir/data/postmaster.pid" ]; then
        "${as_server_user[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 30 stop >/dev/null || true
    fi
    rm -rf "$pg_dir"
}
trap stop_server EXIT
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$pg_dir"
fi

# A password of its own each run: the sink authenticates as a real deployment would (SCRAM over
# TCP), with the password in PGPASSWORD.
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" >"$pg_dir/password"
"${as_server_user[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U sluice --pwfile="$pg_dir/password" \
    --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --no-sync >"$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log" >&2; exit 1; }
rm "$pg_dir/password"

# A random port, tried again when taken. fsync off: the test crashes the consumer, never the
# server, and a throwaway cluster need not survive a power cut.
port=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
    candidate=$((20000 + RANDOM % 40000))
    log="$pg_dir/server-$candidate.log"
    if "${as_server_user[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $candidate -c unix_socket_directories=$pg_dir -c fsync=off" >/dev/null 2>&1; then
        port=$candidate
        break
    fi
    if ! grep -q 'Address already in use' "$log"; then
        cat "$log" >&2
        exit 1
    fi
    echo "port $candidate is taken; trying another"
done
if [ -z "$port" ]; then
    echo "error: PostgreSQL found no free port on 127.0.0.1" >&2
    exit 1
fi
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $pg_dir)"

POSTGRES_SINK_TEST_HOST=127.0.0.1 POSTGRES_SINK_TEST_PORT=$port POSTGRES_SINK_TEST_USER=sluice \
    POSTGRES_SINK_TEST_DATABASE=postgres PGPASSWORD=$password \
    swift test --skip-build "$@"
