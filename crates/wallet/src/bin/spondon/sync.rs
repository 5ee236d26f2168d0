//! `sync` and `status`.

use crate::prelude::*;

pub(crate) async fn sync(ctx: &mut Ctx, out: JsonFlag) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let emergency_before: std::collections::BTreeSet<(String, i64, String)> = w
        .receipts()
        .await?
        .into_iter()
        .filter(|r| r.emergency.is_some())
        .map(|r| (r.peer, r.at, r.text))
        .collect();
    let bar = if out.json || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    };
    let totals = std::sync::Mutex::new(BTreeMap::<String, u64>::new());
    let b2 = bar.clone();
    let report = w
        .sync(&move |e| match e {
            SyncEvent::Started { peers } => {
                b2.set_message(format!("syncing from {peers} hospitals…"))
            }
            SyncEvent::Records { peer, done, more } => {
                if let Ok(mut t) = totals.lock() {
                    t.insert(peer.clone(), done);
                    let sum: u64 = t.values().sum();
                    b2.set_message(format!(
                        "{sum} new records verified and stored{}",
                        if more { ", more to come…" } else { "" }
                    ));
                }
            }
            SyncEvent::Violation { peer, violation } => {
                b2.println(format!("SECURITY ALERT: {peer} {violation}"))
            }
            SyncEvent::PeerFailed { peer, error, .. } => b2.println(format!("{peer}: {error}")),
            SyncEvent::Witnessed { peer, upgraded } => b2.println(format!(
                "{peer}: {upgraded} proofs upgraded to a witnessed checkpoint"
            )),
            SyncEvent::File {
                record_id,
                done,
                total,
                ..
            } => b2.set_message(format!(
                "fetching the file of {}: {} of {}",
                short(&record_id),
                file_size(done),
                file_size(total)
            )),
            SyncEvent::FileFailed {
                peer,
                record_id,
                error,
                ..
            } => b2.println(format!(
                "{peer}: the file of {} was not kept: {error}",
                short(&record_id)
            )),
            _ => {}
        })
        .await?;
    bar.finish_and_clear();
    if out.json {
        print_json(&report)?;
    } else {
        use spondon_wallet::sync::TrustListRefresh as T;
        match &report.trust_list {
            Some(T::Updated { sequence }) => {
                println!("Trust list #{sequence} installed from the authority.")
            }
            Some(T::RolledBack { pinned, published }) => eprintln!(
                "SECURITY ALERT: the authority's publish URL serves trust list #{published}, older than the pinned #{pinned}; refused."
            ),
            Some(T::Failed { error }) => {
                eprintln!("Trust list not refreshed (the pinned one stays): {error}")
            }
            Some(T::Unchanged { .. }) | None => {}
        }
        let names = hospital_names(&w).await?;
        let name = |url: &str| names.name(url);
        for p in &report.peers {
            let hospital = name(&p.peer);
            match (&p.violation, &p.error) {
                (Some(v), _) => eprintln!(
                    "SECURITY ALERT: {hospital} {v}. Nothing from it was kept; its earlier records stay as verified before."
                ),
                (None, Some(e)) => eprintln!("{hospital}: not synced: {e}"),
                (None, None) => println!(
                    "{hospital}: {}, {}{}{}",
                    plural(p.new_records, "new record", "new records"),
                    plural(p.new_receipts, "new access receipt", "new access receipts"),
                    match (p.new_files, p.files_failed) {
                        (0, 0) => String::new(),
                        (n, 0) => format!(", {}", plural(n, "document file", "document files")),
                        (n, f) => format!(
                            ", {}, {} not fetched (tried again next sync)",
                            plural(n, "document file", "document files"),
                            plural(f, "file", "files")
                        ),
                    },
                    if p.pending_witness > 0 {
                        format!(
                            " ({} still {} for witness cosignatures)",
                            p.pending_witness,
                            if p.pending_witness == 1 {
                                "waits"
                            } else {
                                "wait"
                            }
                        )
                    } else {
                        String::new()
                    }
                ),
            }
        }
        let failed: Vec<String> = report
            .peers
            .iter()
            .filter(|p| p.violation.is_none() && p.error.is_some())
            .map(|p| name(&p.peer))
            .collect();
        if !failed.is_empty() {
            eprintln!(
                "spondon: not synced: {}; run `spondon sync` again later",
                failed.join(", ")
            );
        }
        for r in w.receipts().await? {
            if r.emergency.is_some()
                && !emergency_before.contains(&(r.peer.clone(), r.at, r.text.clone()))
            {
                println!("!! {}", r.text);
            }
        }
    }
    let violated = report.violation().is_some();
    let failed = report.peers.iter().any(|p| p.error.is_some());
    w.close().await;
    if violated {
        return Ok(ExitCode::from(EXIT_SECURITY));
    }
    if failed {
        return Ok(ExitCode::from(EXIT_NOT_SYNCED));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn status(ctx: &mut Ctx, dir: &Path, out: JsonFlag) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let peers = w.peers().await?;
    let alerts = w.alerts().await?;
    let counts = w.counts().await?;
    if out.json {
        print_json(
            &serde_json::json!({"key": w.public_key().kid(), "peers": peers, "counts": counts, "alerts": alerts}),
        )?;
    } else {
        println!("Wallet {} — key {}", dir.display(), w.public_key().kid());
        for p in &peers {
            println!(
                "  {} ({}) Health ID {}, log size {}, last sync {}",
                p.hospital_name,
                p.url,
                p.health_id,
                p.tree_size,
                p.last_sync.map(fmt_time).unwrap_or_else(|| "never".into())
            );
        }
        println!(
            "  {} records, {} grants, {} receipts",
            counts.get("records").unwrap_or(&0),
            counts.get("grants").unwrap_or(&0),
            counts.get("receipts").unwrap_or(&0)
        );
        for a in &alerts {
            println!(
                "  SECURITY ALERT {}: {} {}",
                fmt_time(a.at),
                a.peer,
                a.violation
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}
