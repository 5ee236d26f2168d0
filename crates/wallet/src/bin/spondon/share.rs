//! Sharing with doctors: `doctor`, `grant`, `grants`, `revoke`, `share-proof`, `receipts`.

use crate::prelude::*;

pub(crate) async fn doctor(
    ctx: &mut Ctx,
    input: Option<String>,
    out: JsonFlag,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    match input {
        Some(i) => {
            let bytes = if spondon_core::token::is_spondon_text(&i) {
                i.into_bytes()
            } else {
                read_input(Path::new(&i))?
            };
            let d = w.add_doctor(&bytes).await?;
            if out.json {
                print_json(&d)?;
            } else {
                println!(
                    "Verified: {} (BMDC {}), {}, {}. Key {}.",
                    d.name, d.bmdc_number, d.department, d.hospital_name, d.kid
                );
            }
        }
        None => {
            let ds = w.doctors().await?;
            if out.json {
                print_json(&ds)?;
            } else {
                for d in ds {
                    println!(
                        "{} (BMDC {}), {}, {}",
                        d.name, d.bmdc_number, d.department, d.hospital_name
                    );
                }
            }
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn grant(ctx: &mut Ctx, args: GrantArgs) -> Result<ExitCode> {
    let GrantArgs {
        doctor,
        passcode,
        categories,
        records,
        purpose,
        duration,
        peers,
        write,
        png,
        svg,
        out,
    } = args;
    let w = ctx.open().await?;
    let audience = match (doctor, passcode) {
        (Some(d), None) => {
            let ds = w.doctors().await?;
            let found = ds
                .into_iter()
                .find(|x| x.bmdc_number == d || x.kid == d)
                .ok_or_else(|| {
                    anyhow!(
                        "no doctor {d:?}: add their credential first with `spondon doctor FILE`"
                    )
                })?;
            GrantAudience::Doctor(found)
        }
        (None, Some(p)) => GrantAudience::Passcode(p),
        _ => bail!("give --doctor BMDC or --passcode CODE"),
    };
    if categories.is_empty() && records.is_empty() {
        bail!("say what to share: --category KIND and/or --record ID");
    }
    let req = GrantRequest {
        audience,
        scope: Scope {
            categories: categories
                .iter()
                .map(|c| parse_category(c.word()))
                .collect::<Result<_, _>>()?,
            record_ids: records,
        },
        purpose: parse_purpose(&purpose)?,
        duration: Duration::parse(&duration)?,
        peers,
        use_limit: None,
        write,
    };
    let auth = ctx.authorize(&w).await?;
    let g = w.create_grant(&auth, &req).await?;
    if let Some(p) = &png {
        spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Png)?)
            .await
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(p) = &svg {
        spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Svg)?)
            .await
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if out.json {
        print_json(&g)?;
    } else {
        if png.is_none() && svg.is_none() {
            print_qr(&g.text)?;
        }
        println!(
            "Grant {} for {}: {} until {}.",
            short(&g.id),
            g.audience,
            g.categories.join(", "),
            fmt_time(g.expires)
        );
        println!(
            "Show the QR code to the doctor. Revoke any time: spondon revoke {}",
            short(&g.id)
        );
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn grants_show(
    ctx: &mut Ctx,
    id: String,
    qr: bool,
    png: Option<PathBuf>,
    out: JsonFlag,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let now = spondon_core::NumericDate::now().seconds();
    let g = match w.grant(&id).await {
        Err(WalletError::NotFound(_)) => {
            bail!("no grant {id:?}; `spondon grants` lists them")
        }
        other => other?,
    };
    let status = g.status(now);
    if let Some(p) = &png {
        spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Png)?)
            .await
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    if out.json {
        print_json(&serde_json::json!({"grant": g, "status": status}))?;
    } else {
        if qr {
            print_qr(&g.text)?;
        }
        let names = hospital_names(&w).await?;
        println!("Grant {} ({})", g.id, status_word(status));
        println!("  for:        {}", g.audience);
        println!("  purpose:    {}", g.purpose);
        if !g.categories.is_empty() {
            println!("  shares:     {}", g.categories.join(", "));
        }
        if !g.record_ids.is_empty() {
            println!(
                "  records:    {}",
                g.record_ids
                    .iter()
                    .map(|r| short(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if g.write {
            println!("  may add:    prescriptions and notes");
        }
        println!("  from:       {}", fmt_time(g.not_before));
        println!("  until:      {}", fmt_time(g.expires));
        if let Some(t) = g.revoked_at {
            println!("  revoked:    {}", fmt_time(t));
        }
        let hospitals: Vec<String> = g.peers.iter().map(|p| names.name(p)).collect();
        println!("  hospitals:  {}", hospitals.join(", "));
        if qr && status != spondon_wallet::grants::GrantStatus::Active {
            eprintln!(
                "Note: this grant is {}: its QR code no longer opens anything.",
                status_word(status)
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn grants_list(ctx: &mut Ctx, out: JsonFlag) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let gs = w.grants().await?;
    let now = spondon_core::NumericDate::now().seconds();
    if out.json {
        let v: Vec<_> = gs
            .iter()
            .map(|g| serde_json::json!({"grant": g, "status": g.status(now)}))
            .collect();
        print_json(&v)?;
    } else if gs.is_empty() {
        println!("No grants.");
    } else {
        for g in gs {
            let st = status_word(g.status(now));
            println!(
                "{}  {:<8}  {}  [{}]  until {}",
                short(&g.id),
                st,
                g.audience,
                g.categories.join(", "),
                fmt_time(g.expires)
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn revoke(
    ctx: &mut Ctx,
    id: Option<String>,
    all: bool,
    yes: bool,
    out: JsonFlag,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let question = match (&id, all) {
        (Some(id), false) => match w.grant(id).await {
            Ok(g) => format!(
                "Revoke grant {} for {} ({})? The QR code stops working at every hospital.",
                short(&g.id),
                g.audience,
                g.categories.join(", ")
            ),
            // `revoke` below says what is wrong with the id.
            Err(_) => String::new(),
        },
        (None, true) => {
            "Revoke EVERY grant you have issued? Every QR code you have shown stops working."
                .to_owned()
        }
        _ => bail!("give a grant id or --all"),
    };
    if !yes && !question.is_empty() && !confirm(&question)? {
        println!("Nothing was revoked.");
        w.close().await;
        return Ok(ExitCode::FAILURE);
    }
    let auth = ctx.authorize(&w).await?;
    let results = match (id, all) {
        (Some(id), false) => w.revoke(&auth, &id).await?,
        (None, true) => w.revoke_all(&auth).await?,
        _ => bail!("give a grant id or --all"),
    };
    let all_revoked = print_revocations(&w, &results, out.json).await?;
    w.close().await;
    Ok(if all_revoked {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub(crate) async fn share_proof(ctx: &mut Ctx, args: ShareProofArgs) -> Result<ExitCode> {
    let ShareProofArgs {
        log_index,
        list,
        hospital,
        investigator,
        out_file,
        out,
    } = args;
    let w = ctx.open().await?;
    if list {
        let all = w.shareable_accesses().await?;
        if out.json {
            print_json(&all)?;
        } else if all.is_empty() {
            println!("No access to your records has been logged yet.");
        } else {
            for a in &all {
                println!(
                    "{:>6}  {}  {}  {}{}",
                    a.log_index,
                    spondon_core::time::local(a.at),
                    a.hospital_name,
                    plural(a.records.len() as u64, "record", "records"),
                    if a.witnessed {
                        ""
                    } else {
                        "  (not yet witnessed: sync later)"
                    }
                );
            }
        }
    } else {
        let log_index = log_index.ok_or_else(|| {
            anyhow::anyhow!("name the access's log index (see `spondon share-proof --list`)")
        })?;
        let auth = ctx.authorize(&w).await?;
        let made = w
            .share_proof(
                &auth,
                &spondon_wallet::share_proof::ShareProofRequest {
                    log_index,
                    hospital,
                    investigator,
                },
            )
            .await?;
        let path =
            out_file.unwrap_or_else(|| PathBuf::from(format!("access-{log_index}.share-proof")));
        spondon_wallet::write_private(&path, format!("{}\n", made.text).into_bytes()).await?;
        if out.json {
            print_json(&serde_json::json!({"file": path, "share": made.verified}))?;
        } else {
            let v = &made.verified;
            println!(
                "Wrote {}: {} at {} on {}, {}, under grant {}. It holds no record content; check it with `spondon-verifier share-proof`.",
                path.display(),
                v.doctor
                    .as_ref()
                    .map(|d| format!("{} (BMDC {})", d.name, d.bmdc_number))
                    .unwrap_or_else(|| "a passcode holder".into()),
                v.hospital_name,
                spondon_core::time::local(v.at),
                plural(v.records.len() as u64, "record", "records"),
                spondon_wallet::grants::short(&v.grant.id)
            );
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn receipts(ctx: &mut Ctx, out: JsonFlag) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let rs = w.receipts().await?;
    if out.json {
        print_json(&rs)?;
    } else if rs.is_empty() {
        println!("Nobody has looked at your records through a grant yet.");
    } else {
        // Emergency accesses first: nobody asked the patient.
        let (emergency, others): (Vec<_>, Vec<_>) =
            rs.into_iter().partition(|r| r.emergency.is_some());
        for r in &emergency {
            println!("!! {}", r.text);
        }
        if !emergency.is_empty() && !others.is_empty() {
            println!();
        }
        for r in others {
            println!("{}", r.text);
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

/// A grant's state in one word.
pub(crate) fn status_word(s: spondon_wallet::grants::GrantStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
