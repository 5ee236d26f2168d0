#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on 127.0.0.1 and
# SPONDON_TEST_POSTGRES_URL pointing at a fresh database on it.
#   scripts/with-postgres.sh cargo test -p spondon-ledger
# Installs Debian's `postgresql` if missing (needs root), creates a cluster with initdb in a temp
# dir (run as the `postgres` user), starts it on a free port, runs the command, then stops the
# cluster and removes the dir. Exits with the command's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

find_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; fi
}

PGBIN=$(find_bin)
if [ -z "$PGBIN" ]; then
  echo "with-postgres: installing Debian postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  PGBIN=$(find_bin)
fi
if [ -z "$PGBIN" ]; then
  echo "with-postgres: initdb not found after installing postgresql" >&2
  exit 1
fi

RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  RUN_AS=(runuser -u postgres --)
fi
# Run the server tools from a directory the postgres user can read.
pg() { (cd "$WORK" && "${RUN_AS[@]}" "$@"); }

WORK=$(mktemp -d /tmp/spondon-pg.XXXXXX)
chmod 755 "$WORK"
DATA="$WORK/data"
mkdir -p "$DATA"
[ "${#RUN_AS[@]}" -gt 0 ] && chown -R postgres "$WORK"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)))

cleanup() {
  pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pg "$PGBIN/initdb" -D "$DATA" -U spondon --auth=trust -E UTF8 >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; exit 1; }
# Tests trade durability for speed; SPONDON_PG_DURABLE=1 (benches) keeps PostgreSQL's defaults.
FAST="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${SPONDON_PG_DURABLE:-0}" = 1 ] && FAST=""
pg "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k $WORK $FAST -c max_connections=200" start >/dev/null \
  || { cat "$WORK/server.log" >&2; exit 1; }
pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U spondon spondon_test

export SPONDON_TEST_POSTGRES_URL="postgres://spondon@127.0.0.1:$PORT/spondon_test"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

set +e
"$@"
STATUS=$?
set -e
exit "$STATUS"
