#!/usr/bin/env bash
# Builds the wallet app in release mode, offline: the Leptos UI to WebAssembly (scripts/build-ui.sh
# → ui/dist), then the Tauri shell (crate spondon-app) with the UI embedded (tauri's
# custom-protocol feature). Prints the path of the app's binary on its last line.
#   scripts/build-app.sh            # after scripts/setup.sh
#   "$(scripts/build-app.sh | tail -n 1)"   # run it
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

scripts/build-ui.sh >&2
echo "build-app: building the app (release, UI embedded) ..." >&2
cargo build --release --locked --offline -p spondon-app --features tauri/custom-protocol >&2
echo "$CARGO_TARGET_DIR/release/spondon-app"
