#!/usr/bin/env bash
# Every performance figure of the project in one run, each beside its anchor measured in the same
# run and beside issue 14's goal; prints ONE markdown table and writes docs/performance.png (how
# costs grow). Not part of the test run (.ci/run); see docs/performance.md.
#
#   scripts/bench.sh            # about 10-15 minutes on a 2-core machine
#   scripts/bench.sh --full     # the long versions: ledger to 10M entries, 10k-record pulls, 60 s loads
#   scripts/bench.sh --soak [MINUTES]  # the 10-minute soak instead (scripts/soak.sh)
#
# Installs what it needs (Debian: postgresql, nodejs/npm, gnuplot-nox), builds the release
# binaries once, then runs: SHC verification (spondon-core, kill-the-clipboard, raw ES256 verify
# of ring and of aws-lc-rs where it builds), an fsync anchor, the clinic node's grant checks, the
# ledger at growing sizes, the peer in process (SQLite and PostgreSQL), real `serve` processes
# (SQLite; 1, 2, 3 processes on one PostgreSQL), the wallet's syncs and the export.
# Raw logs and one JSON line per figure: $CARGO_TARGET_DIR/bench/<UTC time>/ (figures.jsonl);
# the table: table.md there. Environment: BENCH_OUT=DIR overrides that directory;
# BENCH_PLOT=PATH the plot's path (default docs/performance.png).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

FULL=0
for a in "$@"; do
  case "$a" in
    --full) FULL=1 ;;
    --soak) exec scripts/soak.sh $(printf '%s\n' "$@" | grep -E '^[0-9]+$' | head -n 1) ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $a (--full, --soak)" >&2; exit 2 ;;
  esac
done

# --- what it needs ---------------------------------------------------------------------------
need=()
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if ((${#need[@]})); then
  echo "bench: installing Debian packages: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/bench/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log() { echo "bench: $*" >&2; }
# run NAME CMD...: the command's output to $OUT/NAME.log (and a line to the terminal).
run() {
  local name="$1"; shift
  log "$name: $*"
  local t=$SECONDS
  if ! "$@" >"$OUT/$name.log" 2>"$OUT/$name.err"; then
    log "$name FAILED (see $OUT/$name.err)"; tail -5 "$OUT/$name.err" >&2 || true
    echo "FAILED" >>"$OUT/$name.log"
  fi
  log "$name: $((SECONDS - t)) s"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpus: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "load_start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "full: $FULL"
} >"$OUT/meta.txt"

# --- build once --------------------------------------------------------------------------------
log "building release binaries and examples"
cargo build --locked --release -p spondon-verifier -p spondon-peer -p spondon-wallet -p spondon-export \
  -p spondon-ledger --features spondon-ledger/server --bins --examples >&2
EX="$CARGO_TARGET_DIR/release/examples"
# serve-load is given the peer built just above: left to itself it runs `cargo build -p
# spondon-peer`, whose features differ from this multi-package build's, and rebuilt it (two
# minutes) in the middle of the run.
PEER_BIN="$CARGO_TARGET_DIR/release/spondon-peer"
RAW="$CARGO_TARGET_DIR/raw-es256"
# The raw ES256 anchor: ring always (it is in the project); aws-lc-rs where it builds (it needs its
# C sources from crates.io and a C toolchain; a failure is recorded, not fatal).
if CARGO_TARGET_DIR="$RAW" cargo build --release --locked --manifest-path scripts/bench/raw-es256/Cargo.toml \
  --features aws-lc >"$OUT/raw-build.log" 2>&1; then
  echo "aws-lc-rs: built" >>"$OUT/meta.txt"
else
  echo "aws-lc-rs: did not build: $(grep -m1 -E 'error' "$OUT/raw-build.log" || tail -1 "$OUT/raw-build.log")" >>"$OUT/meta.txt"
  CARGO_TARGET_DIR="$RAW" cargo build --release --manifest-path scripts/bench/raw-es256/Cargo.toml >&2
fi

# Settings: default (about 10-15 minutes) and --full.
if [ "$FULL" = 1 ]; then
  SECS=60; LEDGER_SIZES="1000 10000 100000 1000000 10000000"; PEER_RECORDS=10000; LOAD_SECS=60
else
  SECS=10; LEDGER_SIZES="1000 10000 100000 1000000"; PEER_RECORDS=2000; LOAD_SECS=20
fi
echo "settings: secs=$SECS ledger_sizes=$LEDGER_SIZES peer_records=$PEER_RECORDS load_secs=$LOAD_SECS" >>"$OUT/meta.txt"

# --- anchors: raw ES256 verify, fsync ----------------------------------------------------------
run raw-es256 "$RAW/release/raw-es256" 5
run fsync python3 - "$WORK" <<'PY'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync.bin"); fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
n, t = 0, time.monotonic()
while time.monotonic() - t < 3:
    os.write(fd, b"x" * 512); os.fsync(fd); n += 1
print(f"fsync: {n} write+fsync in {time.monotonic() - t:.1f} s = {n / (time.monotonic() - t):.0f} fsyncs/s")
PY

# --- SHC verification: spondon-core vs kill-the-clipboard -------------------------------------
"$EX/shc-verify-bench" prepare "$WORK/cards" --cards 200 >/dev/null
(cd "$WORK" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund kill-the-clipboard@1 >/dev/null) \
  || log "npm install kill-the-clipboard failed (no network?)"
cat >"$WORK/ktc.mjs" <<'JS'
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
const v = JSON.parse(readFileSync(`${dir}/../node_modules/kill-the-clipboard/package.json`, "utf8")).version;
console.log(`kill-the-clipboard ${v} (node ${process.version}): ${n} verifications in ${s.toFixed(1)} s = ${(n / s).toFixed(0)} cards/s (1 thread)`);
JS
[ -d "$WORK/node_modules/kill-the-clipboard" ] && run shc-node node "$WORK/ktc.mjs" "$WORK/cards" "$SECS"
# --raw: then, in the same process, the raw verify of the same cards' signatures (the key
# unparsed, and prepared once): the like-for-like anchor, by CPU time per verify.
run shc-rust "$EX/shc-verify-bench" verify "$WORK/cards" --secs "$SECS" --raw "$SECS"

# --- clinic node: grant checks -----------------------------------------------------------------
run grant-check "$EX/grant-check-load" --secs "$((SECS * 2))" --connections 8

# --- ledger at growing sizes (SQLite; the database grows from one size to the next) ------------
for n in $LEDGER_SIZES; do
  run "ledger-$n" "$EX/ledger_bench" --url "sqlite://$WORK/ledger.db" --entries "$n" --batch 1000 --proofs 2000
done

# --- the peer in process: issuance (1 and 8 clients), pull, redemption (8 clients) -----------
run peer-sqlite "$EX/peer-bench" --records "$PEER_RECORDS" --secs "$SECS" --clients 8
SPONDON_PG_DURABLE=1 run peer-postgres scripts/with-postgres.sh sh -c \
  "exec '$EX/peer-bench' --records $PEER_RECORDS --secs $SECS --clients 8 --database-url \"\$SPONDON_TEST_POSTGRES_URL\""

# --- real serve processes over HTTP ----------------------------------------------------------
run serve-sqlite "$EX/serve-load" --bin "$PEER_BIN" --processes 1 --secs "$LOAD_SECS" --issuers 8 --redeemers 0
# Hospital systems pushing FHIR transaction Bundles of 25 records (`POST /fhir`), same issuers.
run serve-sqlite-fhir "$EX/serve-load" --bin "$PEER_BIN" --processes 1 --secs "$LOAD_SECS" --issuers 8 --redeemers 0 --fhir 25
run serve-sqlite-redeem "$EX/serve-load" --bin "$PEER_BIN" --processes 1 --secs "$LOAD_SECS" --issuers 0 --redeemers 8
for p in 1 2 3; do
  SPONDON_PG_DURABLE=1 run "serve-postgres-$p" scripts/with-postgres.sh sh -c \
    "exec '$EX/serve-load' --bin '$PEER_BIN' --processes $p --secs $LOAD_SECS --issuers 8 --database-url \"\$SPONDON_TEST_POSTGRES_URL\""
done

# --- wallet: full sync (1k and 10k records) and incremental sync -------------------------------
run wallet-1000 "$EX/wallet-bench" --records 1000
run wallet-10000 "$EX/wallet-bench" --records 10000

# --- export: per card, PDF size for 300 cards --------------------------------------------------
run export-300 "$EX/export_bench" 300

echo "load_end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
python3 scripts/bench/report.py "$OUT" --plot "${BENCH_PLOT:-docs/performance.png}"
