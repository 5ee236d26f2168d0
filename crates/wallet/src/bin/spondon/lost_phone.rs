//! A lost or stolen phone: `lost-phone` and `rebind`.

use crate::prelude::*;

pub(crate) async fn lost_phone(ctx: &mut Ctx, yes: bool, out: JsonFlag) -> Result<ExitCode> {
    eprintln!("{}", printable(spondon_wallet::LOST_PHONE_WARNING));
    if !yes && !confirm("Revoke every grant and replace this wallet's key at every hospital now?")?
    {
        println!("Nothing was done.");
        return Ok(ExitCode::FAILURE);
    }
    let mut w = ctx.open().await?;
    let pass = ctx.passphrase()?;
    let json = out.json;
    let report = w
        .lost_phone(&pass, &|ev| {
            if json {
                return;
            }
            use spondon_wallet::{HospitalOutcome as O, LostPhoneEvent as E};
            match ev {
                E::KeyReady {
                    old_kid,
                    new_kid,
                    resumed,
                    hospitals,
                } => println!(
                    "{} key {} → new key {} at {}.",
                    if resumed { "Continuing: old" } else { "Old" },
                    spondon_wallet::grants::short(&old_kid),
                    spondon_wallet::grants::short(&new_kid),
                    plural(hospitals, "hospital", "hospitals")
                ),
                E::Contacting { hospital_name, .. } => {
                    eprintln!("{}: revoking and re-binding…", printable(&hospital_name))
                }
                E::Hospital {
                    result,
                    done,
                    total,
                } => {
                    let name = printable(&result.hospital_name);
                    match &result.outcome {
                        O::Rotated => {
                            println!("[{done}/{total}] {name}: every grant revoked, new key bound")
                        }
                        O::AlreadyDone => {
                            println!("[{done}/{total}] {name}: already done")
                        }
                        O::IdentityCheckNeeded { message, .. } => println!(
                            "[{done}/{total}] {name}: NEEDS AN IDENTITY CHECK: {}",
                            printable(message)
                        ),
                        O::Failed { message, .. } => {
                            println!("[{done}/{total}] {name}: NOT DONE: {}", printable(message))
                        }
                    }
                }
            }
        })
        .await?;
    if out.json {
        print_json(&report)?;
    } else {
        let done = report.hospitals.iter().filter(|h| h.done()).count();
        let total = report.hospitals.len();
        if report.complete {
            println!(
                "Done at {done} of {total} hospitals: every grant of the old key is revoked, and the old phone's key is refused from now on. {} grants marked revoked here. Run `spondon sync`.",
                report.grants_revoked
            );
        } else {
            println!(
                "NOT FINISHED: {done} of {total} hospitals done. Run `spondon lost-phone` again to finish (hospitals done are skipped)."
            );
        }
    }
    w.close().await;
    if !report.complete {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn rebind(
    ctx: &mut Ctx,
    code: Option<String>,
    qr: Option<PathBuf>,
) -> Result<ExitCode> {
    let code = match (code, qr) {
        (Some(t), None) => EnrollmentCode::parse(&t)?,
        (None, Some(p)) => EnrollmentCode::from_image_async(read_input(&p)?).await?,
        _ => bail!("give the new enrollment code (--code TEXT) or --qr IMAGE"),
    };
    let mut w = ctx.open().await?;
    let pass = ctx.passphrase()?;
    let st = w.rebind_with_code(&pass, &code).await?;
    println!(
        "Re-bound at {} (Health ID {}): the old key is retired there and every grant it made is refused.",
        printable(&st.hospital_name),
        st.health_id
    );
    let pending = w
        .key_rotation_status()
        .await?
        .map(|s| s.pending)
        .unwrap_or_default();
    if !pending.is_empty() {
        println!(
            "{} still to do: run `spondon lost-phone` to finish.",
            plural(pending.len() as u64, "hospital", "hospitals")
        );
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}
