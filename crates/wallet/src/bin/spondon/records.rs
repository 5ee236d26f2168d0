//! `records`, `show`, `documents`, `import`, `export`.

use crate::prelude::*;

pub(crate) async fn records(ctx: &mut Ctx, args: RecordsArgs) -> Result<ExitCode> {
    let RecordsArgs {
        kind,
        hospital,
        since,
        until,
        search,
        out,
    } = args;
    let w = ctx.open().await?;
    let f = Filter {
        kind: kind.map(|k| k.word().to_owned()),
        hospital,
        from: since.as_deref().map(|s| parse_date(s, false)).transpose()?,
        to: until.as_deref().map(|s| parse_date(s, true)).transpose()?,
        text: search,
    };
    let recs = w.records(&f).await?;
    let problems = w.imported_problems().await?;
    if out.json {
        print_json(&recs)?;
    } else if recs.is_empty() {
        println!("No records.");
    } else {
        for r in &recs {
            let problem = problems
                .get(&r.id)
                .map(|p| format!("  [{p}]"))
                .unwrap_or_default();
            let mark = match r.trust {
                spondon_wallet::Trust::Verified | spondon_wallet::Trust::ImportedTrusted => "",
                spondon_wallet::Trust::IssuerNotTrusted => "  [UNVERIFIED: issuer not trusted]",
                spondon_wallet::Trust::SignatureNotChecked => {
                    "  [UNVERIFIED: signature not checked]"
                }
            };
            println!(
                "{}  {:<10}  {:<28}  {}{mark}{problem}",
                spondon_core::time::local_date(r.issued_at),
                short(&r.id),
                r.title,
                r.hospital
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn show(ctx: &mut Ctx, id: String, out: JsonFlag) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let r = w.record(&id).await?;
    if out.json {
        print_json(&r)?;
    } else {
        print_record(&r);
        if let Some(p) = w.imported_problems().await?.get(&r.id) {
            println!("  status:   {p}");
        }
        // A record a doctor added under one of the patient's write grants says so.
        if let Some(by) = w
            .receipts()
            .await?
            .into_iter()
            .find(|x| x.allowed && x.wrote && x.records.contains(&r.id))
        {
            println!(
                "  written:  by {} under your grant {}, {}",
                by.who,
                by.grant_id.as_deref().map(short).unwrap_or("?"),
                fmt_time(by.at)
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn documents(
    ctx: &mut Ctx,
    id: Option<String>,
    save: Option<PathBuf>,
    fetch: bool,
    out: JsonFlag,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    documents_cmd(&w, id, save, fetch, out.json).await?;
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn import(
    ctx: &mut Ctx,
    file: PathBuf,
    accept_unverified: bool,
    fetch_keys: bool,
    out: JsonFlag,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let res = w
        .import_with_options(
            &read_input(&file)?,
            fetch_keys,
            accept_unverified,
            &spondon_wallet::progress::ignore,
        )
        .await;
    let res = match res {
        Err(e @ WalletError::NotVerified { .. }) => {
            w.close().await;
            eprintln!("spondon: {e}");
            eprintln!(
                "hint: to keep them anyway, marked as unverified, add --accept-unverified{}",
                if fetch_keys {
                    ""
                } else {
                    " (or try --fetch-keys to check the signature with the issuer's published keys)"
                }
            );
            return Ok(ExitCode::from(EXIT_NOT_VERIFIED));
        }
        other => other?,
    };
    if out.json {
        print_json(&res)?;
    } else {
        for r in &res {
            println!(
                "{} from {}: {}{}",
                r.id,
                r.issuer,
                r.status,
                if r.already_present {
                    " (already in the wallet)"
                } else {
                    ""
                }
            );
        }
        let unverified = res
            .iter()
            .filter(|r| r.trust != spondon_wallet::Trust::ImportedTrusted)
            .count();
        if unverified > 0 {
            eprintln!(
                "Kept {} marked UNVERIFIED: `spondon records` and `spondon show` say so.",
                plural(unverified as u64, "card", "cards")
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn export(ctx: &mut Ctx, args: ExportArgs) -> Result<ExitCode> {
    let ExportArgs {
        out,
        records,
        categories,
        since,
        until,
        payments,
        passport,
        nid,
        verify_url,
        receipts,
        link_url,
        json,
    } = args;
    use spondon_wallet::export::{parse_day, part_stem};
    let categories = categories
        .iter()
        .map(|c| spondon_wallet::grants::parse_category(c.word()))
        .collect::<Result<Vec<_>, _>>()?;
    let since = since.as_deref().map(parse_day).transpose()?;
    let until = until.as_deref().map(parse_day).transpose()?;
    let w = ctx.open().await?;
    let auth = ctx.authorize(&w).await?;
    let bar = if json.json || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new(3);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    };
    bar.set_message("assembling and verifying the export…");
    let files = w
        .export(
            &auth,
            &spondon_wallet::export::ExportRequest {
                record_ids: records,
                categories,
                since,
                until,
                include_payments: payments,
                passport,
                national_id: nid,
                verify_url,
                receipts,
                link_url,
                link_label: Some("Health records from my Spondon wallet".into()),
            },
        )
        .await?;
    bar.inc(1);
    let stem = out.to_string_lossy().into_owned();
    let count = files.parts.len();
    let path = |k: usize, ext: &str| PathBuf::from(format!("{}{ext}", part_stem(&stem, k, count)));
    let mut written = Vec::new();
    for (i, part) in files.parts.iter().enumerate() {
        // With documents, the card file and the files go in a directory (§18.4).
        let entries = spondon_wallet::export::card_files(&part_stem(&stem, i + 1, count), part);
        for (p, bytes) in &entries {
            if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            spondon_wallet::write_private(p, bytes.clone())
                .await
                .with_context(|| format!("cannot write {}", p.display()))?;
        }
        let card = if part.documents.is_empty() {
            entries[0].0.clone()
        } else {
            entries[0]
                .0
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        };
        let pdf = path(i + 1, ".pdf");
        spondon_wallet::write_private(&pdf, part.pdf.clone())
            .await
            .with_context(|| format!("cannot write {}", pdf.display()))?;
        written.push((card, pdf, part.records));
    }
    bar.inc(1);
    if let Some((_, jwe)) = &files.link {
        let p = path(1, ".jwe");
        spondon_wallet::write_private(&p, jwe.as_bytes().to_vec())
            .await
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    bar.finish_and_clear();
    if json.json {
        print_json(&files)?;
    } else {
        let verdict = if files.report.valid {
            "verified offline: valid"
        } else {
            "WARNING: the offline check found problems"
        };
        println!(
            "Exported {} and {} ({verdict}):",
            plural(files.records as u64, "record", "records"),
            plural(files.receipts as u64, "share receipt", "share receipts")
        );
        for (card, pdf, n) in &written {
            if count > 1 {
                println!("  {} and {} ({n} records)", card.display(), pdf.display());
            } else {
                println!("  {} and {}", card.display(), pdf.display());
            }
        }
        if count > 1 {
            println!(
                "The history is too long for one file: each of the {count} parts is complete and verifies on its own."
            );
        }
        if let Some((link, _)) = &files.link {
            println!(
                "Host {} at the link URL; share this link only with the recipient:\n{}",
                path(1, ".jwe").display(),
                link.as_str()
            );
        }
        if let Some((card, _, _)) = written.first() {
            println!(
                "The office checks it on the verification page printed on the cover, or with: spondon-verifier check {}",
                card.display()
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_record(r: &RecordView) {
    println!("{} — {}", r.title, fmt_time(r.issued_at));
    println!("  hospital: {}", r.hospital);
    if let Some(d) = &r.doctor {
        println!("  doctor:   {d}");
    }
    println!("  record:   {} ({})", r.id, r.kind);
    let trust = match r.trust {
        spondon_wallet::Trust::Verified => "verified (hospital signature, transparency log)",
        spondon_wallet::Trust::ImportedTrusted => "imported; valid signature, issuer trusted",
        spondon_wallet::Trust::IssuerNotTrusted => "imported; valid signature, issuer not trusted",
        spondon_wallet::Trust::SignatureNotChecked => {
            "imported; issuer not trusted, signature not checked"
        }
    };
    println!("  trust:    {trust}");
    if let Some(s) = &r.supersedes {
        println!("  corrects: {s}");
    }
    for i in &r.items {
        match i {
            Item::Medication { drug, dosage, .. } => println!(
                "  • {drug}{}",
                dosage
                    .as_deref()
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default()
            ),
            Item::Result {
                test,
                value,
                unit,
                reference_range,
                abnormal,
            } => println!(
                "  • {test}: {} {}{}{}",
                value.as_deref().unwrap_or("?"),
                unit.as_deref()
                    .map(|u| match spondon_core::shc::units::words(u) {
                        Some(w) => format!("{} ({w})", spondon_core::shc::units::symbol(u)),
                        None => u.to_owned(),
                    })
                    .unwrap_or_default(),
                reference_range
                    .as_deref()
                    .map(|r| format!(" (normal {r})"))
                    .unwrap_or_default(),
                abnormal
                    .as_deref()
                    .map(|a| format!("  ⚠ {}", a.to_uppercase()))
                    .unwrap_or_default()
            ),
            Item::Condition { text, code } => println!(
                "  • {text}{}",
                code.as_deref()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default()
            ),
            Item::Immunization { vaccine, date } => println!(
                "  • {vaccine}{}",
                date.as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            ),
            Item::Visit { class, date } => println!(
                "  • {class}{}",
                date.as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            ),
            Item::Payment { total, date } => println!(
                "  • paid {total}{}",
                date.as_deref()
                    .map(|d| format!(" on {d}"))
                    .unwrap_or_default()
            ),
            Item::Document {
                kind,
                title,
                description,
                content_type,
                size,
                sha256,
            } => {
                println!(
                    "  • {}: {}, {}",
                    kind.as_deref().unwrap_or("document"),
                    title.as_deref().unwrap_or("(untitled)"),
                    file_words(content_type, *size)
                );
                if let Some(d) = description {
                    println!("    {d}");
                }
                println!("    SHA-256 {sha256}");
            }
            Item::Other {
                resource_type,
                text,
            } => println!(
                "  • {resource_type}{}",
                text.as_deref()
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default()
            ),
        }
    }
}

pub(crate) async fn documents_cmd(
    w: &Wallet,
    id: Option<String>,
    save: Option<PathBuf>,
    fetch: bool,
    json: bool,
) -> Result<()> {
    use spondon_wallet::documents::FileEvent;
    if fetch {
        let bar = if json || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        };
        let b2 = bar.clone();
        let report = w
            .fetch_files(&move |e| match e {
                FileEvent::Started { files, bytes } => {
                    b2.set_length(bytes);
                    b2.set_message(format!(
                        "fetching {}",
                        plural(files as u64, "file", "files")
                    ));
                }
                FileEvent::Progress { .. } | FileEvent::Kept { .. } => {}
                FileEvent::Failed {
                    record_id, error, ..
                } => b2.println(format!("{}: {error}", short(&record_id))),
            })
            .await?;
        bar.finish_and_clear();
        if !json {
            println!(
                "{} fetched and checked against their cards{}",
                plural(report.kept.len() as u64, "file", "files"),
                if report.failed.is_empty() {
                    String::new()
                } else {
                    format!("; {} failed (run it again later)", report.failed.len())
                }
            );
        }
    }
    let Some(id) = id else {
        let docs = w.documents().await?;
        if json {
            return print_json(&docs);
        }
        if docs.is_empty() {
            println!("No documents.");
        }
        for d in &docs {
            println!(
                "{}  {}  {}  {}",
                short(&d.record_id),
                d.title.as_deref().unwrap_or("(untitled)"),
                file_words(d.content_type, d.size),
                if d.kept {
                    "kept, checked"
                } else {
                    "not fetched yet (`spondon sync`)"
                }
            );
        }
        return Ok(());
    };
    let (view, _bytes) = w.document_file(&id).await?;
    let r = w.record(&view.record_id).await?;
    if let Some(dest) = save {
        let path = w.save_document(&view.record_id, &dest).await?;
        if json {
            return print_json(&serde_json::json!({"document": view, "saved": path}));
        }
        println!("Saved {}", path.display());
    } else if json {
        return print_json(&view);
    }
    println!(
        "This {} is the one {} signed on {} (SHA-256 {}).",
        file_words(view.content_type, view.size),
        r.hospital,
        fmt_time(r.issued_at),
        view.sha256
    );
    Ok(())
}
