//! `init`, `unlock`, `lock`, `change-passphrase`, `trust-list`, `enroll`, `backup`, `restore`.

use crate::prelude::*;

pub(crate) async fn init(
    ctx: &mut Ctx,
    dir: &Path,
    trust_list: PathBuf,
    root_key: PathBuf,
    directory: Option<PathBuf>,
) -> Result<ExitCode> {
    let list = std::fs::read_to_string(&trust_list)
        .with_context(|| format!("cannot read {}", trust_list.display()))?;
    let root: spondon_core::keys::Jwk = serde_json::from_slice(
        &std::fs::read(&root_key).with_context(|| format!("cannot read {}", root_key.display()))?,
    )
    .with_context(|| format!("{} is not a JWK", root_key.display()))?;
    let pass = ctx.new_passphrase(None, "wallet")?;
    let (store, note): (Arc<dyn KeyStore>, _) = match ctx.os_store() {
        Ok(Some(s)) => (s, None),
        Ok(None) => (
            Arc::new(MemoryKeyStore::new()),
            Some("keys are not kept in a keychain: every command asks for the passphrase"),
        ),
        Err(e) => return Err(e),
    };
    let directory = match &directory {
        Some(d) => Some(
            std::fs::read_to_string(d).with_context(|| format!("cannot read {}", d.display()))?,
        ),
        None => None,
    };
    let (w, l) =
        Wallet::create_with_trust_list(dir, store, &pass, &list, &root, directory.as_deref())
            .await
            .context("the wallet was not created")?;
    println!(
        "Created the wallet in {} (trust list of {}, {}).",
        dir.display(),
        l.authority,
        plural(l.hospitals.len() as u64, "hospital", "hospitals")
    );
    println!("Your key: {}", w.public_key().kid());
    if let Some(n) = note {
        eprintln!("Note: {n}.");
    }
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn unlock(ctx: &mut Ctx, dir: &Path) -> Result<ExitCode> {
    let os = ctx.os_store()?.ok_or_else(|| anyhow!("no OS keychain is available here (--keystore none): the passphrase is asked for every command instead"))?;
    let pass = ctx.passphrase()?;
    let w = Wallet::unlock(dir, os.clone(), &pass).await?;
    println!(
        "Unlocked: the keys are in {} until `spondon lock`.",
        os.describe()
    );
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn lock(ctx: &mut Ctx) -> Result<ExitCode> {
    let w = ctx.open().await?;
    w.lock().await?;
    println!("Locked: the passphrase is needed again.");
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn change_passphrase(
    ctx: &mut Ctx,
    new_passphrase_file: Option<PathBuf>,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let old = ctx.passphrase()?;
    let new = ctx.new_passphrase(new_passphrase_file.as_deref(), "wallet")?;
    w.change_passphrase(&old, &new).await?;
    println!("Passphrase changed.");
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn trust_list(
    ctx: &mut Ctx,
    file: PathBuf,
    root_key: PathBuf,
) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let root: spondon_core::keys::Jwk =
        serde_json::from_slice(&std::fs::read(&root_key)?).context("the root key is not a JWK")?;
    let l = w
        .set_trust_list(&std::fs::read_to_string(&file)?, &root)
        .await?;
    println!(
        "Trust list {} installed ({}).",
        l.sequence,
        plural(l.hospitals.len() as u64, "hospital", "hospitals")
    );
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn enroll(
    ctx: &mut Ctx,
    text: Option<String>,
    qr: Option<PathBuf>,
) -> Result<ExitCode> {
    let code = match (text, qr) {
        (Some(t), None) => EnrollmentCode::parse(&t)?,
        (None, Some(p)) => EnrollmentCode::from_image_async(read_input(&p)?).await?,
        _ => bail!("give the enrollment text or --qr IMAGE"),
    };
    let w = ctx.open().await?;
    let st = w.enroll(&code).await?;
    println!(
        "Enrolled at {} (Health ID {}). Run `spondon sync` to get your records.",
        st.hospital_name, st.health_id
    );
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn backup(ctx: &mut Ctx, file: PathBuf) -> Result<ExitCode> {
    let w = ctx.open().await?;
    let auth = ctx.authorize(&w).await?;
    let bp = ctx.new_passphrase(None, "backup")?;
    w.backup(&auth, &file, &bp).await?;
    println!(
        "Backup written to {}. Keep it and its passphrase safe.",
        file.display()
    );
    w.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn restore(ctx: &mut Ctx, dir: &Path, file: PathBuf) -> Result<ExitCode> {
    // A wrong path or an occupied directory fails before any passphrase is asked.
    Wallet::check_restore(&file, dir).await?;
    let bp = match &ctx.passphrase_file {
        Some(f) => read_first_line(f)?,
        None => prompt("Passphrase of the backup file: ")?,
    };
    let new = ctx.new_passphrase(None, "wallet")?;
    let store: Arc<dyn KeyStore> = ctx
        .os_store()?
        .unwrap_or_else(|| Arc::new(MemoryKeyStore::new()));
    let (w, s) = Wallet::restore(&file, &bp, dir, store, &new).await?;
    println!(
        "Restored into {}: {}, {}, {}, {}.",
        dir.display(),
        plural(s.peers as u64, "hospital", "hospitals"),
        plural(s.records as u64, "record", "records"),
        plural(s.grants as u64, "grant", "grants"),
        plural(s.receipts as u64, "receipt", "receipts")
    );
    println!(
        "If the old device is lost or stolen, revoke its grants and replace its key now: spondon lost-phone"
    );
    w.close().await;
    Ok(ExitCode::SUCCESS)
}
