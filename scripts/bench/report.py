#!/usr/bin/env python3
"""Makes scripts/bench.sh's results from its raw logs: one JSON line per figure
(figures.jsonl), the markdown table (table.md, also printed), the growth data (growth.tsv) and
the plot (PNG, with gnuplot). Everything comes from the logs of one run directory; nothing is
retyped.

    python3 scripts/bench/report.py RUN_DIR [--plot docs/performance.png]
"""
import json
import os
import re
import subprocess
import sys

RUN = sys.argv[1]
PLOT = sys.argv[sys.argv.index("--plot") + 1] if "--plot" in sys.argv else None


def text(name):
    p = os.path.join(RUN, name + ".log")
    if not os.path.exists(p):
        return ""
    with open(p, encoding="utf-8", errors="replace") as f:
        return f.read()


def find(name, pattern, group=1, cast=float):
    m = re.search(pattern, text(name))
    return cast(m.group(group)) if m else None


def result(name):
    """The `result: {json}` line of serve-load / grant-check-load."""
    for line in text(name).splitlines():
        if line.startswith("result: "):
            return json.loads(line[len("result: "):])
    return None


def dur_ms(s):
    """A Rust `Duration` Debug string (631.2µs, 1.5ms, 2s) in milliseconds."""
    m = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", s.strip())
    if not m:
        return None
    v = float(m.group(1))
    return v * {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


figures = []


def fig(fid, what, value, unit, anchor=None, goal=None, met=None, code="", note=""):
    figures.append(dict(id=fid, what=what, value=value, unit=unit, anchor=anchor, goal=goal,
                        met=met, code=code, note=note))


def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float) and v < 100:
        s = f"{v:,.2f}" if v < 10 else f"{v:,.1f}"
    else:
        s = f"{v:,.0f}"
    return f"{s} {unit}".strip()


meta = {}
with open(os.path.join(RUN, "meta.txt"), encoding="utf-8") as f:
    for line in f:
        k, _, v = line.partition(": ")
        meta[k.strip()] = v.strip()

# --- anchors ---
# The anchors are the rates over distinct signatures in turn; one signature verified over and
# over runs faster (the branch predictors learn its path) and is printed beside them, for the
# runs before session 12 (2026-12-07), which measured only that.
ring = find("raw-es256", r"raw-es256 ring: .* = ([0-9]+) verifies/s")
awslc = find("raw-es256", r"raw-es256 aws-lc-rs: .* = ([0-9]+) verifies/s")
ring_rep = find("raw-es256", r"raw-es256 ring, one signature repeated: .* = ([0-9]+) verifies/s")
awslc_rep = find("raw-es256", r"raw-es256 aws-lc-rs, one signature repeated: .* = ([0-9]+) verifies/s")
fsync = find("fsync", r"= ([0-9]+) fsyncs/s")
def repeated(rep):
    return f"one signature repeated: {fmt(rep, '/s')}" if rep else ""
# Runs before the distinct way print one line per library, of one repeated signature.
way = ", 200 distinct signatures" if ring_rep else ", one signature repeated"
fig("anchor.ring_es256", f"raw ES256 verify, ring, 1 thread{way}", ring, "verifies/s",
    code="scripts/bench/raw-es256", note=repeated(ring_rep))
fig("anchor.awslc_es256", f"raw ES256 verify, aws-lc-rs, 1 thread{way}", awslc, "verifies/s",
    code="scripts/bench/raw-es256",
    note="; ".join(x for x in (meta.get("aws-lc-rs", ""), repeated(awslc_rep)) if x))
fig("anchor.fsync", "write + fsync of 512 B on the data disk", fsync, "fsyncs/s",
    code="scripts/bench.sh (python)")

# --- SHC ---
rust = find("shc-rust", r"= ([0-9]+) cards/s")
node = find("shc-node", r"= ([0-9]+) cards/s")
node_v = find("shc-node", r"kill-the-clipboard ([0-9.]+)", cast=str)
fastest = max([x for x in (ring, awslc) if x] or [0]) or None
fastest_lib = "aws-lc-rs" if (awslc or 0) > (ring or 0) else "ring"
fastest_rep = awslc_rep if fastest_lib == "aws-lc-rs" else ring_rep
ratio = rust / fastest if rust and fastest else None
# The like-for-like anchor from the same process (`--raw`, interleaved rounds): CPU µs per card
# against CPU µs per raw verify of the same cards' signing inputs, the key unparsed and prepared
# once (the faster of the two counts).
card_us = find("shc-rust", r"card check ([0-9.]+) µs CPU per card", cast=float)
raw_unparsed_us = find("shc-rust", r"unparsed key, the cards' signing inputs\): ([0-9.]+) µs", cast=float)
raw_prepared_us = find("shc-rust", r"prepared key, the cards' signing inputs\): ([0-9.]+) µs", cast=float)
same = ""
same_ratio = None
if card_us and raw_unparsed_us and raw_prepared_us:
    same_ratio = min(raw_unparsed_us, raw_prepared_us) / card_us
    same = (f"; same cards' signing inputs, CPU per verify: {card_us:.1f} µs a card against "
            f"{raw_prepared_us:.1f} µs prepared key ({raw_prepared_us / card_us * 100:.1f} %), "
            f"{raw_unparsed_us:.1f} µs unparsed ({raw_unparsed_us / card_us * 100:.1f} %)")
ratios = [r for r in (ratio, same_ratio) if r]
fig("shc.verify", "SHC verification (parse, ES256, inflate, FHIR rules), 1 thread", rust, "cards/s",
    anchor=f"kill-the-clipboard {node_v or '?'}: {fmt(node, 'cards/s')} ({fmt(rust / node if rust and node else None)}×); "
           f"{fastest_lib} raw verify{way} {fmt(fastest, '/s')} ({fmt(ratio * 100 if ratio else None)} %)"
           + (f" (one signature repeated {fmt(fastest_rep, '/s')}: {fmt(rust / fastest_rep * 100 if rust else None)} %)"
              if fastest_rep else "") + same,
    goal="≥ 85 % of the fastest raw ES256 verify",
    # A card's check includes one raw verify: above 100 % the two ran under different loads.
    # Met only against every anchor (the separate run's and the same inputs' fastest verify).
    met=(min(ratios) >= 0.85) if ratios and max(ratios) <= 1.0 else None,
    code="crates/verifier/examples/shc-verify-bench.rs",
    note="above the raw verify it contains: the machine's load changed between the two" if ratio and ratio > 1.0 else "")

# --- clinic node ---
g = result("grant-check")
if g:
    fig("verifier.grant_check", "clinic node grant checks, 8 keep-alive connections", g["checks_per_s"],
        "checks/s", anchor=f"ring raw verify × 2 cores {fmt(2 * ring if ring else None, '/s')}",
        goal="≥ 10,000 /s, p99 < 5 ms", met=g["checks_per_s"] >= 10000 and g["p99_ms"] < 5,
        code="crates/verifier/examples/grant-check-load.rs",
        note=f"p50 {g['p50_ms']:.2f} ms, p99 {g['p99_ms']:.2f} ms")

# --- ledger growth ---
growth = []
for name in sorted((n[:-4] for n in os.listdir(RUN) if re.fullmatch(r"ledger-[0-9]+\.log", n)),
                   key=lambda n: int(n.split("-")[1])):
    t = text(name)
    size = int(name.split("-")[1])
    rate = find(name, r"fill: .* = ([0-9]+) entries/s")
    inc = re.search(r"inclusion proof at size \d+: mean (\S+), p50 (\S+), p99 (\S+),", t)
    con = re.search(r"consistency proof to size \d+: mean (\S+), p50 (\S+), p99 (\S+),", t)
    rss = find(name, r"RSS at end: ([0-9]+) KiB")
    growth.append(dict(size=size, append=rate, inc_p50=dur_ms(inc.group(2)) if inc else None,
                       inc_p99=dur_ms(inc.group(3)) if inc else None,
                       con_p50=dur_ms(con.group(2)) if con else None, rss_mib=rss / 1024 if rss else None))
if growth:
    top = growth[-1]
    # The fill rate of the largest step (from the previous size to this one) is the steady one.
    fig("ledger.append", f"log appends (batches of 1,000, SQLite) up to {top['size']:,} entries", top["append"],
        "entries/s", anchor=f"fsync {fmt(fsync, '/s')}", code="crates/ledger/examples/ledger_bench.rs",
        note="10M with --full" if top["size"] < 10_000_000 else "")
    fig("ledger.inclusion", f"inclusion proof from storage at {top['size']:,} entries, p50", top["inc_p50"], "ms",
        code="crates/ledger/examples/ledger_bench.rs", note=f"p99 {fmt(top['inc_p99'], 'ms')}")
    fig("ledger.consistency", f"consistency proof at {top['size']:,} entries, p50", top["con_p50"], "ms",
        code="crates/ledger/examples/ledger_bench.rs")

# --- peer in process ---
for eng, name in (("SQLite", "peer-sqlite"), ("PostgreSQL", "peer-postgres")):
    one = find(name, r"issuance: \d+ records in .* = ([0-9]+) records/s")
    many = find(name, r"issuance, (\d+) concurrent clients: .* = ([0-9]+) records/s", group=2)
    red = re.search(r"redemption: (\d+) in .* = ([0-9]+) redemptions/s.*p50 ([0-9.]+) ms, p99 ([0-9.]+) ms", text(name))
    pull = re.search(r"pull: (\d+) records with proofs in ([0-9.]+) s", text(name))
    inc = find(name, r"incremental pull of 1 new record .*: ([0-9.]+) ms")
    code = "crates/peer/examples/peer-bench.rs"
    fig(f"peer.{eng}.issue1", f"issuance, one at a time, in process, {eng}", one, "records/s",
        anchor=f"fsync {fmt(fsync, '/s')}", code=code)
    fig(f"peer.{eng}.issue8", f"issuance, 8 concurrent clients, in process, {eng}", many, "records/s",
        goal="≥ 5,000 /s" if eng == "SQLite" else None, met=(many >= 5000) if (many and eng == "SQLite") else None,
        code=code)
    if red:
        p99 = float(red.group(4))
        r = float(red.group(2))
        fig(f"peer.{eng}.redeem8", f"grant redemption over HTTP, 8 clients, {eng}", r, "/s",
            goal="≥ 2,000 /s, p99 < 25 ms" if eng == "SQLite" else None,
            met=(r >= 2000 and p99 < 25) if eng == "SQLite" else None, code=code,
            note=f"p50 {red.group(3)} ms, p99 {red.group(4)} ms")
    if pull:
        fig(f"peer.{eng}.pull", f"patient pull of {int(pull.group(1)):,} records with proofs, {eng}",
            int(pull.group(1)) / float(pull.group(2)), "records/s", code=code)
    fig(f"peer.{eng}.incpull", f"incremental pull of 1 record + consistency proof, {eng}", inc, "ms", code=code)

# --- serve processes ---
s = result("serve-sqlite")
if s:
    fig("serve.SQLite.issue8", "issuance over HTTP, 8 staff clients, 1 `serve`, SQLite", s["issue_per_s"],
        "records/s", goal="≥ 5,000 /s", met=s["issue_per_s"] >= 5000 and s["errors"] == 0,
        code="crates/peer/examples/serve-load.rs",
        note=f"p50 {s['issue_p50_ms']:.1f} ms, p99 {s['issue_p99_ms']:.1f} ms, errors {s['errors']}")
s = result("serve-sqlite-fhir")
if s:
    fig("serve.SQLite.fhir25", "issuance through `POST /fhir`, 8 hospital systems, transaction Bundles of 25 records, SQLite",
        s["issue_per_s"], "records/s", goal="≥ 5,000 /s", met=s["issue_per_s"] >= 5000 and s["errors"] == 0,
        code="crates/peer/examples/serve-load.rs",
        note=f"{s['bundles_per_s']:.0f} Bundles/s, per Bundle p50 {s['bundle_p50_ms']:.1f} ms, "
             f"p99 {s['bundle_p99_ms']:.1f} ms, serve CPU {s['serve_cpu_ms_per_record']:.3f} ms/record, errors {s['errors']}")
s = result("serve-sqlite-redeem")
if s:
    fig("serve.SQLite.redeem8", "grant redemption over HTTP, 8 doctor clients, 1 `serve`, SQLite",
        s["redeem_per_s"], "/s", goal="≥ 2,000 /s, p99 < 25 ms",
        met=s["redeem_per_s"] >= 2000 and s["redeem_p99_ms"] < 25 and s["errors"] == 0,
        code="crates/peer/examples/serve-load.rs",
        note=f"p50 {s['redeem_p50_ms']:.1f} ms, p99 {s['redeem_p99_ms']:.1f} ms, errors {s['errors']}")
procs = []
for p in (1, 2, 3):
    s = result(f"serve-postgres-{p}")
    if s:
        procs.append(dict(processes=p, issue=s["issue_per_s"], p99=s["issue_p99_ms"], errors=s["errors"]))
        fig(f"serve.PostgreSQL.issue8.p{p}", f"issuance over HTTP, 8 staff clients, {p} `serve` on one PostgreSQL",
            s["issue_per_s"], "records/s", code="crates/peer/examples/serve-load.rs",
            note=f"p50 {s['issue_p50_ms']:.1f} ms, p99 {s['issue_p99_ms']:.1f} ms, errors {s['errors']}")

# --- wallet ---
sync = []
for n in (1000, 10000):
    name = f"wallet-{n}"
    full = re.search(r"full sync: (\d+) records in ([0-9.]+) s = ([0-9]+) records/s", text(name))
    cards = find(name, r"card verification alone .*: ([0-9]+) cards/s")
    inc = find(name, r"incremental sync, 1 new record: median ([0-9.]+) ms")
    if full:
        sync.append(dict(records=n, rate=float(full.group(3)), cards=cards, incremental=inc))
    if n == 10000 and full:
        fig("wallet.full10k", "wallet full sync of 10,000 records (pull, verify, store)", float(full.group(3)),
            "records/s", anchor=f"card verification alone {fmt(cards, 'cards/s')}", goal="≥ 10,000 /s",
            met=float(full.group(3)) >= 10000, code="crates/wallet/examples/wallet-bench.rs")
        fig("wallet.incremental", "wallet incremental sync, 1 new record, median", inc, "ms", goal="< 100 ms",
            met=(inc < 100) if inc else None, code="crates/wallet/examples/wallet-bench.rs")

# --- export ---
t = text("export-300")
pdf_rate = find("export-300", r"render_pdf\s+[0-9.]+ ms\s+([0-9]+) cards/s")
pdf_size = find("export-300", r"PDF size\s+([0-9]+) bytes")
write_rate = find("export-300", r"write_export\s+[0-9.]+ ms\s+([0-9]+) cards/s")
verify_rate = find("export-300", r"verify_export \(cards \+ proofs \+ summary\)\s+[0-9.]+ ms\s+([0-9]+) cards/s")
code = "crates/export/examples/export_bench.rs"
fig("export.write", "export file (write_export), 300 cards", write_rate, "cards/s", code=code)
fig("export.verify", "export verification (verify_export), 300 cards", verify_rate, "cards/s", code=code)
fig("export.pdf", "PDF rendering (render_pdf), 300 cards", pdf_rate, "cards/s", goal="≥ 300 cards/s",
    met=(pdf_rate >= 300) if pdf_rate else None, code=code)
fig("export.pdf_size", "PDF size for 300 cards", pdf_size / 1e6 if pdf_size else None, "MB", goal="< 1.5 MB",
    met=(pdf_size < 1.5e6) if pdf_size else None, code=code)

# --- output ---
with open(os.path.join(RUN, "figures.jsonl"), "w", encoding="utf-8") as f:
    for x in figures:
        f.write(json.dumps(x, ensure_ascii=False) + "\n")

lines = [f"Run {meta.get('date', '?')}, commit {meta.get('commit', '?')}, {meta.get('cpus', '?')} CPUs "
         f"({meta.get('cpu', '?')}), load average at start {meta.get('load_start', '?')}, at end "
         f"{meta.get('load_end', '?')}; {meta.get('settings', '')}.", "",
         "| figure | measured | anchor (same run) | goal | met |", "|---|---|---|---|---|"]
for x in figures:
    if x["id"].startswith("anchor."):
        continue
    v = fmt(x["value"], x["unit"]) + (f" ({x['note']})" if x["note"] else "")
    met = "—" if x["met"] is None else ("yes" if x["met"] else "**no**")
    lines.append(f"| {x['what']} | {v} | {x['anchor'] or '—'} | {x['goal'] or '—'} | {met} |")
lines += ["", "Anchors: " + "; ".join(f"{x['what']}: {fmt(x['value'], x['unit'])}" + (f" ({x['note']})" if x['note'] else "")
                                     for x in figures if x["id"].startswith("anchor."))]
lines += ["", "How costs grow:", "", "| log entries (SQLite) | appends/s (last step) | inclusion p50 | inclusion p99 | consistency p50 | RSS |",
          "|---|---|---|---|---|---|"]
for gr in growth:
    lines.append(f"| {gr['size']:,} | {fmt(gr['append'])} | {fmt(gr['inc_p50'], 'ms')} | {fmt(gr['inc_p99'], 'ms')} | "
                 f"{fmt(gr['con_p50'], 'ms')} | {fmt(gr['rss_mib'], 'MiB')} |")
lines += ["", "| `serve` processes on one PostgreSQL | issuance, 8 clients | p99 | errors |", "|---|---|---|---|"]
for p in procs:
    lines.append(f"| {p['processes']} | {fmt(p['issue'], 'records/s')} | {fmt(p['p99'], 'ms')} | {p['errors']} |")
lines += ["", "| wallet records | full sync | card verification alone | incremental sync |", "|---|---|---|---|"]
for w in sync:
    lines.append(f"| {w['records']:,} | {fmt(w['rate'], 'records/s')} | {fmt(w['cards'], 'cards/s')} | {fmt(w['incremental'], 'ms')} |")
table = "\n".join(lines) + "\n"
with open(os.path.join(RUN, "table.md"), "w", encoding="utf-8") as f:
    f.write(table)
print(table)

# --- growth data and the plot ---
with open(os.path.join(RUN, "growth-ledger.tsv"), "w") as f:
    for gr in growth:
        f.write(f"{gr['size']}\t{gr['append'] or 'NaN'}\t{gr['inc_p50'] or 'NaN'}\t{gr['inc_p99'] or 'NaN'}\t{gr['con_p50'] or 'NaN'}\n")
with open(os.path.join(RUN, "growth-processes.tsv"), "w") as f:
    for p in procs:
        f.write(f"{p['processes']}\t{p['issue']}\t{p['p99']}\n")
with open(os.path.join(RUN, "growth-wallet.tsv"), "w") as f:
    for w in sync:
        f.write(f"{w['records']}\t{w['rate']}\t{w['cards'] or 'NaN'}\n")
if PLOT:
    gp = f"""
set terminal pngcairo size 1500,480 font ",10"
set output "{os.path.abspath(PLOT)}"
set multiplot layout 1,3 title "Spondon: how costs grow ({meta.get('date', '')}, {meta.get('cpus', '?')} CPUs, load {meta.get('load_start', '?')})"
set grid
set key top left
set logscale x 10
set xlabel "log entries (SQLite)"
set ylabel "proof latency (ms)"
set y2label "appends/s"
set y2tics
set ytics nomirror
set title "ledger: proofs and appends by log size"
plot "{RUN}/growth-ledger.tsv" u 1:3 w lp t "inclusion p50 (ms)", "" u 1:4 w lp t "inclusion p99 (ms)", \\
     "" u 1:5 w lp t "consistency p50 (ms)", "" u 1:2 axes x1y2 w lp t "appends/s (right)"
unset logscale x
unset y2tics
unset y2label
set ytics mirror
set xlabel "serve processes on one PostgreSQL"
set ylabel "records/s"
set xrange [0.5:3.5]
set xtics 1
set yrange [0:*]
set title "issuance, 8 staff clients over HTTP"
plot "{RUN}/growth-processes.tsv" u 1:2 w lp lw 2 t "issuance/s"
set xrange [*:*]
set autoscale x
set xtics autofreq
set logscale x 10
set xlabel "records of the patient"
set ylabel "records/s"
set title "wallet full sync"
plot "{RUN}/growth-wallet.tsv" u 1:2 w lp lw 2 t "full sync", "" u 1:3 w lp t "card verification alone"
unset multiplot
"""
    with open(os.path.join(RUN, "plot.gp"), "w") as f:
        f.write(gp)
    r = subprocess.run(["gnuplot", os.path.join(RUN, "plot.gp")], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"plot failed: {r.stderr}", file=sys.stderr)
    else:
        print(f"plot: {PLOT}", file=sys.stderr)
