#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL primary and a streaming-replication standby on
# 127.0.0.1 (two clusters, two free ports), the standby synchronous, so that a commit the primary
# acknowledged is already applied on the standby:
#   scripts/with-postgres-ha.sh env SPONDON_REQUIRE_POSTGRES_HA=1 cargo test -p spondon-peer --test failover
# The standby is a `pg_basebackup -R` clone of the primary streaming through a physical replication
# slot; the primary names it in `synchronous_standby_names` and commits with
# `synchronous_commit = remote_apply` (see docs/operations.md, "High availability", for why).
# Waits until the standby streams as the synchronous standby, runs the command, then stops both
# clusters and removes their directories. Exits with the command's status.
#
# Exported to the command:
#   SPONDON_TEST_POSTGRES_HA_PRIMARY_URL   postgres://… of database spondon_test on the primary
#   SPONDON_TEST_POSTGRES_HA_STANDBY_URL   the same database on the standby (read-only until promoted)
#   SPONDON_PG_HA_CTL                      scripts/pg-ha-ctl.sh: kill-primary | promote-standby | stop-standby | primary-alone | status
#   SPONDON_PG_HA_PGBIN, SPONDON_PG_HA_PRIMARY_DATA, SPONDON_PG_HA_STANDBY_DATA, SPONDON_PG_HA_WORK,
#   SPONDON_PG_HA_RUN_AS (the prefix that runs server tools as the `postgres` user, or empty)
#   SPONDON_PG_HA_PRIMARY_PORT, SPONDON_PG_HA_STANDBY_PORT
# Like scripts/with-postgres.sh, tests trade durability for speed (fsync=off), but replication
# stays synchronous; SPONDON_PG_DURABLE=1 (benches) keeps fsync on, and SPONDON_PG_HA_ASYNC=1
# leaves replication asynchronous (to measure what synchronous replication costs).
set -euo pipefail

PG_SCRIPT=with-postgres-ha
# shellcheck source=scripts/lib/postgres.sh
. "$(dirname "$0")/lib/postgres.sh"
pg_need_command "$@"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
pg_setup_bin
pg_setup_user
pg_setup_work spondon-pgha
PDATA="$WORK/primary"
SDATA="$WORK/standby"
mkdir -p "$PDATA" "$WORK/sock-primary" "$WORK/sock-standby"
pg_own_work
PPORT=$(pg_free_port)
SPORT=$(pg_free_port)
while [ "$SPORT" = "$PPORT" ]; do SPORT=$(pg_free_port); done

cleanup() {
  pg "$PGBIN/pg_ctl" -D "$SDATA" -m immediate -w stop >/dev/null 2>&1 || true
  pg "$PGBIN/pg_ctl" -D "$PDATA" -m immediate -w stop >/dev/null 2>&1 || true
  # A primary killed by the test leaves its backends to exit on their own.
  sleep 0.2
  rm -rf "$WORK"
}
trap cleanup EXIT

pg_initdb "$PDATA"
# initdb's pg_hba.conf already lets 127.0.0.1 connect for replication (trust, tests only).
DURABLE="fsync = off
full_page_writes = off"
[ "${SPONDON_PG_DURABLE:-0}" = 1 ] && DURABLE=""
SYNC="synchronous_standby_names = 'standby1'
synchronous_commit = remote_apply"
[ "${SPONDON_PG_HA_ASYNC:-0}" = 1 ] && SYNC="synchronous_standby_names = ''"
cat >>"$PDATA/postgresql.conf" <<EOF
# scripts/with-postgres-ha.sh
listen_addresses = '127.0.0.1'
max_connections = 200
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
wal_log_hints = on
$DURABLE
EOF
pg "$PGBIN/pg_ctl" -D "$PDATA" -l "$WORK/primary.log" -w -t 60 \
  -o "-p $PPORT -k $WORK/sock-primary" start >/dev/null \
  || { cat "$WORK/primary.log" >&2; exit 1; }
pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PPORT" -U spondon spondon_test

# The standby: a base backup through a new replication slot, with standby.signal and
# primary_conninfo written (-R); it names itself standby1 (application_name) for the primary's
# synchronous_standby_names. Promoted, it runs alone: it names no synchronous standby of its
# own, or every commit would wait for one that is not there (docs/operations.md).
pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PPORT" -U spondon -D "$SDATA" -R -X stream -c fast \
  -C -S standby1 >"$WORK/basebackup.log" 2>&1 \
  || { cat "$WORK/basebackup.log" >&2; exit 1; }
cat >>"$SDATA/postgresql.auto.conf" <<EOF
primary_conninfo = 'host=127.0.0.1 port=$PPORT user=spondon application_name=standby1'
primary_slot_name = 'standby1'
synchronous_standby_names = ''
EOF
pg "$PGBIN/pg_ctl" -D "$SDATA" -l "$WORK/standby.log" -w -t 60 \
  -o "-p $SPORT -k $WORK/sock-standby" start >/dev/null \
  || { cat "$WORK/standby.log" >&2; exit 1; }

# Synchronous from now on (before, with no standby yet, every commit would wait forever).
printf '%s\n' "$SYNC" >>"$PDATA/postgresql.conf"
pg "$PGBIN/pg_ctl" -D "$PDATA" reload >/dev/null
WANT=sync
[ "${SPONDON_PG_HA_ASYNC:-0}" = 1 ] && WANT=async
state=""
for _ in $(seq 1 300); do
  state=$("$PGBIN/psql" -h 127.0.0.1 -p "$PPORT" -U spondon -d postgres -Atc \
    "SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = 'standby1'" 2>/dev/null || true)
  [ "$state" = "streaming $WANT" ] && break
  sleep 0.1
done
if [ "$state" != "streaming $WANT" ]; then
  echo "with-postgres-ha: the standby does not stream (state: '${state}')" >&2
  cat "$WORK/standby.log" >&2
  exit 1
fi

export SPONDON_TEST_POSTGRES_HA_PRIMARY_URL="postgres://spondon@127.0.0.1:$PPORT/spondon_test"
export SPONDON_TEST_POSTGRES_HA_STANDBY_URL="postgres://spondon@127.0.0.1:$SPORT/spondon_test"
export SPONDON_PG_HA_CTL="$ROOT/scripts/pg-ha-ctl.sh"
export SPONDON_PG_HA_PGBIN="$PGBIN"
export SPONDON_PG_HA_PRIMARY_DATA="$PDATA"
export SPONDON_PG_HA_STANDBY_DATA="$SDATA"
export SPONDON_PG_HA_WORK="$WORK"
export SPONDON_PG_HA_RUN_AS="${RUN_AS[*]}"
export SPONDON_PG_HA_PRIMARY_PORT="$PPORT"
export SPONDON_PG_HA_STANDBY_PORT="$SPORT"
echo "with-postgres-ha: PostgreSQL $(pg_version) primary on 127.0.0.1:$PPORT, standby ($WANT) on 127.0.0.1:$SPORT" >&2

pg_run "$@"
