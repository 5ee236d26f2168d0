#!/usr/bin/env bash
# Builds the web page's fallback QR decoder (crates/qr-wasm, rqrr compiled to WebAssembly) into
# $CARGO_TARGET_DIR/qr-wasm (or target/qr-wasm), where `spondon-verifier serve` finds it next
# to its binary. Nothing generated is committed. Needs the wasm32 target and wasm-bindgen-cli
# 0.2.130 (scripts/setup.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --locked -p spondon-qr-wasm --lib --target wasm32-unknown-unknown --release
wasm-bindgen --target web --no-typescript --out-dir "$target/qr-wasm" \
  "$target/wasm32-unknown-unknown/release/spondon_qr_wasm.wasm"
echo "built $target/qr-wasm"
