#!/usr/bin/env bash
# The soak (issue 14; a benchmark, not part of the test run): a real `spondon-peer serve` on
# SQLite under a mix of staff issuances and grant redemptions, and a clinic node
# (`spondon-verifier serve`) under grant checks, at 80 % of the capacity measured just before
# with the same mix, for 10 minutes. Reports the errors (must be zero), the RSS of each server
# process at the start and at the end, and the throughput of every 30 s.
#
#   scripts/soak.sh [MINUTES]     # default 10; also `scripts/bench.sh --soak [MINUTES]`
#
# Environment: SOAK_FRACTION (default 0.8), SOAK_CAPACITY_SECS (default 20), SOAK_SKIP_BUILD=1
# (use the release binaries already built, e.g. while another build holds cargo's lock). Logs under
# $CARGO_TARGET_DIR/bench/soak-<UTC time>/ (summary.md, the loads' JSON results).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
MINUTES="${1:-10}"
FRACTION="${SOAK_FRACTION:-0.8}"
CAP_SECS="${SOAK_CAPACITY_SECS:-20}"
OUT="${BENCH_OUT:-$CARGO_TARGET_DIR/bench/soak-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT"
log() { echo "soak: $*" >&2; }

[ "${SOAK_SKIP_BUILD:-0}" = 1 ] || cargo build --locked --release -p spondon-verifier -p spondon-peer --bins --examples >&2
EX="$CARGO_TARGET_DIR/release/examples"
# The peer built above, so that serve-load runs no cargo of its own during the measurement.
PEER_BIN="$CARGO_TARGET_DIR/release/spondon-peer"
echo "load_start: $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/meta.txt"

# 1. Capacity of the mix: 4 issuing and 4 redeeming clients against one serve, and 4 connections
#    checking grants at the clinic node, all at once and unpaced.
log "capacity: ${CAP_SECS} s of the unpaced mix"
"$EX/serve-load" --bin "$PEER_BIN" --processes 1 --secs "$CAP_SECS" --issuers 4 --redeemers 4 >"$OUT/capacity-peer.log" 2>&1 &
peer_pid=$!
"$EX/grant-check-load" --secs "$CAP_SECS" --connections 4 >"$OUT/capacity-node.log" 2>&1 &
node_pid=$!
wait "$peer_pid"; wait "$node_pid"
read -r ISSUE REDEEM CHECKS < <(python3 - "$OUT" "$FRACTION" <<'PY'
import json, sys
def res(p):
    for l in open(p):
        if l.startswith("result: "):
            return json.loads(l[8:])
    raise SystemExit(f"no result in {p}")
o, f = sys.argv[1], float(sys.argv[2])
p, n = res(f"{o}/capacity-peer.log"), res(f"{o}/capacity-node.log")
print(f"{p['issue_per_s'] * f:.1f} {p['redeem_per_s'] * f:.1f} {n['checks_per_s'] * f:.1f}")
PY
)
log "soak rates (${FRACTION} of capacity): issuance $ISSUE/s, redemption $REDEEM/s, grant checks $CHECKS/s"

# 2. The soak itself.
SECS=$((MINUTES * 60))
log "soak: $MINUTES min"
set +e
"$EX/serve-load" --bin "$PEER_BIN" --processes 1 --secs "$SECS" --issuers 4 --redeemers 4 --issue-rate "$ISSUE" \
  --redeem-rate "$REDEEM" --report-every 30 >"$OUT/soak-peer.log" 2>&1 &
peer_pid=$!
"$EX/grant-check-load" --secs "$SECS" --connections 4 --rate "$CHECKS" --report-every 30 >"$OUT/soak-node.log" 2>&1 &
node_pid=$!
wait "$peer_pid"; peer_rc=$?
wait "$node_pid"; node_rc=$?
set -e
echo "load_end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"

python3 - "$OUT" "$FRACTION" "$MINUTES" "$peer_rc" "$node_rc" <<'PY' | tee "$OUT/summary.md"
import json, sys
o, frac, minutes, prc, nrc = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def res(p):
    for l in open(p):
        if l.startswith("result: "):
            return json.loads(l[8:])
    return None
meta = dict(l.strip().split(": ", 1) for l in open(f"{o}/meta.txt"))
cp, cn = res(f"{o}/capacity-peer.log"), res(f"{o}/capacity-node.log")
p, n = res(f"{o}/soak-peer.log"), res(f"{o}/soak-node.log")
print(f"Soak: {minutes} min at {frac:.0%} of the capacity of the mix measured just before "
      f"(load average at start {meta.get('load_start')}, at end {meta.get('load_end')}).\n")
print("| | capacity (unpaced mix) | soak target | soak achieved | errors | p99 | RSS start → end |")
print("|---|---|---|---|---|---|---|")
if p and cp:
    mib = lambda k: "/".join(f"{v / 1024:.1f}" for v in k)
    print(f"| peer `serve` (SQLite): issuance, 4 clients | {cp['issue_per_s']:.0f}/s | {cp['issue_per_s'] * frac:.0f}/s | "
          f"{p['issue_per_s']:.0f}/s | {p['errors']} | {p['issue_p99_ms']:.1f} ms | {mib(p['rss_start_kib'])} → {mib(p['rss_end_kib'])} MiB |")
    print(f"| peer `serve` (SQLite): redemption, 4 clients | {cp['redeem_per_s']:.0f}/s | {cp['redeem_per_s'] * frac:.0f}/s | "
          f"{p['redeem_per_s']:.0f}/s | (above) | {p['redeem_p99_ms']:.1f} ms | (same process) |")
else:
    print(f"| peer `serve` | FAILED (exit {prc}; see {o}/soak-peer.log) | | | | | |")
if n and cn:
    print(f"| clinic node: grant checks, 4 connections | {cn['checks_per_s']:.0f}/s | {cn['checks_per_s'] * frac:.0f}/s | "
          f"{n['checks_per_s']:.0f}/s | {n['errors']} | {n['p99_ms']:.2f} ms | {n['rss_start_kib'] / 1024:.1f} → {n['rss_end_kib'] / 1024:.1f} MiB |")
else:
    print(f"| clinic node | FAILED (exit {nrc}; see {o}/soak-node.log) | | | | | |")
print("\nThroughput over time (each 30 s interval):\n")
print("| t (s) | issuances/s | redemptions/s | peer errors | peer RSS (MiB) | grant checks/s | node RSS (MiB) |")
print("|---|---|---|---|---|---|---|")
ps = (p or {}).get("series", []); ns = (n or {}).get("series", [])
for i in range(max(len(ps), len(ns))):
    a = ps[i] if i < len(ps) else {}; b = ns[i] if i < len(ns) else {}
    print(f"| {a.get('t', b.get('t', ''))} | {a.get('issue_per_s', '')} | {a.get('redeem_per_s', '')} | {a.get('errors', '')} | "
          f"{'/'.join(map(str, a.get('rss_mib', [])))} | {b.get('checks_per_s', '')} | {b.get('rss_mib', '')} |")
ok = prc == 0 and nrc == 0 and p and n and p["errors"] == 0 and n["errors"] == 0
print(f"\nErrors: {'none' if ok else 'SOME (see the logs)'}. Logs: {o}")
PY
[ "$peer_rc" = 0 ] && [ "$node_rc" = 0 ]
