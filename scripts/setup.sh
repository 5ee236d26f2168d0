#!/usr/bin/env bash
# Installs what building and testing Spondon needs on Debian 12 with only rustup present.
# Idempotent: a second run checks and returns in about a second.
set -euo pipefail

# dbus, gnome-keyring: a Secret Service for the keychain tests (scripts/with-keyring.sh);
# libdbus-1-dev: the Secret Service client in crates/keystore links libdbus;
# chromium, chromium-driver, fonts-dejavu-core: the verifier page's browser tests (readable
# screenshots);
# poppler-utils: the export tests render the PDF with pdftoppm;
# curl, jq: the demo talks to the nodes' HTTP APIs.
APT_PACKAGES=(build-essential pkg-config ca-certificates postgresql dbus gnome-keyring libdbus-1-dev
  chromium chromium-driver fonts-dejavu-core poppler-utils curl jq)

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
# The verifier page's WebAssembly QR decoder (scripts/build-qr-wasm.sh).
rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen 0.2.130" ]; then
  echo "setup: installing wasm-bindgen-cli 0.2.130"
  cargo install wasm-bindgen-cli --version 0.2.130
fi
