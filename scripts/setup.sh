#!/usr/bin/env bash
# Installs what building and testing Spondon needs on Debian 12 with only rustup present.
# Idempotent: a second run checks and returns in about a second.
set -euo pipefail

# dbus, gnome-keyring: a Secret Service for the keychain tests (scripts/with-keyring.sh);
# libdbus-1-dev: the Secret Service client in crates/keystore links libdbus.
APT_PACKAGES=(build-essential pkg-config ca-certificates postgresql dbus gnome-keyring libdbus-1-dev)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
