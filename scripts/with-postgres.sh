#!/usr/bin/env bash
# scripts/with-postgres.sh COMMAND...: runs COMMAND with
# OUTREACH_TEST_POSTGRES_URL naming a PostgreSQL server. One already named
# is used as it is; otherwise a throwaway cluster is started from Debian's
# packages (as the `postgres` user when run as root, on a free port, in a
# temporary directory) and removed when COMMAND ends, however it ends.
# Tests create a database of their own on it for each test.
set -euo pipefail

if [ -n "${OUTREACH_TEST_POSTGRES_URL:-}" ]; then
  exec "$@"
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "PostgreSQL is not installed: run scripts/bootstrap.sh test, or set OUTREACH_TEST_POSTGRES_URL" >&2
  exit 1
fi

# initdb refuses to run as root: root runs the cluster as `postgres`.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  as_owner=(runuser -u postgres --)
fi

# Not under a private parent: the cluster's owner must reach it.
dir=$(mktemp -d /tmp/outreach-pg.XXXXXX)
chmod 0755 "$dir"
[ "$(id -u)" -ne 0 ] || chown postgres "$dir"

stop_cluster="${as_owner[*]} $bin/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1; rm -rf $dir"
cleanup() {
  bash -c "$stop_cluster" || true
}
trap cleanup EXIT
trap "exit 130" INT TERM
# Killed outright (Playwright stops its web servers with SIGKILL), this
# script runs no trap: a watchdog in a session of its own removes the
# cluster once the script has gone.
setsid bash -c "while kill -0 $$ 2>/dev/null; do sleep 1; done; $stop_cluster" \
  </dev/null >/dev/null 2>&1 &

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

# Durability off by default: the cluster is thrown away afterwards.
# Benchmarks set WITH_POSTGRES_SETTINGS to what a real installation runs.
settings=${WITH_POSTGRES_SETTINGS:--c fsync=off -c synchronous_commit=off -c full_page_writes=off}

# A free port: the first of a few random ones nothing listens on, and
# PostgreSQL itself refuses to start on one taken meanwhile.
started=""
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 30000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
  if "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 $settings" \
    start >/dev/null; then
    started=yes
    break
  fi
done
if [ -z "$started" ]; then
  echo "could not start a PostgreSQL cluster; its log:" >&2
  cat "$dir/server.log" >&2 || true
  exit 1
fi

export OUTREACH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$bin/postgres" --version | awk '{ print $3 }') for the tests at $OUTREACH_TEST_POSTGRES_URL"
status=0
"$@" || status=$?
exit "$status"
