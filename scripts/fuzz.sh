#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target for N seconds each (default 20).
# Seeds: fuzz/seeds/<target> (committed); the growing corpus is fuzz/corpus/<target> (ignored).
set -euo pipefail
secs="${1:-20}"
cd "$(dirname "$0")/../fuzz"
cargo +nightly fuzz build
for t in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$t" "seeds/$t"
  echo "== $t (${secs}s)"
  cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 2>&1 \
    | grep -E "^(#[0-9]+ *DONE|Done|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)" || true
done
