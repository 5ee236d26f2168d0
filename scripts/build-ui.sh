#!/usr/bin/env bash
# Builds the wallet's Leptos UI (ui/, crate spondon-ui) into ui/dist: the WebAssembly bundle
# (wasm-bindgen --target web, then wasm-opt -Oz when binaryen is installed), index.html, the
# stylesheets, the fonts and the boot module. Offline; no trunk. ui/dist is build output.
#
# Uses its own target directory (SPONDON_UI_TARGET_DIR, default ~/.cache/spondon/target-ui) so it
# never waits on the workspace's build lock. Needs the wasm32 target and wasm-bindgen-cli 0.2.130
# (scripts/setup.sh installs both). Prints the bundle's size, raw and gzip, on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target="${SPONDON_UI_TARGET_DIR:-$HOME/.cache/spondon/target-ui}"
dist="$root/ui/dist"

want="wasm-bindgen 0.2.130"
if [ "$(wasm-bindgen --version 2>/dev/null)" != "$want" ]; then
  echo "build-ui: needs $want (scripts/setup.sh installs it)" >&2
  exit 1
fi

CARGO_TARGET_DIR="$target" \
  cargo build --profile ui-release \
  --target wasm32-unknown-unknown -p spondon-ui --bin spondon-ui

rm -rf "$dist"
mkdir -p "$dist/fonts"
wasm-bindgen --target web --no-typescript --out-dir "$dist" \
  "$target/wasm32-unknown-unknown/ui-release/spondon-ui.wasm"
# wasm-bindgen names the files after the binary: spondon-ui.js / spondon-ui_bg.wasm.
mv "$dist/spondon-ui.js" "$dist/spondon_ui.js"
mv "$dist/spondon-ui_bg.wasm" "$dist/spondon_ui_bg.wasm"
sed -i 's/spondon-ui_bg\.wasm/spondon_ui_bg.wasm/g' "$dist/spondon_ui.js"

# The name section (function names, about 500 KiB) is of no use in the shipped app.
python3 - "$dist/spondon_ui_bg.wasm" <<'PY'
import sys
path = sys.argv[1]
b = open(path, "rb").read()
out, i = bytearray(b[:8]), 8
def leb(i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7F) << s; s += 7
        if x < 0x80:
            return r, i
while i < len(b):
    start = i
    sid = b[i]; n, j = leb(i + 1); end = j + n
    drop = False
    if sid == 0:
        ln, k = leb(j)
        drop = b[k:k + ln] in (b"name", b"producers")
    if not drop:
        out += b[start:end]
    i = end
open(path, "wb").write(bytes(out))
PY

# wasm-opt: binaryen 116 or newer understands wasm-bindgen's externref table; Debian 12's 108
# emits a module that fails to start, so it is skipped there.
wasm_opt_version=$( (wasm-opt --version 2>/dev/null || true) | grep -o '[0-9]\+' | head -1)
if [ -z "$wasm_opt_version" ]; then
  echo "build-ui: wasm-opt not found (Debian package binaryen): skipping the size pass" >&2
elif [ "$wasm_opt_version" -lt 116 ]; then
  echo "build-ui: wasm-opt $wasm_opt_version is older than 116 and breaks externref tables: skipping the size pass" >&2
else
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$dist/spondon_ui_bg.wasm" -o "$dist/spondon_ui_bg.opt.wasm"
  mv "$dist/spondon_ui_bg.opt.wasm" "$dist/spondon_ui_bg.wasm"
fi

cp ui/index.html ui/boot.js ui/assets/style.css ui/assets/icons.css "$dist/"
cp ui/assets/fonts/*.woff2 ui/assets/fonts/OFL.txt "$dist/fonts/"

wasm="$dist/spondon_ui_bg.wasm"
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
js_raw=$(stat -c %s "$dist/spondon_ui.js")
js_gz=$(gzip -9 -c "$dist/spondon_ui.js" | wc -c)
echo "built $dist: wasm $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip; js $((js_raw / 1024)) KiB raw, $((js_gz / 1024)) KiB gzip"
