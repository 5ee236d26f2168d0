#!/usr/bin/env bash
# Runs a command inside a private D-Bus session bus that has an unlocked GNOME Keyring on it, so
# that the Secret Service (org.freedesktop.secrets) is reachable as on a desktop:
#   scripts/with-keyring.sh cargo test -p spondon-keystore
# The keyring lives in a throwaway directory (XDG_DATA_HOME, XDG_RUNTIME_DIR) with the fixed test
# password "spondon-test"; nothing of the user's own keyrings is touched. Installs Debian's `dbus`
# and `gnome-keyring` if missing (needs root). Exits with the command's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [ -z "${SPONDON_KEYRING_INNER:-}" ]; then
  if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1 \
    || ! command -v dbus-send >/dev/null 2>&1; then
    echo "with-keyring: installing Debian dbus and gnome-keyring" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends dbus gnome-keyring >&2
  fi
  WORK=$(mktemp -d /tmp/spondon-keyring.XXXXXX)
  chmod 700 "$WORK"
  mkdir -p "$WORK/data" "$WORK/runtime"
  chmod 700 "$WORK/runtime"
  set +e
  SPONDON_KEYRING_INNER="$WORK" XDG_DATA_HOME="$WORK/data" XDG_RUNTIME_DIR="$WORK/runtime" \
    dbus-run-session -- "$0" "$@"
  STATUS=$?
  set -e
  rm -rf "$WORK"
  exit "$STATUS"
fi

# Inside the private session bus.
WORK="$SPONDON_KEYRING_INNER"
unset SPONDON_KEYRING_INNER

# --unlock reads the password from stdin and creates the login keyring (the default collection)
# with it if there is none.
printf 'spondon-test' | gnome-keyring-daemon --foreground --unlock --components=secrets \
  >"$WORK/daemon.out" 2>"$WORK/daemon.log" &
DAEMON=$!
cleanup() { kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; }
trap cleanup EXIT

has_owner() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}
for _ in $(seq 1 100); do
  has_owner && break
  if ! kill -0 "$DAEMON" 2>/dev/null; then
    echo "with-keyring: gnome-keyring-daemon exited:" >&2
    cat "$WORK/daemon.log" >&2
    exit 1
  fi
  sleep 0.1
done
if ! has_owner; then
  echo "with-keyring: the Secret Service did not appear on the session bus:" >&2
  cat "$WORK/daemon.log" >&2
  exit 1
fi
# The daemon prints its control socket as GNOME_KEYRING_CONTROL=...; export what it printed.
while IFS='=' read -r key value; do
  [ -n "$key" ] && [ -n "$value" ] && export "$key=$value"
done <"$WORK/daemon.out"
echo "with-keyring: GNOME Keyring $(gnome-keyring-daemon --version | head -n 1 | awk '{print $2}') on a private D-Bus session" >&2

set +e
"$@"
STATUS=$?
set -e
exit "$STATUS"
