#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for N seconds each (default 60).
# Seeds: fuzz/seeds/<target> (committed); the growing corpus is fuzz/corpus/<target> (ignored).
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 600        # a longer campaign
#   scripts/fuzz.sh 30 grant   # one target
# libFuzzer instrumentation needs the nightly toolchain; without it the targets are only built
# (on stable, as plain binaries) and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
secs="${1:-60}"
only="${2:-}"
CARGO_FUZZ_VERSION=0.13.2
FUZZ_TARGET_DIR="${CARGO_TARGET_DIR}-fuzz"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain here, so libFuzzer cannot instrument; building targets only"
  cargo check --manifest-path fuzz/Cargo.toml --bins --target-dir "$FUZZ_TARGET_DIR"
  exit 0
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# Seed the SMART Health Cards targets' corpora from the published vectors.
seed() { # seed <target> <files...>
  local t="$1"; shift
  mkdir -p "fuzz/corpus/$t"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "fuzz/corpus/$t/" 2>/dev/null || true; done
}
data=testdata
seed shc_jws "$data"/shc/example-0?-d-jws.txt "$data"/shc/dev-tools-testdata/*.txt
seed shc_numeric "$data"/shc/example-0?-f-qr-code-numeric-value-*.txt
seed shc_file "$data"/shc/example-0?-e-file.smart-health-card "$data"/shc/dev-tools-testdata/*.smart-health-card
seed vci_directory "$data"/shc/dev-tools-testdata/test-issuers.json "$data"/shc/issuer/.well-known/jwks.json "$data"/shc/dev-tools-testdata/*key*.json
seed shlink "$data"/shl/dev-tools-testdata/shlink-link*.txt
seed jwe "$data"/shl/spec-example-file.jwe

cd fuzz
targets=$(cargo +nightly fuzz list)
[ -n "$only" ] && targets="$only"
for t in $targets; do
  echo "fuzz: $t for ${secs}s"
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds+=("seeds/$t")
  log="$FUZZ_TARGET_DIR/$t.log"
  mkdir -p "$FUZZ_TARGET_DIR"
  # The image decoder has its own bounds (pixels, bit depth, a time budget): hold it to them.
  limits=(-rss_limit_mb=2048 -timeout=10)
  [ "$t" = qr_image ] && limits=(-rss_limit_mb=768 -timeout=4)
  if ! cargo +nightly fuzz run --target-dir "$FUZZ_TARGET_DIR" "$t" "corpus/$t" "${seeds[@]}" -- \
      -max_total_time="$secs" "${limits[@]}" -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $t FAILED (full log: $log; reproducer under fuzz/artifacts/$t)"
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | sed "s/^/fuzz: $t /" || true
done
echo "fuzz: all targets ran without a crash"
