#!/usr/bin/env bash
# Failover steps on the pair scripts/with-postgres-ha.sh started (it exports the variables read
# here):
#   pg-ha-ctl.sh kill-primary      SIGKILL the primary's postmaster (a lost machine), then wait
#                                  until its backends have exited and its port is free
#   pg-ha-ctl.sh promote-standby   promote the standby (pg_ctl promote -w): it accepts writes
#   pg-ha-ctl.sh stop-standby      stop the standby at once (pg_ctl stop -m immediate): a lost
#                                  read replica
#   pg-ha-ctl.sh primary-alone     let the primary commit without waiting for a standby
#                                  (synchronous_standby_names = '', reloaded): what an operator
#                                  does knowingly while a lost standby is rebuilt
#   pg-ha-ctl.sh status            print each node's role (primary / standby / down)
set -euo pipefail

: "${SPONDON_PG_HA_PGBIN:?run under scripts/with-postgres-ha.sh}"
: "${SPONDON_PG_HA_PRIMARY_DATA:?}" "${SPONDON_PG_HA_STANDBY_DATA:?}" "${SPONDON_PG_HA_WORK:?}"
read -r -a RUN_AS <<<"${SPONDON_PG_HA_RUN_AS:-}"
pg() { (cd "$SPONDON_PG_HA_WORK" && "${RUN_AS[@]}" "$@"); }

role() {
  local r
  r=$("$SPONDON_PG_HA_PGBIN/psql" -h 127.0.0.1 -p "$1" -U spondon -d postgres -Atc \
    "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END" 2>/dev/null) || r=down
  echo "$r"
}

case "${1:-}" in
  kill-primary)
    pid=$(head -n 1 "$SPONDON_PG_HA_PRIMARY_DATA/postmaster.pid")
    children=$(pgrep -P "$pid" || true)
    kill -KILL "$pid"
    # Its backends and WAL sender notice the postmaster's death and exit by themselves.
    for _ in $(seq 1 100); do
      alive=0
      for c in $pid $children; do
        if kill -0 "$c" 2>/dev/null; then alive=1; fi
      done
      [ "$alive" = 0 ] && break
      sleep 0.05
    done
    if [ "$alive" = 1 ]; then
      # shellcheck disable=SC2086
      kill -KILL $children 2>/dev/null || true
    fi
    ;;
  promote-standby)
    pg "$SPONDON_PG_HA_PGBIN/pg_ctl" -D "$SPONDON_PG_HA_STANDBY_DATA" -w -t 60 promote >/dev/null
    ;;
  stop-standby)
    pg "$SPONDON_PG_HA_PGBIN/pg_ctl" -D "$SPONDON_PG_HA_STANDBY_DATA" -w -t 60 -m immediate stop >/dev/null
    ;;
  primary-alone)
    "$SPONDON_PG_HA_PGBIN/psql" -h 127.0.0.1 -p "${SPONDON_PG_HA_PRIMARY_PORT:?}" -U spondon -d postgres -q \
      -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c "SELECT pg_reload_conf()" >/dev/null
    ;;
  status)
    echo "primary (port ${SPONDON_PG_HA_PRIMARY_PORT:-?}): $(role "${SPONDON_PG_HA_PRIMARY_PORT:-0}")"
    echo "standby (port ${SPONDON_PG_HA_STANDBY_PORT:-?}): $(role "${SPONDON_PG_HA_STANDBY_PORT:-0}")"
    ;;
  *)
    echo "usage: $0 kill-primary|promote-standby|stop-standby|primary-alone|status" >&2
    exit 2
    ;;
esac
