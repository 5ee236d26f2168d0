//! The app's figures (a benchmark, not a test of speed: it prints, it does not assert times).
//! Run by `scripts/bench-app.sh`, which starts the world with 1,000 more records for the patient.
//!
//! - sync of ~1,000 records in the app, with progress, and how long the window took to answer
//!   a script while the sync ran (its responsiveness);
//! - unlock to the records list with those records;
//! - cold start: process start to the unlock screen being interactive, 10 runs (median). The
//!   process start comes from /proc, the moment the screen was interactive from the page's
//!   `performance.mark("spondon:interactive")`, both on the same clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use serde_json::Value;
use spondon_e2e::{App, Setup};

const PASSPHRASE: &str = "monsoon lantern 47 jackfruit";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_figures() {
    let Some(setup) = Setup::from_env().expect("e2e setup") else {
        eprintln!("skipped: run scripts/bench-app.sh");
        return;
    };
    if let Err(e) = bench(&setup).await {
        panic!("{e:#}");
    }
}

/// Milliseconds since the epoch at which the page marked itself interactive.
async fn interactive_at(app: &App) -> Result<f64> {
    let v = app
        .js(
            "const m = performance.getEntriesByName('spondon:interactive')[0];
             return m ? performance.timeOrigin + m.startTime : null;",
            vec![],
        )
        .await?;
    v.as_f64()
        .context("the page set no performance mark spondon:interactive")
}

/// Start time (ms since the epoch) of the newest process named `spondon-app`.
fn app_process_start() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let btime: f64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .context("btime")?
        .trim()
        .parse()?;
    let ticks = 100.0; // USER_HZ on Linux
    let mut newest: Option<f64> = None;
    for e in std::fs::read_dir("/proc")?.flatten() {
        let Ok(comm) = std::fs::read_to_string(e.path().join("comm")) else {
            continue;
        };
        if comm.trim() != "spondon-app" {
            continue;
        }
        let Ok(st) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // Field 22 (starttime), counted after the ")" that closes the command name.
        let after = st.rsplit_once(')').map(|x| x.1).unwrap_or("");
        let start: f64 = after
            .split_whitespace()
            .nth(19)
            .context("starttime")?
            .parse()?;
        let ms = (btime + start / ticks) * 1000.0;
        newest = Some(newest.map_or(ms, |n: f64| n.max(ms)));
    }
    newest.context("no spondon-app process")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn bench(setup: &Setup) -> Result<()> {
    let w = &setup.world;
    let (app, _) = App::launch(setup, "#first-run-create").await?;
    app.click("#first-run-create").await?;
    app.fill("#create-passphrase", PASSPHRASE).await?;
    app.fill("#create-passphrase-repeat", PASSPHRASE).await?;
    app.click("#create-wallet").await?;
    app.click("#backup-later").await?;
    app.click("#nav-hospitals").await?;
    for code in ["WORLD_DMCH_ENROLL", "WORLD_LABAID_ENROLL"] {
        let before = app.count("#hospital-list li").await.unwrap_or(0);
        app.fill("#enroll-code", w.get(code)?).await?;
        app.click("#enroll-button").await?;
        let deadline = Instant::now() + spondon_e2e::STEP;
        while app.count("#hospital-list li").await.unwrap_or(0) <= before {
            ensure!(Instant::now() < deadline, "enrollment did not finish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Sync, probing the window every 50 ms: the longest answer is its worst freeze. The sync
    // has ended when its card says "Sync finished" (#sync-dismiss appears with it).
    app.click("#nav-records").await?;
    let started = Instant::now();
    app.click("#sync-button").await?;
    let mut worst = Duration::ZERO;
    let mut progress_seen = std::collections::BTreeSet::new();
    loop {
        let t = Instant::now();
        let v = app
            .js(
                "const p = document.querySelector('#sync-progress');
                 const h = document.querySelector('#sync-headline');
                 return [p ? (p.getAttribute('value') || p.getAttribute('aria-valuenow')) : null,
                         h ? h.textContent : '',
                         !!document.querySelector('#sync-dismiss')];",
                vec![],
            )
            .await?;
        worst = worst.max(t.elapsed());
        if let Some(p) = v[0].as_str() {
            progress_seen.insert(p.to_owned());
        }
        if v[2] == Value::Bool(true) {
            println!("sync: {}", v[1].as_str().unwrap_or(""));
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(600),
            "sync did not end"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sync = started.elapsed();
    // The timeline refetches after the sync: wait until it lists what was pulled.
    let deadline = Instant::now() + spondon_e2e::STEP;
    let mut shown = 0;
    while Instant::now() < deadline {
        shown = app.count("#records-list button.record-open").await?;
        if shown >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "sync: {shown} records listed; {:.2} s from the click to \"Sync finished\"; {} distinct progress values; slowest window answer during sync {} ms",
        sync.as_secs_f64(),
        progress_seen.len(),
        worst.as_millis()
    );

    // Unlock to the records list.
    app.click("#lock-button").await?;
    app.fill("#unlock-passphrase", PASSPHRASE).await?;
    let t = Instant::now();
    app.click("#unlock-button").await?;
    app.wait("#records-list button.record-open").await?;
    println!(
        "unlock → records list ({shown} records): {} ms (Argon2id included)",
        t.elapsed().as_millis()
    );
    app.click("#lock-button").await?;
    app.quit().await.ok();

    // Cold start to the interactive unlock screen, 10 times.
    let mut runs = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (app, _) = App::launch(setup, "#unlock-passphrase").await?;
        let start = app_process_start()?;
        let ready = interactive_at(&app).await?;
        runs.push(ready - start);
        app.quit().await.ok();
    }
    let all: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "cold start → interactive unlock screen: median {:.0} ms over 10 runs ({} ms)",
        median(&mut runs),
        all.join(", ")
    );
    Ok(())
}
