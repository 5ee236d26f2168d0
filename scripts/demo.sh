#!/usr/bin/env bash
# The Spondon demo: the whole flow with real processes on 127.0.0.1 and the embedded SQLite
# default. A health authority signs the consortium trust list; two hospital peers register a
# patient and a doctor, issue records and witness each other's logs; the patient's wallet
# enrolls, syncs and verifies, and shares records with a clinic by a grant QR; the clinic's
# verifier node checks the grant and fetches exactly the granted records; the patient sees the
# receipt, revokes, and exports a summary for a visa medical that is checked offline.
#   scripts/demo.sh                      # outputs in a fresh temporary folder
#   SPONDON_DEMO_DIR=out scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

echo "Building (the first run compiles everything; later runs take seconds) ..."
cargo build -q --locked -p spondon-authority -p spondon-peer -p spondon-wallet -p spondon-verifier
scripts/build-qr-wasm.sh >/dev/null
BIN="$CARGO_TARGET_DIR/debug"
OUT="${SPONDON_DEMO_DIR:-$(mktemp -d -t spondon-demo.XXXXXX)}"
mkdir -p "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"
SHC=testdata/shc
DIRECTORY=assets/demo/smart-examples-directory.json

if [ -t 1 ]; then
  bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
  bold() { printf '\n%s\n' "$*"; }
fi
indent() { sed 's/^/    /'; }
die() { echo "demo: $*" >&2; exit 1; }

# Background servers are stopped however the demo ends.
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# The first free TCP port from $1 on 127.0.0.1.
free_port() {
  local p="$1"
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
wait_http() {
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$1 did not answer; see $OUT/logs"
}
# api METHOD URL TOKEN [JSON]: a JSON request; prints the body; fails on an HTTP error.
api() {
  local method="$1" url="$2" token="$3" body="${4:-}"
  local args=(-sS -X "$method" -H "Authorization: Bearer $token" -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local res code
  res="$(curl "${args[@]}" "$url")"
  code="${res##*$'\n'}"
  res="${res%$'\n'*}"
  [[ "$code" == 2* ]] || die "$method $url answered $code: $res"
  printf '%s' "$res"
}
# expect VALID|INVALID ARGS...: `spondon-verifier check ARGS` must give that verdict.
expect() {
  local want="$1"; shift
  local status=0
  "$BIN/spondon-verifier" check "$@" | indent || status=${PIPESTATUS[0]}
  case "$want:$status" in
    VALID:0|INVALID:1) ;;
    *) die "expected $want from: spondon-verifier check $*  (exit $status)" ;;
  esac
}

bold "1. The health authority creates the consortium root key"
"$BIN/spondon-authority" init --data "$OUT/authority" --name "DGHS Bangladesh" | indent

bold "2. Two hospitals start their peer nodes, each witnessing the other's transparency log"
P1=$(free_port 18401); P2=$(free_port $((P1 + 1)))
declare -A URL ADDR TOKEN LOGVKEY WITNESSVKEY
for h in dmch labaid; do
  case $h in
    dmch) port=$P1; name="Dhaka Medical College Hospital" ;;
    labaid) port=$P2; name="Labaid Diagnostics" ;;
  esac
  # The public URL (SMART Health Card issuer) is https; in this demo the node listens on plain
  # HTTP on 127.0.0.1, where a TLS-terminating proxy would sit in production.
  URL[$h]="https://peer.$h.example"
  ADDR[$h]="http://127.0.0.1:$port"
  init="$("$BIN/spondon-peer" init --name "$name" --url "${URL[$h]}" --data "$OUT/$h" 2>/dev/null)"
  TOKEN[$h]="$(jq -r .staff_token <<<"$init")"
  LOGVKEY[$h]="$(jq -r .log_vkey <<<"$init")"
  WITNESSVKEY[$h]="$(jq -r .witness_vkey <<<"$init")"
  echo "$name: ${URL[$h]} (listening on ${ADDR[$h]}), record key $(jq -r .record_kid <<<"$init")" | indent
done
"$BIN/spondon-peer" witness-log --data "$OUT/dmch" --vkey "${LOGVKEY[labaid]}" >/dev/null
"$BIN/spondon-peer" witness-log --data "$OUT/labaid" --vkey "${LOGVKEY[dmch]}" >/dev/null
"$BIN/spondon-peer" add-witness --data "$OUT/dmch" --url "${ADDR[labaid]}/witness" --vkey "${WITNESSVKEY[labaid]}" >/dev/null
"$BIN/spondon-peer" add-witness --data "$OUT/labaid" --url "${ADDR[dmch]}/witness" --vkey "${WITNESSVKEY[dmch]}" >/dev/null
for h in dmch labaid; do
  "$BIN/spondon-peer" serve --data "$OUT/$h" --listen "${ADDR[$h]#http://}" >"$OUT/logs/$h.log" 2>&1 &
  PIDS+=($!)
done
for h in dmch labaid; do wait_http "${ADDR[$h]}/.well-known/jwks.json"; done

bold "3. The authority adds both hospitals and signs the trust list that wallets and clinics pin"
for h in dmch labaid; do
  case $h in dmch) name="Dhaka Medical College Hospital" ;; labaid) name="Labaid Diagnostics" ;; esac
  curl -fsS "${ADDR[$h]}/.well-known/jwks.json" >"$OUT/$h.jwks"
  "$BIN/spondon-authority" add-hospital --data "$OUT/authority" --id "$h" --name "$name" \
    --peer-url "${URL[$h]}" --jwks "$OUT/$h.jwks" --log-vkey "${LOGVKEY[$h]}" | indent
done
"$BIN/spondon-authority" sign --data "$OUT/authority" --out "$OUT/trust-list.txt" | indent
ROOT="$OUT/authority/root.jwk"
TRUST=(--trust "$OUT/trust-list.txt" --root-key "$ROOT")

bold "4. A clinic sets up its verifier node; DMCH registers its doctor's key (BMDC A-54321)"
vinit="$("$BIN/spondon-verifier" init --clinic "Trishal Community Clinic" --data "$OUT/clinic" \
  --trust "$OUT/trust-list.txt" --root-key "$ROOT" 2>/dev/null)"
doctor_jwk="$(jq -c .doctor_public_jwk <<<"$vinit")"
doctor="$(api POST "${ADDR[dmch]}/staff/doctors" "${TOKEN[dmch]}" \
  "{\"bmdc_number\":\"A-54321\",\"name\":\"Dr. Rezaul Karim\",\"department\":\"Medicine\",\"public_key\":$doctor_jwk}")"
jq -r .credential <<<"$doctor" >"$OUT/doctor-credential.txt"
"$BIN/spondon-verifier" doctor-credential import --data "$OUT/clinic" "$OUT/doctor-credential.txt" \
  --qr-svg "$OUT/doctor-credential.svg" >/dev/null
echo "Doctor credential imported; its QR for patients: $OUT/doctor-credential.svg" | indent
for h in dmch labaid; do
  "$BIN/spondon-verifier" peer-address --data "$OUT/clinic" "${URL[$h]}" "${ADDR[$h]}" >/dev/null
done
STAFF="$("$BIN/spondon-verifier" staff add --data "$OUT/clinic" "Nasrin Akter" 2>/dev/null | jq -r .token)"
P3=$(free_port $((P2 + 1)))
CLINIC="http://127.0.0.1:$P3"
"$BIN/spondon-verifier" serve --data "$OUT/clinic" --listen "127.0.0.1:$P3" >"$OUT/logs/clinic.log" 2>&1 &
PIDS+=($!)
wait_http "$CLINIC/openapi.json"
echo "The clinic's page: $CLINIC/ (staff token in $OUT/staff-token.txt)" | indent
echo "$STAFF" >"$OUT/staff-token.txt"

bold "5. Both hospitals register the patient after an identity check and issue records"
patient='{"name":"Fatema Begum","birth_date":"1988-04-12","sex":"female","national_id":"1987654321",
          "phone":"01711-234567","district":"Mymensingh","upazila":"Trishal"}'
declare -A ENROLL HID
for h in dmch labaid; do
  reg="$(api POST "${ADDR[$h]}/staff/patients" "${TOKEN[$h]}" "$patient")"
  HID[$h]="$(jq -r .health_id <<<"$reg")"
  ENROLL[$h]="$(jq -r .enrollment_text <<<"$reg")"
  echo "${h}: Health ID ${HID[$h]}, one-time enrollment code issued" | indent
done
record() { api POST "${ADDR[$1]}/staff/records" "${TOKEN[$1]}" "$2" | jq -r '"\(.kind // "record") \(.id)"' | indent; }
record dmch "{\"health_id\":\"${HID[dmch]}\",\"kind\":\"diagnosis\",\"resources\":[{\"resourceType\":\"Condition\",
  \"clinicalStatus\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"active\"}]},
  \"code\":{\"coding\":[{\"system\":\"http://hl7.org/fhir/sid/icd-10\",\"code\":\"A97.0\",\"display\":\"Dengue without warning signs\"}]},
  \"onsetDateTime\":\"2026-11-18\"}]}"
record dmch "{\"health_id\":\"${HID[dmch]}\",\"kind\":\"prescription\",\"doctor_bmdc\":\"A-54321\",\"resources\":[
  {\"resourceType\":\"MedicationRequest\",\"status\":\"active\",\"intent\":\"order\",
   \"medicationCodeableConcept\":{\"text\":\"Paracetamol 500 mg tablet\"},
   \"dosageInstruction\":[{\"text\":\"1 tablet three times daily after meals for 5 days\"}]}]}"
q() { echo "{\"value\":$1,\"unit\":\"10*3/uL\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"10*3/uL\"}"; }
record labaid "{\"health_id\":\"${HID[labaid]}\",\"kind\":\"lab_report\",\"resources\":[
  {\"resourceType\":\"DiagnosticReport\",\"status\":\"final\",
   \"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"58410-2\",\"display\":\"CBC panel\"}]}},
  {\"resourceType\":\"Observation\",\"status\":\"final\",
   \"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"777-3\",\"display\":\"Platelets\"}]},
   \"valueQuantity\":$(q 95),\"referenceRange\":[{\"low\":$(q 150),\"high\":$(q 450)}]}]}"

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
"$W" revoke "$GRANT_ID" | indent
status="$(curl -sS -o "$OUT/after-revoke.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $STAFF" \
  -H 'Content-Type: application/json' --data-binary "{\"grant\":\"$GRANT\"}" "$CLINIC/api/grant/records")"
grep -q '"revoked"' "$OUT/after-revoke.json" || die "the peer did not refuse the revoked grant (HTTP $status): $(cat "$OUT/after-revoke.json")"
echo "After revocation the hospitals refuse the grant: revoked" | indent

bold "11. Export for a visa medical: a .smart-health-card file with log proofs, and a printable PDF"
"$W" export --out "$OUT/visa-medical" --receipts | indent
expect VALID "${TRUST[@]}" "$OUT/visa-medical.smart-health-card"
expect VALID "${TRUST[@]}" "$OUT/visa-medical.pdf"
echo "    (the same file with one character of one hospital-signed card changed:)"
jq '.verifiableCredential[0] |= ((index(".") + 40) as $i
      | .[0:$i] + (if .[$i:$i + 1] == "A" then "B" else "A" end) + .[$i + 1:])' \
  "$OUT/visa-medical.smart-health-card" >"$OUT/visa-medical-altered.smart-health-card"
expect INVALID "${TRUST[@]}" "$OUT/visa-medical-altered.smart-health-card"

bold "12. Any SMART Health Card issuer works: the specification's own example cards"
expect VALID --directory "$DIRECTORY" "$SHC/example-00-e-file.smart-health-card"
echo "    (a lab report too large for one QR, scanned as three legacy chunks in any order:)"
expect VALID --directory "$DIRECTORY" "$SHC"/example-02-f-qr-code-numeric-value-{2,0,1}.txt
echo "    (a card that expired, and whose issuer revoked it:)"
expect INVALID --directory "$DIRECTORY" "$SHC/example-03-e-file.smart-health-card"

bold "Demo complete. Every verdict above was the expected one; outputs are in $OUT"
echo "Servers' logs (no health data in them): $OUT/logs"
