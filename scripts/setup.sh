#!/usr/bin/env bash
# Installs what building and testing Spondon needs on Debian 12 with only rustup present.
# Idempotent: a second run checks and returns in about a second.
set -euo pipefail

# dbus, gnome-keyring: a Secret Service for the keychain tests (scripts/with-keyring.sh);
# libdbus-1-dev: the Secret Service client in crates/keystore links libdbus;
# chromium, chromium-driver, fonts-dejavu-core: the verifier page's browser tests (readable
# screenshots);
# poppler-utils: the export tests render the PDF with pdftoppm; zbar-tools (zbarimg): they read
# the printed QR codes back after print-like blur and scaling (with imagemagick's convert);
# curl, jq: the demo talks to the nodes' HTTP APIs;
# libwebkit2gtk-4.1-dev, libgtk-3-dev, librsvg2-dev, libayatana-appindicator3-dev: the Tauri app;
# binaryen (wasm-opt): the app's UI bundle; fonts-noto-core: the UI's bundled fonts' source;
# xvfb, xauth, webkit2gtk-driver (WebKitWebDriver), imagemagick (screenshots of the X display),
# npm (axe-core): the app's end-to-end test;
# python3-venv: Zig from PyPI, the cross C compiler of scripts/check-mobile.sh;
# python3-cryptography: the example lab system (examples/lab-client) the FHIR push tests drive.
APT_PACKAGES=(build-essential pkg-config ca-certificates postgresql dbus gnome-keyring libdbus-1-dev
  chromium chromium-driver fonts-dejavu-core poppler-utils zbar-tools curl jq
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev binaryen fonts-noto-core
  xvfb xauth webkit2gtk-driver imagemagick python3-venv python3-cryptography)
# npm from Debian only where no Node.js is installed (a newer nodejs package brings its own npm).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

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
# tauri-driver: the WebDriver server in front of WebKitWebDriver for the app's end-to-end test.
if ! cargo install --list 2>/dev/null | grep -q '^tauri-driver v2.0.5:'; then
  echo "setup: installing tauri-driver 2.0.5"
  cargo install tauri-driver --version 2.0.5 --locked
fi
# axe-core: the accessibility checks run on every screen of the app in that test.
AXE_DIR="$HOME/.cache/spondon/npm"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] \
  || [ "$(node -p 'require(process.argv[1]).version' "$AXE_DIR/node_modules/axe-core/package.json" 2>/dev/null)" != "4.10.3" ]; then
  echo "setup: installing axe-core 4.10.3"
  mkdir -p "$AXE_DIR"
  npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" axe-core@4.10.3
fi
