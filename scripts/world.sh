# The demo's world, sourced by scripts/demo.sh and scripts/e2e-app.sh: a health authority, two
# hospital peers that witness each other, a clinic's verifier node with a doctor and a staff
# member, a patient registered at both hospitals with a diagnosis, a prescription and a CBC
# report — all real processes on 127.0.0.1 on SQLite files in $OUT.
#
# The caller sets BIN (the built binaries) and OUT (an absolute, existing folder with logs/),
# and stops the servers in PIDS when it ends. After `world_start`, these describe the world:
#   URL[h] ADDR[h] TOKEN[h] HID[h] ENROLL[h]   for h in dmch labaid (public URL, listen address,
#                                              staff token, the patient's Health ID, one-time
#                                              enrollment text)
#   ROOT, $OUT/trust-list.txt, TRUST=(--trust … --root-key …), AUTHORITY (where it is published)
#   CLINIC (the clinic node's address), STAFF (its staff token), $OUT/doctor-credential.txt
# `world_env FILE` writes them as KEY=VALUE lines for programs that are not bash.
SHC=testdata/shc
DIRECTORY=assets/demo/smart-examples-directory.json
PIDS=()

if [ -t 1 ]; then
  bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
  bold() { printf '\n%s\n' "$*"; }
fi
indent() { sed 's/^/    /'; }
die() { echo "demo: $*" >&2; exit 1; }

# Stops every server the world started.
world_stop() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }

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

world_start() {
  bold "1. The health authority creates the consortium root key"
  "$BIN/spondon-authority" init --data "$OUT/authority" --name "DGHS Bangladesh" | indent

  bold "2. Two hospitals start their peer nodes, each witnessing the other's transparency log"
  P1=$(free_port 18401); P2=$(free_port $((P1 + 1)))
  declare -gA URL ADDR TOKEN LOGVKEY WITNESSVKEY
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
  # Each hospital's witness counts for the other's log: every checkpoint needs one cosignature.
  for h in dmch labaid; do
    "$BIN/spondon-authority" add-witness --data "$OUT/authority" --vkey "${WITNESSVKEY[$h]}" --operator "$h" | indent
  done
  "$BIN/spondon-authority" quorum --data "$OUT/authority" 1 | indent
  P4=$(free_port $((P2 + 1)))
  AUTHORITY="http://127.0.0.1:$P4"
  "$BIN/spondon-authority" publish-url --data "$OUT/authority" "$AUTHORITY/trust-list" | indent
  "$BIN/spondon-authority" sign --data "$OUT/authority" --out "$OUT/trust-list.txt" | indent
  "$BIN/spondon-authority" serve --data "$OUT/authority" --listen "127.0.0.1:$P4" >"$OUT/logs/authority.log" 2>&1 &
  PIDS+=($!)
  wait_http "$AUTHORITY/trust-list"
  echo "Published at $AUTHORITY/trust-list (wallets refresh from it at every sync)" | indent
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
  declare -gA ENROLL HID
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
  # The lab system's own PDF of that report, as a document record (docs/protocol.md §18): the
  # file is uploaded first, then the record names it by its SHA-256; the card never holds it.
  report_pdf "$OUT/labaid-cbc-report.pdf"
  document labaid "$OUT/labaid-cbc-report.pdf" application/pdf "Labaid CBC report.pdf" lab_result \
    "Complete blood count, the lab system's report"
}

# report_pdf FILE: a one-page PDF (PDF 1.4, Helvetica) of a CBC report, with a correct xref.
report_pdf() {
  local text='BT /F1 18 Tf 56 780 Td (Labaid Diagnostics - Complete blood count) Tj ET
BT /F1 11 Tf 56 750 Td (Patient: Fatema Begum    Sample: EDTA blood    Report: final) Tj ET
BT /F1 11 Tf 56 720 Td (Haemoglobin  12.1 g/dL      \(12.0 - 15.5\)) Tj ET
BT /F1 11 Tf 56 704 Td (WBC           7.8 10^3/uL   \(4.0 - 11.0\)) Tj ET
BT /F1 11 Tf 56 688 Td (Platelets      95 10^3/uL   \(150 - 450\)   LOW) Tj ET'
  local objs=(
    "<< /Type /Catalog /Pages 2 0 R >>"
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
    "<< /Length ${#text} >>
stream
$text
endstream"
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
  )
  local out=$'%PDF-1.4\n' offsets=() i
  for i in "${!objs[@]}"; do
    offsets+=("${#out}")
    out+="$((i + 1)) 0 obj"$'\n'"${objs[$i]}"$'\nendobj\n'
  done
  local xref=${#out}
  out+="xref"$'\n'"0 $((${#objs[@]} + 1))"$'\n'"0000000000 65535 f "$'\n'
  for i in "${offsets[@]}"; do out+="$(printf '%010d 00000 n ' "$i")"$'\n'; done
  out+="trailer"$'\n'"<< /Size $((${#objs[@]} + 1)) /Root 1 0 R >>"$'\n'"startxref"$'\n'"$xref"$'\n'"%%EOF"$'\n'
  printf '%s' "$out" >"$1"
}

# document HOSPITAL FILE TYPE TITLE CATEGORY DESCRIPTION: uploads FILE (POST /staff/files), then
# issues a document record naming it (docs/protocol.md §18.3).
document() {
  local h="$1" file="$2" type="$3" title="$4" category="$5" description="$6" up hex b64
  up="$(curl -fsS -X POST -H "Authorization: Bearer ${TOKEN[$h]}" -H "Content-Type: $type" \
    --data-binary @"$file" "${ADDR[$h]}/staff/files")" || die "uploading $file to $h failed"
  hex="$(jq -r .sha256 <<<"$up")"
  # The card's attachment-sha256 is standard base64 of the 32 bytes.
  b64="$(printf "$(sed 's/../\\x&/g' <<<"$hex")" | base64 -w0)"
  record "$h" "{\"health_id\":\"${HID[$h]}\",\"kind\":\"document\",\"resources\":[{
    \"resourceType\":\"DocumentReference\",\"status\":\"current\",
    \"type\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"58410-2\"}]},
    \"category\":[{\"coding\":[{\"system\":\"https://spondon.health/fhir/CodeSystem/record-category\",\"code\":\"$category\"}]}],
    \"description\":\"$description\",
    \"content\":[{\"attachment\":{\"contentType\":\"$type\",\"title\":\"$title\",
      \"extension\":[{\"url\":\"https://spondon.health/fhir/StructureDefinition/attachment-sha256\",\"valueBase64Binary\":\"$b64\"}]}}]}]}"
}

# KEY=VALUE lines describing the world, for the app's end-to-end test.
world_env() {
  {
    for h in dmch labaid; do
      local H=${h^^}
      echo "WORLD_${H}_URL=${URL[$h]}"
      echo "WORLD_${H}_ADDR=${ADDR[$h]}"
      echo "WORLD_${H}_ENROLL=${ENROLL[$h]}"
      echo "WORLD_${H}_HID=${HID[$h]}"
      echo "WORLD_${H}_STAFF=${TOKEN[$h]}"
    done
    echo "WORLD_TRUST_LIST=$OUT/trust-list.txt"
    echo "WORLD_ROOT_KEY=$ROOT"
    echo "WORLD_CLINIC=$CLINIC"
    echo "WORLD_CLINIC_STAFF=$STAFF"
    echo "WORLD_DOCTOR_CREDENTIAL=$OUT/doctor-credential.txt"
    echo "WORLD_DOCUMENT_PDF=$OUT/labaid-cbc-report.pdf"
    echo "WORLD_DOCTOR_CREDENTIAL_SVG=$OUT/doctor-credential.svg"
    echo "WORLD_PEER_ENDPOINTS=${URL[dmch]}=${ADDR[dmch]},${URL[labaid]}=${ADDR[labaid]}"
  } >"$1"
}

# world_bulk_records N: Labaid issues N more CBC reports to the patient (for the app's benchmark).
world_bulk_records() {
  local n="$1" i
  for i in $(seq 1 "$n"); do
    api POST "${ADDR[labaid]}/staff/records" "${TOKEN[labaid]}" "{\"health_id\":\"${HID[labaid]}\",\"kind\":\"lab_report\",\"resources\":[{\"resourceType\":\"DiagnosticReport\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"58410-2\"}]}},{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"777-3\"}]},\"valueQuantity\":{\"value\":$((120 + i % 300)),\"unit\":\"10*3/uL\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"10*3/uL\"}}]}" >/dev/null
  done
}
