//! Statistics at scale (not part of the test run). For each of `--peers` hospital peers
//! (SQLite files in a temp dir; the first on `--database-url` if given), writes `--records`
//! synthetic statistics rows over 52 weeks with the bulk path (`spondon-peer seed
//! --stats-cases`), then times what `POST /authority/stats` does for the whole year: the SQL
//! count, suppression, signature, log entry and proof. Then times what `spondon-authority
//! stats` does with the answers: verify every aggregate (signature, freshness, log inclusion),
//! merge and suppress again.
//!
//! `cargo run --release -p spondon-authority --example stats-bench -- [--records 1000000]
//! [--peers 10] [--database-url postgres://…]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use spondon_authority::Member;
use spondon_authority::stats::{StatsAnswer, StatsQuery, verify_answer};
use spondon_core::NumericDate;
use spondon_core::stats::{self, IsoWeek};
use spondon_peer::Peer;
use spondon_peer::config::DataDir;
use spondon_peer::stats::StatsRequest;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let records: u64 = arg("--records").map_or(1_000_000, |v| v.parse().unwrap());
    let peers: usize = arg("--peers").map_or(10, |v| v.parse().unwrap());
    let database_url = arg("--database-url");
    let now = NumericDate::now();
    let to = IsoWeek::from_unix(now.seconds());
    let from = IsoWeek::from_days(to.monday() - 51 * 7);
    let query = StatsQuery::new(from, to).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut answers = Vec::new();
    let mut per_peer = Vec::new();
    for i in 0..peers {
        let data = DataDir::new(tmp.path().join(format!("peer{i}")));
        let url = format!("https://h{i}.example");
        let db = if i == 0 {
            database_url.as_deref()
        } else {
            None
        };
        let (peer, _) = Peer::init(&data, &format!("Hospital {i}"), &url, db)
            .await
            .unwrap();
        let t = Instant::now();
        spondon_peer::seed::bulk_stat_cases(&peer, records, i as u64 + 1, to)
            .await
            .unwrap();
        let seed_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let counts = peer.stat_counts(from, to).await.unwrap();
        let count_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let cells = stats::tabulate(&counts, stats::K);
        let tabulate_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let resp = peer
            .publish_stats(
                &StatsRequest {
                    from,
                    to,
                    challenge: query.challenge.clone(),
                },
                NumericDate::now(),
            )
            .await
            .unwrap();
        let publish_s = t.elapsed().as_secs_f64();
        let answer: StatsAnswer =
            serde_json::from_value(serde_json::to_value(&resp).unwrap()).unwrap();
        let member = Member {
            id: format!("h{i}"),
            name: format!("Hospital {i}"),
            peer_url: url,
            record_keys: peer.jwks().await.unwrap(),
            log_vkey: peer.log_vkey(),
        };
        let line = serde_json::json!({
            "peer": i,
            "engine": if db.is_some() { "postgres" } else { "sqlite" },
            "records": records,
            "bulk_insert_s": seed_s,
            "sql_count_s": count_s,
            "count_rows": counts.len(),
            "tabulate_suppress_s": tabulate_s,
            "cells": cells.len(),
            "publish_total_s": publish_s,
            "aggregate_bytes": answer.aggregate.len(),
        });
        eprintln!("{line}");
        per_peer.push(line);
        answers.push((member, answer));
        peer.close().await;
    }
    let t = Instant::now();
    let verified: Vec<_> = answers
        .iter()
        .map(|(m, a)| verify_answer(m, a.clone(), &query, None, NumericDate::now()).unwrap())
        .collect();
    let verify_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let aggs: Vec<&stats::Aggregate> = verified.iter().map(|v| &v.aggregate).collect();
    let merged = stats::merge(&aggs, stats::K);
    let merge_s = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "weeks": format!("{from}–{to}"),
            "per_peer": per_peer,
            "peers": peers,
            "verify_all_s": verify_s,
            "merge_resuppress_s": merge_s,
            "merged_cells": merged.len(),
            "merged_shown": merged.iter().filter(|c| c.count.is_some()).count(),
        }))
        .unwrap()
    );
}
