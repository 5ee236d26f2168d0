# Shared by scripts/with-postgres.sh and scripts/with-postgres-ha.sh (sourced, not run): finding or
# installing Debian's PostgreSQL, running its server tools as the `postgres` user, a work
# directory, free ports, and running the command with its exit status.
# Each script sets PG_SCRIPT (its name, for messages) before sourcing this file.

# Fails with the usage line when no command is given: pg_need_command "$@".
pg_need_command() {
  if [ "$#" -eq 0 ]; then
    echo "usage: $PG_SCRIPT COMMAND [ARGS...]" >&2
    exit 2
  fi
}

# The newest /usr/lib/postgresql/*/bin with initdb and pg_basebackup, or nothing.
pg_find_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_basebackup" ]; then echo "$d"; fi
}

# Sets PGBIN, installing Debian's `postgresql` first if it is missing (needs root).
pg_setup_bin() {
  PGBIN=$(pg_find_bin)
  if [ -z "$PGBIN" ]; then
    echo "$PG_SCRIPT: installing Debian postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    PGBIN=$(pg_find_bin)
  fi
  if [ -z "$PGBIN" ]; then
    echo "$PG_SCRIPT: initdb/pg_basebackup not found after installing postgresql" >&2
    exit 1
  fi
}

# Sets RUN_AS: as root, the prefix that runs the server tools as `postgres` (created if missing);
# otherwise empty.
pg_setup_user() {
  RUN_AS=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    RUN_AS=(runuser -u postgres --)
  fi
}

# Runs a server tool as RUN_AS, from WORK (a directory the postgres user can read).
pg() { (cd "$WORK" && "${RUN_AS[@]}" "$@"); }

# Sets WORK: a fresh directory under /tmp named after PREFIX, readable by the postgres user.
pg_setup_work() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$WORK"
}

# Gives WORK (and what was made in it) to the postgres user when running as root.
pg_own_work() {
  if [ "${#RUN_AS[@]}" -gt 0 ]; then chown -R postgres "$WORK"; fi
}

# A TCP port free on 127.0.0.1 now.
pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000))
}

# initdb of DIR (user spondon, trust, UTF-8), its log in WORK/initdb.log shown if it fails.
pg_initdb() {
  pg "$PGBIN/initdb" -D "$1" -U spondon --auth=trust -E UTF8 >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; exit 1; }
}

# The server's version, for the banner.
pg_version() {
  "$PGBIN/postgres" --version | awk '{print $3}'
}

# Runs the command and exits with its status (the EXIT trap then cleans up).
pg_run() {
  local status
  set +e
  "$@"
  status=$?
  set -e
  exit "$status"
}
