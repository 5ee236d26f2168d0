#!/usr/bin/env bash
# The Spondon demo: the actors hand each other signed records, credentials and grants, and the
# clinic's verifier judges every one of them. Run it from anywhere; it sets itself up.
#   scripts/demo.sh                 # outputs in a fresh temporary folder
#   SPONDON_DEMO_DIR=out scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

echo "Building (the first run compiles everything; later runs take seconds) ..."
cargo build -q --locked -p spondon-verifier -p spondon-core -p spondon-export --example demo_actors --example demo_export --bin spondon-verifier
VERIFIER="$CARGO_TARGET_DIR/debug/spondon-verifier"
ACTORS="$CARGO_TARGET_DIR/debug/examples/demo_actors"
EXPORTER="$CARGO_TARGET_DIR/debug/examples/demo_export"
OUT="${SPONDON_DEMO_DIR:-$(mktemp -d -t spondon-demo.XXXXXX)}"
mkdir -p "$OUT"
SHC=testdata/shc
DIRECTORY=assets/demo/smart-examples-directory.json

if [ -t 1 ]; then
  bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
  bold() { printf '\n%s\n' "$*"; }
fi
# expect VALID|INVALID ARGS...: runs `spondon-verifier check ARGS` and stops the demo if the
# verdict is not the expected one.
expect() {
  local want="$1"; shift
  local status=0
  "$VERIFIER" check "$@" | sed 's/^/    /' || status=${PIPESTATUS[0]}
  case "$want:$status" in
    VALID:0|INVALID:1) ;;
    *) echo "demo: expected $want from: spondon-verifier check $*  (exit $status)" >&2; exit 1 ;;
  esac
}

bold "1. The actors sign what they hand over (fresh keys, written to $OUT)"
"$ACTORS" "$OUT" | sed 's/^/    /'
TRUST=(--trust "$OUT/trust-list.txt" --root-key "$OUT/root.jwk")

bold "2. The clinic pins the health authority's root key and checks the consortium trust list"
expect VALID --root-key "$OUT/root.jwk" "$OUT/trust-list.txt"

bold "3. Reception scans the patient's enrollment and the doctor's credential (QR pictures)"
expect VALID "${TRUST[@]}" "$OUT/enrollment.png"
expect VALID "${TRUST[@]}" "$OUT/doctor-credential.png"

bold "4. A hospital-signed test result (SMART Health Card) is genuine"
expect VALID "${TRUST[@]}" "$OUT/dengue-ns1.smart-health-card"

bold "5. The patient shows a 24-hour grant for the doctor as a QR code"
expect VALID "$OUT/grant.png"

bold "6. A forged grant (one character changed) is refused"
python3 - "$OUT/grant.txt" "$OUT/grant-forged.txt" <<'PY'
import sys
text = open(sys.argv[1]).read()
i = len(text) // 2
open(sys.argv[2], "w").write(text[:i] + ("0" if text[i] != "0" else "1") + text[i + 1:])
PY
expect INVALID "$OUT/grant-forged.txt"

bold "7. The patient revokes the grant (signed by the same patient key)"
expect VALID "$OUT/revocation.txt"

bold "8. Any SMART Health Card issuer works: the specification's own example cards"
expect VALID --directory "$DIRECTORY" "$SHC/example-00-e-file.smart-health-card"
echo "    (a lab report too large for one QR, scanned as three legacy chunks in any order:)"
expect VALID --directory "$DIRECTORY" "$SHC"/example-02-f-qr-code-numeric-value-{2,0,1}.txt
echo "    (a card that expired, and whose issuer revoked it:)"
expect INVALID --directory "$DIRECTORY" "$SHC/example-03-e-file.smart-health-card"
expect INVALID --directory "$DIRECTORY" --at 2024-01-01T00:00:00Z "$SHC/example-03-e-file.smart-health-card"

bold "9. For a visa medical: the patient's export (signed records, log proofs, patient summary)"
"$EXPORTER" "$OUT/export" | sed 's/^/    /'
ETRUST=(--trust "$OUT/export/trust-list.txt" --root-key "$OUT/export/root.jwk")
expect VALID "${ETRUST[@]}" "$OUT/export/ips.smart-health-card"
echo "    (the printed PDF carries the same file; each record also has its own shc:/ QR:)"
expect VALID "${ETRUST[@]}" "$OUT/export/ips.pdf"
echo "    (one record's log proof altered:)"
expect INVALID "${ETRUST[@]}" "$OUT/export/ips-tampered.smart-health-card"

bold "Demo complete. Every verdict above was the expected one; outputs are in $OUT"
