#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server on 127.0.0.1 and
# SPONDON_TEST_POSTGRES_URL pointing at a fresh database on it.
#   scripts/with-postgres.sh cargo test -p spondon-ledger
# Installs Debian's `postgresql` if missing (needs root), creates a cluster with initdb in a temp
# dir (run as the `postgres` user), starts it on a free port, runs the command, then stops the
# cluster and removes the dir. Exits with the command's status.
set -euo pipefail
# A cargo command given here builds where the other scripts build (scripts/env.sh), not in ./target.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/spondon/target}"

PG_SCRIPT=with-postgres
# shellcheck source=scripts/lib/postgres.sh
. "$(dirname "$0")/lib/postgres.sh"
pg_need_command "$@"
pg_setup_bin
pg_setup_user
pg_setup_work spondon-pg
DATA="$WORK/data"
mkdir -p "$DATA"
pg_own_work
PORT=$(pg_free_port)

cleanup() {
  pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

pg_initdb "$DATA"
# Tests trade durability for speed; SPONDON_PG_DURABLE=1 (benches) keeps PostgreSQL's defaults.
FAST="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${SPONDON_PG_DURABLE:-0}" = 1 ] && FAST=""
pg "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k $WORK $FAST -c max_connections=200" start >/dev/null \
  || { cat "$WORK/server.log" >&2; exit 1; }
pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U spondon spondon_test

export SPONDON_TEST_POSTGRES_URL="postgres://spondon@127.0.0.1:$PORT/spondon_test"
echo "with-postgres: PostgreSQL $(pg_version) on 127.0.0.1:$PORT" >&2

pg_run "$@"
