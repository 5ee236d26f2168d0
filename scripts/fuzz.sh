#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for N seconds each (default 20), seeding the corpora from
# the published vectors in ../shared/testdata when present. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz --locked`).
set -euo pipefail
secs="${1:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/../shared/testdata"
cd "$root/fuzz"
seed() { # seed <target> <files...>
  local t="$1"; shift
  mkdir -p "corpus/$t"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "corpus/$t/" || true; done
}
if [ -d "$data/shc" ]; then
  seed shc_jws "$data"/shc/example-0?-d-jws.txt "$data"/shc/dev-tools-testdata/*.txt
  seed shc_numeric "$data"/shc/example-0?-f-qr-code-numeric-value-*.txt
  seed shc_file "$data"/shc/example-0?-e-file.smart-health-card "$data"/shc/dev-tools-testdata/*.smart-health-card "$data"/shc/example-0?-a-fhirBundle.json
  seed vci_directory "$data"/shc/dev-tools-testdata/test-issuers.json "$data"/shc/issuer/.well-known/jwks.json "$data"/shc/dev-tools-testdata/*key*.json
  seed shlink "$data"/shl/dev-tools-testdata/shlink-link*.txt
  seed jwe "$data"/shl/spec-example-file.jwe
fi
for t in shc_jws shc_numeric shc_file vci_directory shlink jwe; do
  echo "== $t (${secs}s)"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048
done
