#!/usr/bin/env bash
# SMART Health Card verification, side by side in one run: spondon-core (Rust, one thread) and
# the Node package kill-the-clipboard (installed from npm into a temporary directory), on the
# same cards signed by the same key. Not part of CI. Usage: scripts/bench-shc-vs-node.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
secs="${1:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --locked --release -p spondon-verifier --example shc-verify-bench
bench="$CARGO_TARGET_DIR/release/examples/shc-verify-bench"
"$bench" prepare "$work/cards" --cards 200

command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed (apt-get install nodejs npm)" >&2; exit 1; }
npm view kill-the-clipboard version >/dev/null
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund kill-the-clipboard@1 >/dev/null)
echo "kill-the-clipboard $(node -p "require('$work/node_modules/kill-the-clipboard/package.json').version"), node $(node --version)"
cat > "$work/bench.mjs" <<'JS'
import { readFileSync } from "node:fs";
import { SHCReader } from "kill-the-clipboard";
const dir = process.argv[2], secs = Number(process.argv[3]);
const cards = readFileSync(`${dir}/cards.txt`, "utf8").trim().split("\n");
const publicKey = JSON.parse(readFileSync(`${dir}/key.jwk`, "utf8"));
const reader = new SHCReader({ publicKey, verifyExpiration: false, strictReferences: false });
for (const c of cards) await reader.fromJWS(c); // all must verify
const start = performance.now(), until = start + secs * 1000;
let n = 0;
while (performance.now() < until) for (const c of cards) { await reader.fromJWS(c); n++; }
const s = (performance.now() - start) / 1000;
console.log(`kill-the-clipboard: ${n} verifications in ${s.toFixed(1)} s = ${(n / s).toFixed(0)} cards/s (1 thread)`);
JS
node_out="$(cd "$work" && node bench.mjs "$work/cards" "$secs")"
rust_out="$("$bench" verify "$work/cards" --secs "$secs")"
echo "$node_out"
echo "$rust_out"
node_rate="$(sed -E 's/.*= ([0-9]+) cards.*/\1/' <<<"$node_out")"
rust_rate="$(sed -E 's/.*= ([0-9]+) cards.*/\1/' <<<"$rust_out")"
echo "ratio: $(awk -v r="$rust_rate" -v n="$node_rate" 'BEGIN { printf "%.1f", r / n }')x"
