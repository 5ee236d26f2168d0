#!/usr/bin/env bash
# The wallet app's end-to-end test: the release-built app (scripts/build-app.sh) in a real window
# under Xvfb, driven over WebDriver (tauri-driver + Debian's WebKitWebDriver), with its keys in a
# real Secret Service (GNOME Keyring, scripts/with-keyring.sh), against the demo's world
# (scripts/world.sh: authority, two peers, a clinic node). It walks the patient's whole story and
# saves a screenshot of every screen at 1280×800 and 390×844, in English and in Bangla, with
# axe-core run on each, to $SPONDON_E2E_ARTIFACTS (default: $CARGO_TARGET_DIR/artifacts/app).
# scripts/bench-app.sh runs the app's benchmark (tests/bench.rs) in the same set-up.
#   scripts/e2e-app.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

if [ -z "${SPONDON_KEYRING_INNER_DONE:-}" ]; then
  # Run the rest inside a private D-Bus session with GNOME Keyring (the app's OS keychain).
  exec scripts/with-keyring.sh env SPONDON_KEYRING_INNER_DONE=1 "$0" "$@"
fi

cargo build -q --locked -p spondon-authority -p spondon-peer -p spondon-wallet -p spondon-verifier
APP="$(scripts/build-app.sh | tail -n 1)"
BIN="$CARGO_TARGET_DIR/debug"
OUT="$(mktemp -d -t spondon-e2e.XXXXXX)"
mkdir -p "$OUT/logs"
ART="${SPONDON_E2E_ARTIFACTS:-$CARGO_TARGET_DIR/artifacts/app}"
rm -rf "$ART"
mkdir -p "$ART"

source scripts/world.sh
XVFB_PID=""
DRIVER_PID=""
stop_all() {
  [ -n "$DRIVER_PID" ] && kill "$DRIVER_PID" 2>/dev/null
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null
  world_stop
  if [ -z "${SPONDON_E2E_KEEP:-}" ]; then rm -rf "$OUT"; else echo "e2e: outputs kept in $OUT"; fi
}
trap stop_all EXIT
world_start >"$OUT/logs/world.txt"
world_env "$OUT/world.env"
if [ -n "${SPONDON_E2E_BENCH_RECORDS:-}" ]; then
  echo "e2e: issuing $SPONDON_E2E_BENCH_RECORDS more records to the patient ..."
  world_bulk_records "$SPONDON_E2E_BENCH_RECORDS"
fi

# A display for the window: the first free one from :90.
d=90
while [ -e "/tmp/.X11-unix/X$d" ] || [ -e "/tmp/.X$d-lock" ]; do d=$((d + 1)); done
Xvfb ":$d" -screen 0 1400x900x24 -nolisten tcp >"$OUT/logs/xvfb.log" 2>&1 &
XVFB_PID=$!
export DISPLAY=":$d"
for _ in $(seq 1 100); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.1; done

PORT=$(free_port 4444)
NATIVE=$(free_port $((PORT + 1)))
# WebKitGTK under Xvfb: no GPU, no DMA-BUF renderer.
export WEBKIT_DISABLE_DMABUF_RENDERER=1 WEBKIT_DISABLE_COMPOSITING_MODE=1 GDK_BACKEND=x11 LIBGL_ALWAYS_SOFTWARE=1
# What the app reads (inherited through tauri-driver and WebKitWebDriver).
export SPONDON_WALLET_DIR="$OUT/wallet" SPONDON_EXPORT_DIR="$OUT/exports"
export SPONDON_TRUST_LIST="$OUT/trust-list.txt" SPONDON_ROOT_KEY="$ROOT"
export SPONDON_PEER_ENDPOINTS="${URL[dmch]}=${ADDR[dmch]},${URL[labaid]}=${ADDR[labaid]}"
mkdir -p "$SPONDON_EXPORT_DIR"
tauri-driver --port "$PORT" --native-port "$NATIVE" >"$OUT/logs/tauri-driver.log" 2>&1 &
DRIVER_PID=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/status" 2>/dev/null && break; sleep 0.1; done

set +e
SPONDON_E2E_WORLD="$OUT/world.env" SPONDON_E2E_APP="$APP" SPONDON_E2E_DRIVER="http://127.0.0.1:$PORT" \
  SPONDON_E2E_ARTIFACTS="$ART" SPONDON_E2E_AXE="$HOME/.cache/spondon/npm/node_modules/axe-core/axe.min.js" \
  SPONDON_E2E_VERIFIER="$BIN/spondon-verifier" SPONDON_E2E_SPONDON="$BIN/spondon" SPONDON_REQUIRE_APP_E2E=1 \
  cargo test -q --locked -p spondon-e2e --test "${SPONDON_E2E_TEST:-app}" -- --nocapture
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "e2e: FAILED; the logs:" >&2
  tail -n 30 "$OUT"/logs/*.log >&2 || true
fi
echo "e2e: screenshots in $ART"
exit "$status"
