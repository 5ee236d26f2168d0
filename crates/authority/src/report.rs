//! The statistics report: `report.csv`, `report.json`, `dhis2.json` (DHIS2 `dataValueSets`),
//! `dhis2-mapping.json`, and `dashboard.html` (inline SVG, no script, no external resource; a
//! Content-Security-Policy that allows only its own style block).
//!
//! Totals shown anywhere here are sums of *shown* cells: a suppressed cell adds nothing, and a
//! total that misses one is marked "at least" (≥). No number is derived from a suppressed cell.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use spondon_core::stats::{self, IsoWeek, MergedCell};

use crate::AuthorityError;
use crate::stats::Collected;

/// DHIS2's default category option combo.
pub const DHIS2_DEFAULT_COC: &str = "HllvX50cXC0";

/// Ids to use in `dhis2.json`: a file given with `--dhis2-mapping`, or deterministic ids.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dhis2Mapping {
    /// Condition group → data element uid.
    #[serde(default)]
    pub data_elements: BTreeMap<String, String>,
    /// District → organisation unit uid.
    #[serde(default)]
    pub org_units: BTreeMap<String, String>,
    /// The category option combo (default: DHIS2's default).
    #[serde(default)]
    pub category_option_combo: Option<String>,
}

/// A DHIS2-style uid (11 characters, a letter first) derived from `seed`: stable across runs,
/// so a DHIS2 instance can be set up once with the ids from `dhis2-mapping.json`.
pub fn dhis2_uid(seed: &str) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let h = spondon_core::keys::sha256(format!("spondon-dhis2/{seed}").as_bytes());
    let mut s = String::with_capacity(11);
    s.push(char::from(LETTERS[usize::from(h[0]) % LETTERS.len()]));
    for b in &h[1..11] {
        s.push(char::from(ALNUM[usize::from(*b) % ALNUM.len()]));
    }
    s
}

fn is_dhis2_uid(s: &str) -> bool {
    s.len() == 11
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Dhis2Mapping {
    /// Reads and checks a mapping file.
    pub fn read(path: &Path) -> Result<Self, AuthorityError> {
        let bytes = crate::read_limited(path, 4 * 1024 * 1024)?;
        let m: Dhis2Mapping = serde_json::from_slice(&bytes).map_err(|e| AuthorityError::File {
            path: path.to_owned(),
            message: format!("not a DHIS2 mapping: {e}"),
        })?;
        let ids = m
            .data_elements
            .values()
            .chain(m.org_units.values())
            .chain(m.category_option_combo.iter());
        for id in ids {
            if !is_dhis2_uid(id) {
                return Err(AuthorityError::File {
                    path: path.to_owned(),
                    message: format!(
                        "{id:?} is not a DHIS2 uid (11 letters or digits, a letter first)"
                    ),
                });
            }
        }
        Ok(m)
    }
    fn data_element(&self, condition: &str) -> String {
        self.data_elements
            .get(condition)
            .cloned()
            .unwrap_or_else(|| dhis2_uid(&format!("dataElement/{condition}")))
    }
    fn org_unit(&self, district: &str) -> String {
        self.org_units
            .get(district)
            .cloned()
            .unwrap_or_else(|| dhis2_uid(&format!("orgUnit/{district}")))
    }
    fn coc(&self) -> String {
        self.category_option_combo
            .clone()
            .unwrap_or_else(|| DHIS2_DEFAULT_COC.to_owned())
    }
}

/// Members' names for the report.
pub type Names = BTreeMap<String, String>;

fn status(c: &MergedCell) -> &'static str {
    match (c.count, c.partial) {
        (None, _) => "suppressed",
        (Some(_), true) => "at_least",
        (Some(_), false) => "shown",
    }
}

/// CSV field: quoted when needed; a leading `= + - @` is neutralized (spreadsheet formulas).
fn csv(field: &str) -> String {
    let mut f = field.to_owned();
    if f.starts_with(['=', '+', '-', '@']) {
        f.insert(0, '\'');
    }
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

/// `report.csv`.
pub fn to_csv(cells: &[MergedCell]) -> String {
    let mut out = String::from(
        "condition,condition_label,week,district,upazila,age_band,sex,count,status,hospitals\n",
    );
    for c in cells {
        let k = &c.key;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            csv(&k.condition),
            csv(stats::condition_label(&k.condition).unwrap_or("")),
            k.week,
            csv(&k.district),
            csv(k.upazila.as_deref().unwrap_or("")),
            csv(k.age_band.as_deref().unwrap_or("")),
            csv(k.sex.as_deref().unwrap_or("")),
            c.count.map(|n| n.to_string()).unwrap_or_default(),
            status(c),
            c.hospitals
        );
    }
    out
}

/// `dhis2.json`: one data value per shown district cell (district × week × condition group).
/// "At least" values are sent as the shown sum, with a comment saying so.
pub fn to_dhis2(cells: &[MergedCell], mapping: &Dhis2Mapping) -> serde_json::Value {
    let coc = mapping.coc();
    let values: Vec<serde_json::Value> = cells
        .iter()
        .filter(|c| c.key.is_district())
        .filter_map(|c| {
            let n = c.count?;
            let mut v = serde_json::json!({
                "dataElement": mapping.data_element(&c.key.condition),
                "period": c.key.week.dhis2(),
                "orgUnit": mapping.org_unit(&c.key.district),
                "categoryOptionCombo": coc,
                "value": n.to_string(),
            });
            if c.partial {
                v["comment"] = "at least: some hospitals suppressed a small count here".into();
            }
            Some(v)
        })
        .collect();
    serde_json::json!({ "dataValues": values })
}

fn mapping_used(cells: &[MergedCell], mapping: &Dhis2Mapping) -> Dhis2Mapping {
    let mut used = Dhis2Mapping {
        category_option_combo: Some(mapping.coc()),
        ..Dhis2Mapping::default()
    };
    for c in cells {
        used.data_elements
            .entry(c.key.condition.clone())
            .or_insert_with(|| mapping.data_element(&c.key.condition));
        used.org_units
            .entry(c.key.district.clone())
            .or_insert_with(|| mapping.org_unit(&c.key.district));
    }
    used
}

/// Writes every file of the report into `dir` (created if needed).
pub fn write(
    dir: &Path,
    collected: &Collected,
    names: &Names,
    mapping: &Dhis2Mapping,
    generated_at: i64,
) -> Result<(), AuthorityError> {
    std::fs::create_dir_all(dir).map_err(|e| crate::file_err(dir, e))?;
    let q = &collected.query;
    let json = serde_json::json!({
        "format": "spondon-stats-report/v1",
        "generated_at": generated_at,
        "from": q.from,
        "to": q.to,
        "k": stats::K,
        "hospitals": collected.accepted.iter().map(|v| serde_json::json!({
            "id": v.hospital,
            "name": names.get(&v.hospital),
            "sequence": v.aggregate.sequence,
            "generated_at": v.aggregate.generated_at,
            "log_index": v.log_index,
            "tree_size": v.tree_size,
            "cells": v.aggregate.cells.len(),
        })).collect::<Vec<_>>(),
        "refused": collected.refused.iter().map(|e| serde_json::json!({
            "code": e.code(), "error": e.to_string(),
        })).collect::<Vec<_>>(),
        "cells": collected.merged,
    });
    let put = |name: &str, bytes: &[u8]| crate::write_atomic(&dir.join(name), bytes);
    let pretty = |v: &serde_json::Value| {
        serde_json::to_vec_pretty(v).map_err(|source| AuthorityError::Json {
            what: "the report",
            source,
        })
    };
    put("report.json", &pretty(&json)?)?;
    put("report.csv", to_csv(&collected.merged).as_bytes())?;
    put(
        "dhis2.json",
        &pretty(&to_dhis2(&collected.merged, mapping))?,
    )?;
    let used =
        serde_json::to_value(mapping_used(&collected.merged, mapping)).map_err(|source| {
            AuthorityError::Json {
                what: "the DHIS2 mapping used",
                source,
            }
        })?;
    put("dhis2-mapping.json", &pretty(&used)?)?;
    put(
        "dashboard.html",
        dashboard(collected, names, generated_at).as_bytes(),
    )?;
    Ok(())
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

const PALETTE: &[&str] = &[
    "#c2410c", "#1d4ed8", "#15803d", "#7e22ce", "#0e7490", "#a16207",
];

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1f2933}
header{background:#0f3d3e;color:#fff;padding:20px 32px}
header h1{margin:0 0 6px;font-size:24px;font-weight:600}
header p{margin:0;opacity:.85;font-size:14px}
main{padding:20px 32px;max-width:1320px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin-bottom:20px}
.card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .n{font-size:24px;font-weight:650}
.card .l{font-size:13px;color:#52606d}
.card .s{font-size:12px;color:#7b8794;margin-top:4px}
section{background:#fff;border-radius:8px;padding:16px 20px;margin-bottom:18px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
section h2{margin:0 0 10px;font-size:19px}
.grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
figure{margin:0}
figcaption{font-size:13px;color:#52606d;margin-bottom:4px}
svg{width:100%;height:auto;display:block}
.grid>figure svg{max-width:560px}
svg text{font-family:inherit}
.note{font-size:13px;color:#52606d;line-height:1.5}
.refused{background:#fff4e5;border-left:4px solid #d97706}
table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 10px 3px 0;text-align:left}
details summary{cursor:pointer}
@media (max-width:900px){.grid{grid-template-columns:1fr}main{padding:12px}}
";

/// week → (shown count, or `None` if suppressed; partial).
type WeekCounts = BTreeMap<IsoWeek, (Option<u64>, bool)>;

/// District cells per condition and district.
struct Series {
    /// condition → district → week counts
    data: BTreeMap<String, BTreeMap<String, WeekCounts>>,
}

impl Series {
    fn new(cells: &[MergedCell]) -> Self {
        let mut data: BTreeMap<String, BTreeMap<String, WeekCounts>> = BTreeMap::new();
        for c in cells.iter().filter(|c| c.key.is_district()) {
            data.entry(c.key.condition.clone())
                .or_default()
                .entry(c.key.district.clone())
                .or_default()
                .insert(c.key.week, (c.count, c.partial));
        }
        Series { data }
    }
}

fn weeks(from: IsoWeek, to: IsoWeek) -> Vec<IsoWeek> {
    let mut v = vec![from];
    while let Some(last) = v.last().copied() {
        if last >= to || v.len() > 200 {
            break;
        }
        v.push(last.next());
    }
    v
}

fn nice_max(v: u64) -> u64 {
    let v = v.max(10);
    let mag = 10u64.pow((v as f64).log10().floor() as u32);
    for m in [1, 2, 5, 10] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10 * mag
}

/// A line chart: one line per series (gaps where a week is suppressed), weekly x axis.
fn line_chart(weeks: &[IsoWeek], lines: &[(String, &str, Vec<Option<u64>>)], area: bool) -> String {
    let (w, h, l, r, t, b) = (640.0, 250.0, 48.0, 12.0, 12.0, 34.0);
    let max = nice_max(
        lines
            .iter()
            .flat_map(|s| s.2.iter().flatten())
            .copied()
            .max()
            .unwrap_or(0),
    );
    let n = weeks.len().max(2) as f64 - 1.0;
    let x = |i: usize| l + (w - l - r) * i as f64 / n;
    let y = |v: u64| t + (h - t - b) * (1.0 - v as f64 / max as f64);
    let mut s =
        format!("<svg viewBox=\"0 0 {w} {h}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
    for i in 0..=5 {
        let v = max * i / 5;
        let yy = y(v);
        let _ = write!(
            s,
            "<line x1=\"{l}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e7eb\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#7b8794\">{}</text>",
            w - r,
            l - 6.0,
            yy + 4.0,
            thousands(v)
        );
    }
    let step = (weeks.len() / 8).max(1);
    let last = weeks.len().saturating_sub(1);
    for (i, wk) in weeks.iter().enumerate() {
        // Every `step`-th week, and the last one (right-aligned) unless a label is too close.
        let labelled = i == last || (i % step == 0 && last - i > step.div_ceil(2));
        if labelled {
            let anchor = if i == last && i > 0 { "end" } else { "middle" };
            let _ = write!(
                s,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#9aa5b1\"/><text x=\"{0:.1}\" y=\"{3}\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#52606d\">{4}</text>",
                x(i),
                h - b,
                h - b + 4.0,
                h - b + 17.0,
                esc(&wk.to_string())
            );
        }
    }
    let _ = write!(
        s,
        "<line x1=\"{l}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#9aa5b1\"/>",
        w - r,
        h - b,
        h - b
    );
    for (_, color, values) in lines {
        // Runs of consecutive shown weeks.
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut cur = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => cur.push((x(i), y(*v))),
                None => {
                    if !cur.is_empty() {
                        runs.push(std::mem::take(&mut cur));
                    }
                }
            }
        }
        if !cur.is_empty() {
            runs.push(cur);
        }
        for run in runs {
            let pts: Vec<String> = run.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            if area && run.len() > 1 {
                let (x0, x1) = (run[0].0, run[run.len() - 1].0);
                let _ = write!(
                    s,
                    "<polygon points=\"{x0:.1},{0} {1} {x1:.1},{0}\" fill=\"{color}\" fill-opacity=\"0.18\"/>",
                    h - b,
                    pts.join(" ")
                );
            }
            if run.len() == 1 {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{color}\"/>",
                    run[0].0, run[0].1
                );
            } else {
                let _ = write!(
                    s,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                    pts.join(" ")
                );
            }
        }
    }
    s.push_str("</svg>");
    if lines.len() > 1 {
        s.push_str("<svg viewBox=\"0 0 640 24\" xmlns=\"http://www.w3.org/2000/svg\">");
        let mut xx = l;
        for (name, color, _) in lines {
            let _ = write!(
                s,
                "<rect x=\"{xx:.1}\" y=\"7\" width=\"14\" height=\"4\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"14\" font-size=\"12\" fill=\"#1f2933\">{}</text>",
                xx + 18.0,
                esc(name)
            );
            xx += 26.0 + 7.0 * name.chars().count() as f64;
        }
        s.push_str("</svg>");
    }
    s
}

/// Horizontal bars, largest first.
fn bar_chart(rows: &[(String, u64, bool)]) -> String {
    let (w, bar_h, gap, l, r) = (420.0, 16.0, 6.0, 110.0, 70.0);
    let h = rows.len() as f64 * (bar_h + gap) + 6.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let mut s = format!(
        "<svg viewBox=\"0 0 {w} {h:.0}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (name, v, partial)) in rows.iter().enumerate() {
        let yy = 3.0 + i as f64 * (bar_h + gap);
        let bw = ((w - l - r) * *v as f64 / max as f64).max(if *v > 0 { 1.0 } else { 0.0 });
        let label = if *v == 0 {
            "suppressed".to_owned()
        } else if *partial {
            format!("≥ {}", thousands(*v))
        } else {
            thousands(*v)
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1f2933\">{}</text><rect x=\"{l}\" y=\"{yy:.1}\" width=\"{bw:.1}\" height=\"{bar_h}\" rx=\"2\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#52606d\">{}</text>",
            l - 8.0,
            yy + 12.0,
            esc(name),
            if *v == 0 { "#cbd2d9" } else { "#0f766e" },
            l + bw + 6.0,
            yy + 12.0,
            esc(&label)
        );
    }
    s.push_str("</svg>");
    s
}

/// `dashboard.html`.
pub fn dashboard(collected: &Collected, names: &Names, generated_at: i64) -> String {
    let q = &collected.query;
    let weeks = weeks(q.from, q.to);
    let series = Series::new(&collected.merged);
    let style_hash = spondon_core::b64::encode(spondon_core::keys::sha256(STYLE.as_bytes()));
    // base64url → base64 for the CSP source expression.
    let style_hash: String = style_hash
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let pad = "=".repeat((4 - style_hash.len() % 4) % 4);
    let hospitals: Vec<String> = collected
        .accepted
        .iter()
        .map(|v| esc(names.get(&v.hospital).unwrap_or(&v.hospital)))
        .collect();
    let (gy, gm, gd) = stats::week::civil_from_days(generated_at.div_euclid(86_400));
    let mut s = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{style_hash}{pad}'\"><title>Spondon — de-identified disease statistics</title><style>{STYLE}</style></head><body><header><h1>De-identified disease statistics</h1><p>Weeks {} to {} · {} hospital(s) reporting · cells under {} patients suppressed · generated {gy:04}-{gm:02}-{gd:02} UTC</p></header><main>",
        q.from,
        q.to,
        collected.accepted.len(),
        stats::K
    );
    // Summary cards.
    s.push_str("<div class=\"cards\">");
    let mut order: Vec<(&str, u64, bool)> = Vec::new();
    for (code, _, _) in stats::CONDITION_GROUPS {
        let Some(by_district) = series.data.get(*code) else {
            continue;
        };
        let mut total = 0u64;
        let mut partial = false;
        for weeks in by_district.values() {
            for (v, p) in weeks.values() {
                match v {
                    Some(v) => total += v,
                    None => partial = true,
                }
                partial |= *p;
            }
        }
        order.push((code, total, partial));
    }
    for (code, total, partial) in &order {
        let by_district = series.data.get(*code);
        let peak = weeks
            .iter()
            .map(|w| {
                let sum: u64 = by_district
                    .map(|d| d.values().filter_map(|m| m.get(w).and_then(|x| x.0)).sum())
                    .unwrap_or(0);
                (sum, *w)
            })
            .max();
        let _ = write!(
            s,
            "<div class=\"card\"><div class=\"n\">{}</div><div class=\"l\">{} patients</div><div class=\"s\">{}</div></div>",
            match (*total, *partial) {
                (0, _) => "—".to_owned(),
                (t, true) => format!("≥ {}", thousands(t)),
                (t, false) => thousands(t),
            },
            esc(stats::condition_label(code).unwrap_or(code)),
            match peak {
                Some((n, w)) if n > 0 => format!("peak week {w}: {}", thousands(n)),
                _ => format!("every count under {} (suppressed)", stats::K),
            }
        );
    }
    s.push_str("</div>");
    if !collected.refused.is_empty() {
        s.push_str("<section class=\"refused\"><h2>Hospitals left out</h2><ul class=\"note\">");
        for e in &collected.refused {
            let _ = write!(s, "<li>{} ({})</li>", esc(&e.to_string()), e.code());
        }
        s.push_str("</ul></section>");
    }
    for (code, total, _) in &order {
        let Some(by_district) = series.data.get(*code) else {
            continue;
        };
        let label = stats::condition_label(code).unwrap_or(code);
        if *total == 0 {
            let _ = write!(
                s,
                "<section><h2>{}</h2><p class=\"note\">Reported in {} district(s), but under {} patients in every district and week: all counts are suppressed.</p></section>",
                esc(label),
                by_district.len(),
                stats::K
            );
            continue;
        }
        // District totals over the period (shown cells only).
        let mut ranked: Vec<(String, u64, bool)> = by_district
            .iter()
            .map(|(d, m)| {
                let shown: u64 = m.values().filter_map(|v| v.0).sum();
                let partial = m.values().any(|v| v.0.is_none() || v.1);
                (d.clone(), shown, partial)
            })
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let all: Vec<Option<u64>> = weeks
            .iter()
            .map(|w| {
                let vals: Vec<u64> = by_district
                    .values()
                    .filter_map(|m| m.get(w).and_then(|x| x.0))
                    .collect();
                Some(vals.iter().sum())
            })
            .collect();
        // A trend needs shown weeks: districts shown in at least two thirds of the weeks.
        let top: Vec<(String, &str, Vec<Option<u64>>)> = ranked
            .iter()
            .filter(|r| {
                let shown = by_district[&r.0].values().filter(|v| v.0.is_some()).count();
                r.1 > 0 && shown * 3 >= weeks.len() * 2
            })
            .take(PALETTE.len())
            .enumerate()
            .map(|(i, (d, _, _))| {
                let m = &by_district[d];
                let vals = weeks
                    .iter()
                    .map(|w| match m.get(w) {
                        Some((v, _)) => *v,
                        None => Some(0),
                    })
                    .collect();
                (d.clone(), PALETTE[i], vals)
            })
            .collect();
        let trend = if top.is_empty() {
            format!(
                "<p class=\"note\">No district has {} or more patients in enough weeks to draw a trend; see the ranking and the national curve.</p>",
                stats::K
            )
        } else {
            line_chart(&weeks, &top, false)
        };
        let suppressed: BTreeSet<&String> =
            ranked.iter().filter(|r| r.1 == 0).map(|r| &r.0).collect();
        let _ = write!(
            s,
            "<section><h2>{}</h2><div class=\"grid\"><div><figure><figcaption>All districts, patients per week (shown cells)</figcaption>{}</figure><figure><figcaption>Weekly trend in the districts with most patients (gaps: suppressed weeks)</figcaption>{}</figure></div><figure><figcaption>Districts ranked by patients over the period</figcaption>{}</figure></div>",
            esc(label),
            line_chart(
                &weeks,
                &[("all districts".to_owned(), "#0f3d3e", all)],
                true
            ),
            trend,
            bar_chart(
                &ranked
                    .iter()
                    .filter(|r| r.1 > 0)
                    .take(14)
                    .cloned()
                    .collect::<Vec<_>>()
            ),
        );
        if !suppressed.is_empty() {
            let list: Vec<String> = suppressed.iter().map(|d| esc(d)).collect();
            let _ = write!(
                s,
                "<details class=\"note\"><summary>{} district(s) with every count suppressed (under {} patients in every week)</summary><p>{}.</p></details>",
                list.len(),
                stats::K,
                list.join(", ")
            );
        }
        s.push_str("</section>");
    }
    let _ = write!(
        s,
        "<section><h2>About these numbers</h2><p class=\"note\">Each hospital counts patients by condition group (from ICD-10 codes), ISO week and district, and within a district by upazila, age band and sex; it suppresses every count under {k} and enough others that no suppressed count can be worked out from the rest, signs the result and commits it to its transparency log. This report merges the verified reports of: {}. A merged count is the sum of the counts the hospitals showed; where a hospital suppressed a count the merged value is marked “≥” (at least). Totals are sums of shown cells only, so no suppressed count can be recovered by comparing totals across weeks or hospitals.</p></section></main></body></html>",
        hospitals.join(", "),
        k = stats::K
    );
    s
}
