//! `emergency …`.

use crate::prelude::*;

pub(crate) async fn emergency(
    ctx: &mut Ctx,
    action: Option<EmergencyCmd>,
    out: JsonFlag,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let names = hospital_names(&w).await?;
    match action {
        None => {
            let policy = w.emergency_policy().await?;
            let rs: Vec<_> = w
                .receipts()
                .await?
                .into_iter()
                .filter(|r| r.emergency.is_some())
                .collect();
            let disputes = w.emergency_disputes().await?;
            if out.json {
                print_json(
                    &serde_json::json!({"policy": policy, "accesses": rs, "disputes": disputes}),
                )?;
            } else {
                use spondon_wallet::emergency::EmergencyMode as M;
                match &policy {
                    None
                    | Some(spondon_wallet::emergency::EmergencyPolicy { mode: M::Allow, .. }) => {
                        println!(
                            "Emergency access: allowed at every member hospital (a registered doctor, a reason, a second staff confirmation; a few hours)."
                        )
                    }
                    Some(p) if p.mode == M::OptOut => {
                        println!(
                            "Emergency access: you opted out; no hospital may open your emergency summary."
                        )
                    }
                    Some(p) => println!(
                        "Emergency access: only at {}.",
                        p.hospitals
                            .iter()
                            .map(|u| names.name(u))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
                if let Some(p) = &policy {
                    let waiting: Vec<String> = w
                        .peers()
                        .await?
                        .iter()
                        .filter(|x| !p.acknowledged.contains(&x.url))
                        .map(|x| names.name(&x.url))
                        .collect();
                    if !waiting.is_empty() {
                        println!(
                            "Not yet sent to {} (sent at the next sync).",
                            waiting.join(", ")
                        );
                    }
                }
                if rs.is_empty() {
                    println!("No emergency access to your records so far.");
                }
                for r in &rs {
                    let id = r.emergency.as_ref().map(|e| short(&e.id)).unwrap_or("");
                    println!("!! [{id}] {}", r.text);
                    if let Some(at) = r.emergency.as_ref().and_then(|e| disputes.get(&e.id)) {
                        println!(
                            "   You disputed it on {}.",
                            spondon_wallet::grants::fmt_time(*at)
                        );
                    }
                }
            }
        }
        Some(EmergencyCmd::Dispute { id, text }) => {
            let auth = ctx.authorize(&w).await?;
            let d = w.dispute_emergency(&auth, &id, &text).await?;
            if out.json {
                print_json(&d)?;
            } else {
                println!(
                    "Disputed emergency access {} at {}: its administrator sees your text.",
                    short(&d.access_id),
                    names.name(&d.peer)
                );
            }
        }
        Some(cmd) => {
            use spondon_wallet::emergency::EmergencyMode as M;
            let (mode, hospitals) = match cmd {
                EmergencyCmd::Allow => (M::Allow, Vec::new()),
                EmergencyCmd::OptOut => (M::OptOut, Vec::new()),
                EmergencyCmd::Only { hospitals } => (M::Only, hospitals),
                EmergencyCmd::Dispute { .. } => bail!("unreachable"),
            };
            let auth = ctx.authorize(&w).await?;
            let results = w.set_emergency_policy(&auth, mode, &hospitals).await?;
            if out.json {
                print_json(&results)?;
            } else {
                for r in &results {
                    let hospital = names.name(&r.peer);
                    match (&r.error, r.allowed_here) {
                        (None, Some(true)) => {
                            println!("{hospital}: emergency access allowed")
                        }
                        (None, _) => println!("{hospital}: emergency access refused"),
                        (Some(e), _) => {
                            eprintln!("{hospital}: not yet told: {e} (sent again at the next sync)")
                        }
                    }
                }
            }
            if results.iter().any(|r| !r.ok) {
                w.close().await;
                return Ok(ExitCode::from(EXIT_NOT_SYNCED));
            }
        }
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}
