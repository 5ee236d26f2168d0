//! `spondon-authority stats` against real hospital peers on 127.0.0.1 (SQLite files, and
//! PostgreSQL when `SPONDON_TEST_POSTGRES_URL` is set): the seeded dengue scenario (3 cases
//! suppressed, 40 shown), differencing across reports and across hospitals, a non-authority
//! key refused, tampered and replayed aggregates refused (library and CLI, through a
//! man-in-the-middle proxy), and the dashboard rendered in headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use spondon_authority::stats::{
    StatsAnswer, StatsFetchError, StatsQuery, collect, fetch, verify_answer,
};
use spondon_authority::{Authority, Member};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Jwk};
use spondon_core::stats::{Aggregate, Cell, IsoWeek};
use spondon_testkit::browser;
use spondon_testkit::db::{engines, postgres_url};
use spondon_testkit::inproc::{self, TestPeer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TIMEOUT: Duration = Duration::from_secs(120);

/// A peer of `url` served in this process (SQLite, or the PostgreSQL database `db`) that takes
/// statistics queries signed by these authority keys.
async fn start_peer(url: &str, db: Option<&str>, authority_keys: Vec<Jwk>) -> TestPeer {
    let (dir, token) = inproc::init_dir(url, db).await;
    inproc::serve_dir(dir, token, None, |config| {
        config.stats_authority_keys = authority_keys;
    })
    .await
}

async fn member(id: &str, p: &TestPeer) -> Member {
    Member {
        id: id.into(),
        name: format!("Hospital {id}"),
        peer_url: p.peer.config.url.clone(),
        record_keys: p.peer.jwks().await.unwrap(),
        log_vkey: p.peer.log_vkey(),
    }
}

fn this_week() -> IsoWeek {
    IsoWeek::from_unix(NumericDate::now().seconds())
}

fn district(agg_cells: &[Cell], condition: &str, week: IsoWeek, d: &str) -> Option<Option<u64>> {
    agg_cells
        .iter()
        .find(|c| {
            c.key.is_district()
                && c.key.condition == condition
                && c.key.week == week
                && c.key.district == d
        })
        .map(|c| c.count)
}

/// The published cells a report gives for `week` (a map key → count).
fn week_cells(cells: &[Cell], week: IsoWeek) -> BTreeMap<String, Option<u64>> {
    cells
        .iter()
        .filter(|c| c.key.week == week)
        .map(|c| (serde_json::to_string(&c.key).unwrap(), c.count))
        .collect()
}

/// Sums of *shown* cells per district over a report: what any total in a report is.
fn shown_totals(cells: &[Cell]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for c in cells.iter().filter(|c| c.key.is_district()) {
        *m.entry(format!("{}/{}", c.key.condition, c.key.district))
            .or_insert(0) += c.count.unwrap_or(0);
    }
    m
}

async fn scenario(db: Option<String>) {
    let adir = tempfile::tempdir().unwrap();
    let mut authority = Authority::init(adir.path(), "DGHS").unwrap();
    let key = authority.stats_key().unwrap();
    let jwk = key.public_key().to_jwk();
    let a = start_peer("https://dmch.example", db.as_deref(), vec![jwk.clone()]).await;
    let b_db = match &db {
        Some(_) => postgres_url("dengue_scenario_differencing_tamper_replay").await,
        None => None,
    };
    let b = start_peer("https://cmch.example", b_db.as_deref(), vec![jwk]).await;
    // Hospital A: the dengue scenario (Sylhet 3, Dhaka 40). Hospital B: 12 in Sylhet.
    spondon_peer::seed::seed_dengue_scenario(&a.peer, 7)
        .await
        .unwrap();
    spondon_peer::seed::seed_diagnoses(&b.peer, &[("Sylhet", "Beanibazar", 12)], "A97.0", 8)
        .await
        .unwrap();
    authority.add(member("dmch", &a).await, false).unwrap();
    authority.add(member("cmch", &b).await, false).unwrap();
    let urls: BTreeMap<String, String> =
        [("dmch".to_owned(), a.base()), ("cmch".to_owned(), b.base())].into();
    let w = this_week();
    let prev = IsoWeek::from_days(w.monday() - 7);

    // --- The scenario: 40 shown, 3 suppressed.
    let first = collect(
        &authority,
        &urls,
        StatsQuery::new(prev, w).unwrap(),
        &spondon_net::Client::new(&Default::default()).unwrap(),
        TIMEOUT,
    )
    .await
    .unwrap();
    assert!(first.refused.is_empty(), "{:?}", first.refused);
    let agg_a = &first
        .accepted
        .iter()
        .find(|v| v.hospital == "dmch")
        .unwrap()
        .aggregate;
    let agg_b = &first
        .accepted
        .iter()
        .find(|v| v.hospital == "cmch")
        .unwrap()
        .aggregate;
    assert_eq!(district(&agg_a.cells, "dengue", w, "Dhaka"), Some(Some(40)));
    assert_eq!(district(&agg_a.cells, "dengue", w, "Sylhet"), Some(None));
    assert_eq!(
        district(&agg_b.cells, "dengue", w, "Sylhet"),
        Some(Some(12))
    );
    // No shown cell anywhere below k; Keraniganj (6) is hidden, with a complement.
    for agg in [agg_a, agg_b] {
        assert!(agg.cells.iter().all(|c| c.count.is_none_or(|n| n >= 10)));
    }
    let keraniganj = agg_a
        .cells
        .iter()
        .find(|c| c.key.upazila.as_deref() == Some("Keraniganj"))
        .unwrap();
    assert_eq!(keraniganj.count, None);
    assert!(
        agg_a
            .cells
            .iter()
            .filter(|c| c.key.upazila.is_some() && c.key.district == "Dhaka" && c.count.is_none())
            .count()
            >= 2
    );

    // --- Two hospitals: the merged Sylhet count is what B showed, marked "at least"; merged
    // minus B reveals nothing of A's 3, and every merged number is a sum of shown numbers.
    let sylhet = first
        .merged
        .iter()
        .find(|c| c.key.is_district() && c.key.district == "Sylhet" && c.key.week == w)
        .unwrap();
    assert_eq!(sylhet.count, Some(12));
    assert!(sylhet.partial);
    for m in &first.merged {
        let shown: u64 = [agg_a, agg_b]
            .iter()
            .flat_map(|a| a.cells.iter())
            .filter(|c| c.key == m.key)
            .filter_map(|c| c.count)
            .sum();
        if let Some(n) = m.count {
            assert_eq!(n, shown, "merged {:?} is not a sum of shown cells", m.key);
        }
    }

    // --- Two reports over time: 8 more Sylhet cases after this week was reported go to the
    // next week, so the second report shows this week exactly as the first did (3 + 8 = 11
    // would otherwise turn the suppressed cell into a shown 11 and reveal the 3).
    spondon_peer::seed::seed_diagnoses(&a.peer, &[("Sylhet", "Beanibazar", 8)], "A97.0", 9)
        .await
        .unwrap();
    let second = collect(
        &authority,
        &urls,
        StatsQuery::new(prev, w).unwrap(),
        &spondon_net::Client::new(&Default::default()).unwrap(),
        TIMEOUT,
    )
    .await
    .unwrap();
    assert!(second.refused.is_empty(), "{:?}", second.refused);
    let agg_a2 = &second
        .accepted
        .iter()
        .find(|v| v.hospital == "dmch")
        .unwrap()
        .aggregate;
    assert!(agg_a2.sequence > agg_a.sequence);
    assert_eq!(week_cells(&agg_a.cells, w), week_cells(&agg_a2.cells, w));
    assert_eq!(shown_totals(&agg_a.cells), shown_totals(&agg_a2.cells));
    let next = a.peer.stat_counts(w.next(), w.next()).await.unwrap();
    assert_eq!(next.iter().map(|c| c.count).sum::<u64>(), 8);

    // --- A key that is not the authority's is refused (403), with a clear code.
    let stranger = Es256KeyPair::generate().unwrap();
    let m = member("dmch", &a).await;
    let q = StatsQuery::new(prev, w).unwrap();
    match fetch(
        &m,
        &a.base(),
        &stranger,
        &q,
        &spondon_net::Client::new(&Default::default()).unwrap(),
        TIMEOUT,
    )
    .await
    {
        Err(StatsFetchError::Refused { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (403, "not_authority"));
        }
        other => panic!("a stranger got {other:?}"),
    }
    // Unsigned: 401.
    let json_type = [("content-type".to_owned(), "application/json".to_owned())];
    let body = json!({"from": prev, "to": w, "challenge": spondon_core::b64::encode([1u8; 16])});
    let r = raw(
        a.addr,
        "POST",
        "/authority/stats",
        &json_type,
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.0, 401, "{}", String::from_utf8_lossy(&r.1));

    // --- Tampered and replayed answers are refused by the library.
    let q = StatsQuery::new(prev, w).unwrap();
    let answer = fetch(
        &m,
        &a.base(),
        &key,
        &q,
        &spondon_net::Client::new(&Default::default()).unwrap(),
        TIMEOUT,
    )
    .await
    .unwrap();
    let state = authority.stats_state().unwrap();
    let last = state.get("dmch");
    let now = NumericDate::now();
    let ok = verify_answer(&m, answer.clone(), &q, last, now).unwrap();
    assert_eq!(ok.hospital, "dmch");
    let err = verify_answer(&m, tamper(&answer), &q, last, now).unwrap_err();
    assert_eq!(err.code(), "stats_tampered", "{err}");
    // A different salt: the commitment does not open.
    let mut bad_salt = answer.clone();
    bad_salt.salt = spondon_core::b64::encode([0u8; 32]);
    assert_eq!(
        verify_answer(&m, bad_salt, &q, last, now)
            .unwrap_err()
            .code(),
        "stats_not_logged"
    );
    // The same answer for a new request (new challenge): a replay.
    let q2 = StatsQuery::new(prev, w).unwrap();
    let err = verify_answer(&m, answer.clone(), &q2, last, now).unwrap_err();
    assert_eq!(err.code(), "stats_replayed", "{err}");
    // A sequence number not above the last accepted: a replay.
    let accepted = spondon_authority::stats::Accepted {
        sequence: ok.aggregate.sequence,
        generated_at: ok.aggregate.generated_at,
        log_index: ok.log_index,
    };
    let err = verify_answer(&m, answer.clone(), &q, Some(&accepted), now).unwrap_err();
    assert_eq!(err.code(), "stats_replayed", "{err}");
    // Another period than asked: a replay.
    let q3 = StatsQuery {
        from: w,
        ..q.clone()
    };
    assert_eq!(
        verify_answer(&m, answer.clone(), &q3, last, now)
            .unwrap_err()
            .code(),
        "stats_replayed"
    );
    // Old: generated long ago.
    let later = NumericDate(now.seconds() + 3600);
    assert_eq!(
        verify_answer(&m, answer.clone(), &q, last, later)
            .unwrap_err()
            .code(),
        "stats_stale"
    );

    // --- Through the CLI, with a man-in-the-middle between the authority and hospital A.
    let cli_data = adir.path();
    let mitm = Mitm::start(a.addr).await;
    let out = tempfile::tempdir().unwrap();
    let run = |peer_a: String| {
        let args = vec![
            "stats".to_owned(),
            "--data".to_owned(),
            cli_data.display().to_string(),
            "--out".to_owned(),
            out.path().display().to_string(),
            "--from".to_owned(),
            prev.to_string(),
            "--to".to_owned(),
            w.to_string(),
            "--peer".to_owned(),
            format!("dmch={peer_a}"),
            "--peer".to_owned(),
            format!("cmch={}", b.base()),
        ];
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_spondon-authority"))
                    .args(&args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    // Honest proxy: the report is written.
    mitm.set(Mode::Pass);
    let o = run(mitm.base()).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "report.csv",
        "report.json",
        "dhis2.json",
        "dhis2-mapping.json",
        "dashboard.html",
    ] {
        assert!(out.path().join(f).is_file(), "{f} missing");
    }
    let dhis2: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("dhis2.json")).unwrap()).unwrap();
    let values = dhis2["dataValues"].as_array().unwrap();
    assert!(
        values
            .iter()
            .any(|v| v["period"] == w.dhis2().as_str() && v["value"] == "40")
    );
    assert!(values.iter().all(|v| v["value"] != "3"));
    let csv = std::fs::read_to_string(out.path().join("report.csv")).unwrap();
    assert!(csv.starts_with("condition,condition_label,week,district,"));
    assert!(csv.contains(&format!("dengue,Dengue,{w},Dhaka,,,,40,shown,1")));
    let captured = mitm.last_answer().unwrap();
    std::fs::remove_file(out.path().join("report.json")).unwrap();
    // Tampering proxy: refused, nothing written.
    mitm.set(Mode::Tamper);
    let o = run(mitm.base()).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("dmch: the aggregate is refused as tampered"),
        "{err}"
    );
    assert!(err.contains("[stats_tampered]"), "{err}");
    assert!(!out.path().join("report.json").exists());
    // Replaying proxy: the answer captured earlier, for an earlier request.
    mitm.set(Mode::Replay(captured));
    let o = run(mitm.base()).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("dmch: the aggregate is refused as a replay"),
        "{err}"
    );
    assert!(err.contains("[stats_replayed]"), "{err}");
    assert!(!out.path().join("report.json").exists());

    a.stop().await;
    b.stop().await;
}

#[test]
fn dengue_scenario_differencing_tamper_replay() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for db in engines("dengue_scenario_differencing_tamper_replay").await {
            Box::pin(scenario(db)).await;
        }
    });
}

/// Changes one shown count in the aggregate's payload and keeps the signature.
fn tamper(answer: &StatsAnswer) -> StatsAnswer {
    let mut parts: Vec<String> = answer.aggregate.split('.').map(str::to_owned).collect();
    let payload = spondon_core::b64::decode(&parts[1]).unwrap();
    let mut agg: Value = serde_json::from_slice(&payload).unwrap();
    let cells = agg["cells"].as_array_mut().unwrap();
    let cell = cells.iter_mut().find(|c| c["count"].is_u64()).unwrap();
    cell["count"] = json!(cell["count"].as_u64().unwrap() + 1);
    parts[1] = spondon_core::b64::encode(serde_json::to_vec(&agg).unwrap());
    StatsAnswer {
        aggregate: parts.join("."),
        ..answer.clone()
    }
}

async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = spondon_testkit::http::request(addr, method, path, &headers, body).await;
    (r.status, r.body)
}

#[derive(Clone)]
enum Mode {
    Pass,
    Tamper,
    Replay(Vec<u8>),
}

/// A man-in-the-middle HTTP proxy in front of a peer.
struct Mitm {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    last: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Mitm {
    async fn start(upstream: SocketAddr) -> Mitm {
        let mode = Arc::new(Mutex::new(Mode::Pass));
        let last = Arc::new(Mutex::new(None));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (m, l) = (mode.clone(), last.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let (m, l) = (m.clone(), l.clone());
                tokio::spawn(async move {
                    // Read one request (head + Content-Length body).
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 8192];
                    let (head_end, len) = loop {
                        let n = s.read(&mut tmp).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&tmp[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map(|v| v.trim().parse::<usize>().unwrap())
                                .unwrap_or(0);
                            break (i + 4, len);
                        }
                    };
                    while buf.len() < head_end + len {
                        let n = s.read(&mut tmp).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&tmp[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let mut lines = head.lines();
                    let first: Vec<&str> = lines.next().unwrap().split(' ').collect();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .filter(|(k, _)| {
                            k.eq_ignore_ascii_case("spondon-signature")
                                || k.eq_ignore_ascii_case("content-type")
                        })
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .collect();
                    let (status, mut body) =
                        raw(upstream, first[0], first[1], &headers, &buf[head_end..]).await;
                    if first[1] == "/authority/stats" && status == 200 {
                        let mode = m.lock().unwrap().clone();
                        match mode {
                            Mode::Pass => *l.lock().unwrap() = Some(body.clone()),
                            Mode::Tamper => {
                                let a: StatsAnswer = serde_json::from_slice(&body).unwrap();
                                body = serde_json::to_vec(&tamper(&a)).unwrap();
                            }
                            Mode::Replay(old) => body = old,
                        }
                    }
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(resp.as_bytes()).await;
                    let _ = s.write_all(&body).await;
                });
            }
        });
        Mitm { addr, mode, last }
    }
    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    fn last_answer(&self) -> Option<Vec<u8>> {
        self.last.lock().unwrap().clone()
    }
}

/// Three hospitals with a year of synthetic cases (the bulk path) and the dengue scenario;
/// the dashboard is rendered by headless Chromium with its Content-Security-Policy enforced.
#[test]
fn dashboard_renders_in_headless_chromium() {
    let Some(chromium) = browser::which("chromium").or_else(|| browser::which("chromium-browser"))
    else {
        if std::env::var("SPONDON_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("SPONDON_REQUIRE_BROWSER=1 but chromium is not installed");
        }
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let out = browser::artifacts("stats");
    rt.block_on(async {
        let adir = tempfile::tempdir().unwrap();
        let mut authority = Authority::init(adir.path(), "DGHS").unwrap();
        let jwk = authority.stats_key().unwrap().public_key().to_jwk();
        let w = this_week();
        let mut peers = Vec::new();
        let mut urls = BTreeMap::new();
        for (i, id) in ["dmch", "cmch", "somch"].iter().enumerate() {
            let p = start_peer(&format!("https://{id}.example"), None, vec![jwk.clone()]).await;
            spondon_peer::seed::bulk_stat_cases(&p.peer, 30_000, i as u64 + 1, w)
                .await
                .unwrap();
            let mut m = member(id, &p).await;
            m.name = [
                "Dhaka Medical College Hospital",
                "Chattogram Medical College Hospital",
                "Sylhet MAG Osmani Medical College Hospital",
            ][i]
                .into();
            authority.add(m, false).unwrap();
            urls.insert((*id).to_owned(), p.base());
            peers.push(p);
        }
        let from = IsoWeek::from_days(w.monday() - 51 * 7);
        let collected = collect(
            &authority,
            &urls,
            StatsQuery::new(from, w).unwrap(),
            &spondon_net::Client::new(&Default::default()).unwrap(),
            TIMEOUT,
        )
        .await
        .unwrap();
        assert!(collected.refused.is_empty(), "{:?}", collected.refused);
        let names = authority
            .members()
            .iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect();
        spondon_authority::report::write(
            &out,
            &collected,
            &names,
            &Default::default(),
            NumericDate::now().seconds(),
        )
        .unwrap();
        for p in peers {
            p.stop().await;
        }
    });
    let html = out.join("dashboard.html");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("Content-Security-Policy"));
    assert!(!text.contains("<script"));
    assert!(!text.contains("src=\"http"));
    for size in ["1280,2200", "820,2600"] {
        let png = out.join(format!("dashboard-{}.png", size.split(',').next().unwrap()));
        let _ = std::fs::remove_file(&png);
        let profile = tempfile::tempdir().unwrap();
        let o = std::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
                &format!("--user-data-dir={}", profile.path().display()),
                &format!("--window-size={size}"),
                &format!("--screenshot={}", png.display()),
                &format!("file://{}", html.display()),
            ])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{log}");
        assert!(
            !log.contains("Content Security Policy"),
            "the page breaks its own CSP: {log}"
        );
        let meta = std::fs::metadata(&png).unwrap();
        assert!(meta.len() > 20_000, "screenshot too small");
    }
}

#[test]
fn aggregates_keep_their_format() {
    // The aggregate is the document committed to the log: its JSON field names are the format.
    let agg: Aggregate = serde_json::from_value(json!({
        "format": "spondon-stats/v1", "issuer": "https://dmch.example", "sequence": 1,
        "from": "2026-W22", "to": "2026-W23", "generated_at": 1780000000,
        "challenge": "AAAAAAAAAAAAAAAAAAAAAA", "k": 10,
        "cells": [{"condition": "dengue", "week": "2026-W23", "district": "Dhaka", "count": 40},
                  {"condition": "dengue", "week": "2026-W23", "district": "Sylhet", "count": null},
                  {"condition": "dengue", "week": "2026-W23", "district": "Dhaka", "upazila": "Savar", "count": 22}]
    }))
    .unwrap();
    agg.validate().unwrap();
}
