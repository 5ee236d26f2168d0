#!/usr/bin/env bash
# The Spondon demo: the whole flow with real processes on 127.0.0.1 and the embedded SQLite
# default. A health authority signs the consortium trust list; two hospital peers register a
# patient and a doctor, issue records and witness each other's logs; the patient's wallet
# enrolls, syncs and verifies, and shares records with a clinic by a grant QR; the clinic's
# verifier node checks the grant and fetches exactly the granted records; the patient sees the
# receipt, revokes, and exports a summary for a visa medical that is checked offline.
# Where a display exists, it ends by opening the wallet app on the demo's wallet and peers (close
# the window to end the demo); headless, it says how to see that.
#   scripts/demo.sh                      # outputs in a fresh temporary folder
#   SPONDON_DEMO_DIR=out scripts/demo.sh
#   scripts/demo.sh --no-app             # do not build or open the app
set -euo pipefail
cd "$(dirname "$0")/.."
OPEN_APP=1
for arg in "$@"; do
  case "$arg" in
    --no-app) OPEN_APP=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
scripts/cache-guard.sh
source scripts/env.sh

echo "Building (the first run compiles everything; later runs take seconds) ..."
cargo build -q --locked -p spondon-authority -p spondon-peer -p spondon-wallet -p spondon-verifier
scripts/build-qr-wasm.sh >/dev/null
BIN="$CARGO_TARGET_DIR/debug"
OUT="${SPONDON_DEMO_DIR:-$(mktemp -d -t spondon-demo.XXXXXX)}"
mkdir -p "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"

source scripts/world.sh
trap world_stop EXIT
world_start

bold "5b. Labaid's lab system pushes a CBC report and its PDF over FHIR (SMART Backend Services)"
LIS=examples/lab-client/lab_client.py
python3 "$LIS" jwks --key "$OUT/lis.pem" >/dev/null
echo "The lab system made its key (ES384) and handed its public JWKS to Labaid's admin" | indent
CLIENT="$(python3 "$LIS" register --peer "${ADDR[labaid]}" --key "$OUT/lis.pem" \
  --admin-token "${TOKEN[labaid]}" | tail -n 1 | jq -r .client_id)"
echo "The admin registered it (POST /staff/systems): client $CLIENT" | indent
pushed="$(python3 "$LIS" push --peer "${ADDR[labaid]}" --key "$OUT/lis.pem" --client-id="$CLIENT" \
  --health-id "${HID[labaid]}" --order-id LAB-2026-0042 | tail -n 1)"
jq -r '"Token for \(.granted_scope); one transaction Bundle issued \(.record_kinds | join(" and ")) (log entries \(.log_indices | map(tostring) | join(", ")))",
       "The same Bundle again (a retry after a lost answer) issued nothing: \(if .retry_same then "the first answer came back" else "DIFFERENT ANSWER" end)"' <<<"$pushed" | indent
[ "$(jq -r .retry_same <<<"$pushed")" = true ] || die "the retried Bundle did not answer the first result"

bold "6. The patient creates a wallet, enrolls at both hospitals and syncs (every card and log proof verified)"
export SPONDON_WALLET="$OUT/wallet" SPONDON_KEYSTORE=none
export SPONDON_PEER_ENDPOINTS="${URL[dmch]}=${ADDR[dmch]},${URL[labaid]}=${ADDR[labaid]}"
printf 'correct horse battery staple\n' >"$OUT/passphrase.txt"
chmod 600 "$OUT/passphrase.txt"
export SPONDON_PASSPHRASE_FILE="$OUT/passphrase.txt"
W="$BIN/spondon"
"$W" init --trust-list "$OUT/trust-list.txt" --root-key "$ROOT" | indent
for h in dmch labaid; do "$W" enroll "${ENROLL[$h]}" | indent; done
"$W" sync | indent
"$W" records | indent
echo "    (documents: the lab's PDFs of its reports, each file checked against its signed card:)"
"$W" documents | indent

bold "7. The patient scans the doctor's credential and shares lab results and prescriptions for 24 hours"
"$W" doctor "$OUT/doctor-credential.txt" | indent
grant_json="$("$W" grant --doctor A-54321 --category lab_result --category prescription \
  --purpose treatment --duration 24h --png "$OUT/grant.png" --json)"
GRANT="$(jq -r '.text // .grant' <<<"$grant_json")"
GRANT_ID="$(jq -r '.id' <<<"$grant_json")"
echo "Grant $GRANT_ID as a QR code: $OUT/grant.png ($(wc -c <<<"$GRANT") characters)" | indent

bold "8. Reception scans the QR; the clinic node checks the grant, then fetches the granted records"
expect VALID "${TRUST[@]}" "$OUT/grant.png"
api POST "$CLINIC/api/grant/check" "$STAFF" "{\"grant\":\"$GRANT\"}" | jq -r .summary | indent
records="$(api POST "$CLINIC/api/grant/records" "$STAFF" "{\"grant\":\"$GRANT\"}")"
jq -r '.. | objects | select(has("title")) | "\(.title)"' <<<"$records" 2>/dev/null | sort -u | head -8 | indent || true
n="$(jq '[.. | objects | select(has("verified")) ] | length' <<<"$records")"
echo "$n verified record(s) shown to the doctor" | indent

bold "9. A forged grant (one character changed) is refused"
i=$((${#GRANT} / 2)); c="${GRANT:$i:1}"; [ "$c" = 0 ] && r=1 || r=0
printf '%s' "${GRANT:0:$i}$r${GRANT:$((i + 1))}" >"$OUT/grant-forged.txt"
expect INVALID "${TRUST[@]}" "$OUT/grant-forged.txt"

bold "10. The patient's next sync brings the access receipts; then the patient revokes the grant"
"$W" sync >/dev/null
"$W" receipts | indent
"$W" revoke --yes "$GRANT_ID" | indent
status="$(curl -sS -o "$OUT/after-revoke.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $STAFF" \
  -H 'Content-Type: application/json' --data-binary "{\"grant\":\"$GRANT\"}" "$CLINIC/api/grant/records")"
grep -q '"revoked"' "$OUT/after-revoke.json" || die "the peer did not refuse the revoked grant (HTTP $status): $(cat "$OUT/after-revoke.json")"
echo "After revocation the hospitals refuse the grant: revoked" | indent

bold "11. Export for a visa medical: a .smart-health-card file with log proofs, and a printable PDF"
"$W" export --out "$OUT/visa-medical" --receipts | indent
# The records include documents, so the card file and the files are a folder (docs/protocol.md
# §18.4); the PDF carries the files as attachments.
expect VALID "${TRUST[@]}" "$OUT/visa-medical"
expect VALID "${TRUST[@]}" "$OUT/visa-medical.pdf"
echo "    (the same card file with one character of one hospital-signed card changed:)"
jq '.verifiableCredential[0] |= ((index(".") + 40) as $i
      | .[0:$i] + (if .[$i:$i + 1] == "A" then "B" else "A" end) + .[$i + 1:])' \
  "$OUT/visa-medical/visa-medical.smart-health-card" >"$OUT/visa-medical-altered.smart-health-card"
expect INVALID "${TRUST[@]}" "$OUT/visa-medical-altered.smart-health-card"
echo "    (the folder with one byte of the lab's PDF changed:)"
cp -r "$OUT/visa-medical" "$OUT/visa-medical-flipped"
f="$(ls "$OUT"/visa-medical-flipped/files/*.pdf | head -n 1)"
printf 'X' | dd of="$f" bs=1 seek=200 conv=notrunc status=none
expect INVALID "${TRUST[@]}" "$OUT/visa-medical-flipped"

bold "12. Any SMART Health Card issuer works: the specification's own example cards"
expect VALID --directory "$DIRECTORY" "$SHC/example-00-e-file.smart-health-card"
echo "    (a lab report too large for one QR, scanned as three legacy chunks in any order:)"
expect VALID --directory "$DIRECTORY" "$SHC"/example-02-f-qr-code-numeric-value-{2,0,1}.txt
echo "    (a card that expired, and whose issuer revoked it:)"
expect INVALID --directory "$DIRECTORY" "$SHC/example-03-e-file.smart-health-card"

bold "Demo complete. Every verdict above was the expected one; outputs are in $OUT"
echo "Servers' logs (no health data in them): $OUT/logs"

if [ "$OPEN_APP" = 1 ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  bold "13. The patient's wallet app, on this wallet and these hospitals (close the window to end)"
  APP="$(scripts/build-app.sh | tail -n 1)"
  echo "Passphrase: $(cat "$OUT/passphrase.txt")" | indent
  SPONDON_WALLET_DIR="$OUT/wallet" SPONDON_EXPORT_DIR="$OUT" SPONDON_TRUST_LIST="$OUT/trust-list.txt" \
    SPONDON_ROOT_KEY="$ROOT" "$APP" >"$OUT/logs/app.log" 2>&1 || true
elif [ "$OPEN_APP" = 1 ]; then
  echo
  echo "This machine has no display, so the wallet app was not opened. On a desktop, scripts/demo.sh"
  echo "ends by opening it on this wallet and these hospitals; scripts/build-app.sh builds it alone,"
  echo "and scripts/e2e-app.sh drives it under Xvfb (screenshots of every screen)."
fi
