//! `delegate …`.

use crate::prelude::*;

/// `spondon delegate …`.
pub(crate) async fn delegate(ctx: &mut Ctx, action: DelegateCmd, json: bool) -> Result<ExitCode> {
    use spondon_core::token::Scope as TokenScope;
    use spondon_wallet::delegates::DelegationRequest;
    let w = ctx.open().await?;
    match action {
        DelegateCmd::Key => {
            let jwk = serde_json::to_string(&w.public_key().to_jwk())?;
            if json {
                println!("{jwk}");
            } else {
                println!("{jwk}");
                eprintln!(
                    "Your key id: {}. Give the line above (as a file) to the patient who delegates to you.",
                    w.public_key().kid()
                );
            }
        }
        DelegateCmd::Issue {
            to_key,
            name,
            scopes,
            categories,
            duration,
            peers,
            minor,
            other_guardian,
        } => {
            let key: spondon_core::keys::Jwk = serde_json::from_slice(&read_input(&to_key)?)
                .with_context(|| format!("{} is not a public key (JWK)", to_key.display()))?;
            let req = DelegationRequest {
                delegate_key: key,
                label: name,
                scopes: scopes
                    .iter()
                    .map(|s| match s {
                        ScopeArg::View => TokenScope::View,
                        ScopeArg::Share => TokenScope::Share,
                        ScopeArg::Manage => TokenScope::Manage,
                    })
                    .collect(),
                categories: categories
                    .iter()
                    .map(|c| parse_category(c.word()))
                    .collect::<Result<_, _>>()?,
                duration: Duration::parse(&duration)?,
                peers,
                minor,
                other_guardian,
            };
            let auth = ctx.authorize(&w).await?;
            let d = w.delegate(&auth, &req).await?;
            if json {
                print_json(&d)?;
            } else {
                println!("{}", d.text);
                eprintln!(
                    "Delegation {} to {} ({}) until {}, registered at {} hospital(s). Give them the text above; revoke any time: spondon delegate revoke {}",
                    short(&d.id),
                    d.label,
                    d.scopes.join(", "),
                    fmt_time(d.expires),
                    d.peers.len(),
                    short(&d.id)
                );
            }
        }
        DelegateCmd::List => {
            let issued = w.delegations().await?;
            let held = w.delegated_patients().await?;
            if json {
                print_json(&serde_json::json!({"issued": issued, "held": held}))?;
            } else {
                let now = spondon_core::NumericDate::now().seconds();
                println!("Delegations you issued:");
                if issued.is_empty() {
                    println!("  none");
                }
                for d in &issued {
                    let state = match d.revoked_at {
                        Some(_) => "revoked",
                        None if now >= d.expires => "expired",
                        None => "active",
                    };
                    println!(
                        "  {}  {} ({}), {}, until {}{}",
                        short(&d.id),
                        d.label,
                        d.scopes.join(", "),
                        state,
                        fmt_time(d.expires),
                        if d.guardians.is_empty() {
                            ""
                        } else {
                            ", guardian of a minor"
                        }
                    );
                }
                println!("Patients you may act for:");
                if held.is_empty() {
                    println!("  none");
                }
                for p in &held {
                    println!(
                        "  {}  {} ({}), until {}, {} grant(s) shared",
                        short(&p.id),
                        p.label,
                        p.scopes.join(", "),
                        fmt_time(p.expires),
                        p.grants.len()
                    );
                }
            }
        }
        DelegateCmd::Revoke { id, yes } => {
            if !yes
                && !confirm(&format!(
                    "Revoke delegation {id}? The delegate can no longer act for you."
                ))?
            {
                println!("Nothing was revoked.");
                w.close().await;
                return Ok(ExitCode::FAILURE);
            }
            let auth = ctx.authorize(&w).await?;
            let results = w.revoke_delegation(&auth, &id).await?;
            let all_revoked = print_revocations(&w, &results, json).await?;
            w.close().await;
            return Ok(if all_revoked {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        DelegateCmd::Accept { input, name } => {
            let text = if input.starts_with(spondon_core::token::PREFIX) {
                input
            } else {
                String::from_utf8(read_input(Path::new(&input))?)
                    .map_err(|_| anyhow!("{input} is not a delegation text"))?
            };
            let p = w.add_delegation_from_text(&text, &name).await?;
            if json {
                print_json(&p)?;
            } else {
                println!(
                    "You may act for {} ({}) until {}{}.",
                    p.label,
                    p.scopes.join(", "),
                    fmt_time(p.expires),
                    if p.minor { ", as a guardian" } else { "" }
                );
            }
        }
        DelegateCmd::Share {
            patient,
            doctor,
            categories,
            records,
            purpose,
            duration,
            png,
        } => {
            let found = w
                .doctors()
                .await?
                .into_iter()
                .find(|x| x.bmdc_number == doctor || x.kid == doctor)
                .ok_or_else(|| {
                    anyhow!("no doctor {doctor:?}: add their credential first with `spondon doctor FILE`")
                })?;
            if categories.is_empty() && records.is_empty() {
                bail!("say what to share: --category KIND and/or --record ID");
            }
            let req = GrantRequest {
                audience: GrantAudience::Doctor(found),
                scope: Scope {
                    categories: categories
                        .iter()
                        .map(|c| parse_category(c.word()))
                        .collect::<Result<_, _>>()?,
                    record_ids: records,
                },
                purpose: parse_purpose(&purpose)?,
                duration: Duration::parse(&duration)?,
                peers: Vec::new(),
                use_limit: None,
                write: false,
            };
            let auth = ctx.authorize(&w).await?;
            let g = w.grant_as_delegate(&auth, &patient, &req).await?;
            if let Some(p) = &png {
                spondon_wallet::write_private(p, render_qr(&g.text, QrFormat::Png)?)
                    .await
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if json {
                print_json(&g)?;
            } else {
                if png.is_none() {
                    print_qr(&g.text)?;
                }
                println!(
                    "Grant {} for {} until {}, signed by you and carrying the patient's delegation.",
                    short(&g.id),
                    g.audience,
                    fmt_time(g.expires)
                );
            }
        }
        DelegateCmd::Sync { patient } => {
            let s = w.delegate_sync(&patient).await?;
            if json {
                print_json(&s)?;
            } else {
                println!(
                    "{} record(s) and {} receipt(s), verified.",
                    s.records.len(),
                    s.receipts.len()
                );
                for r in &s.records {
                    println!("  {} {} ({})", fmt_time(r.issued_at), r.kind, short(&r.id));
                }
                for (peer, code) in &s.failures {
                    eprintln!("{peer}: {code}");
                }
            }
            let failed = !s.failures.is_empty();
            w.close().await;
            return Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}
