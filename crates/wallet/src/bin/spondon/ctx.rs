//! What every command shares: the wallet directory, how to get the passphrase, the key store,
//! and opening the wallet.

use crate::prelude::*;

pub(crate) struct Ctx {
    pub(crate) cli_dir: PathBuf,
    pub(crate) passphrase_file: Option<PathBuf>,
    pub(crate) keystore: KeyStoreChoice,
    pub(crate) endpoints: BTreeMap<String, String>,
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) cached: Option<zeroize::Zeroizing<Vec<u8>>>,
}

pub(crate) fn read_first_line(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut s = zeroize::Zeroizing::new(String::new());
    std::fs::File::open(path)
        .with_context(|| format!("cannot open the passphrase file {}", path.display()))?
        .take(4096)
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
    let line = s.lines().next().unwrap_or("");
    Ok(zeroize::Zeroizing::new(line.as_bytes().to_vec()))
}

pub(crate) fn prompt(msg: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    if !std::io::stdin().is_terminal() {
        bail!("the passphrase is needed: run on a terminal or give --passphrase-file");
    }
    let p = rpassword::prompt_password(msg).context("cannot read the passphrase")?;
    Ok(zeroize::Zeroizing::new(p.into_bytes()))
}

impl Ctx {
    pub(crate) fn passphrase(&mut self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        if let Some(p) = &self.cached {
            return Ok(p.clone());
        }
        let p = match &self.passphrase_file {
            Some(f) => read_first_line(f)?,
            None => prompt("Wallet passphrase: ")?,
        };
        self.cached = Some(p.clone());
        Ok(p)
    }

    /// A new passphrase, asked twice; `what` names it ("wallet", "backup").
    pub(crate) fn new_passphrase(
        &self,
        file: Option<&Path>,
        what: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        if let Some(f) = file.or(self.passphrase_file.as_deref()) {
            return read_first_line(f);
        }
        let a = prompt(&format!("New {what} passphrase: "))?;
        let b = prompt(&format!("Repeat the new {what} passphrase: "))?;
        if a != b {
            bail!("the two passphrases differ");
        }
        Ok(a)
    }

    pub(crate) fn os_store(&self) -> Result<Option<Arc<dyn KeyStore>>> {
        match self.keystore {
            KeyStoreChoice::None => Ok(None),
            KeyStoreChoice::Os => Ok(Some(Arc::new(OsKeyStore::open(OsBackend::Auto)?))),
            KeyStoreChoice::Auto => Ok(OsKeyStore::open(OsBackend::Auto)
                .ok()
                .map(|s| Arc::new(s) as Arc<dyn KeyStore>)),
        }
    }

    /// Opens the wallet: keys from the OS keychain if unlocked there, else the passphrase.
    pub(crate) async fn open(&mut self) -> Result<Wallet> {
        let os = self.os_store()?;
        let mut w = Wallet::open_with(&self.cli_dir.clone(), os, || self.passphrase()).await?;
        w.set_endpoints(self.endpoints.clone());
        if !self.ca_files.is_empty() {
            w.set_ca_files(&self.ca_files)?;
        }
        Ok(w)
    }

    pub(crate) async fn authorize(&mut self, w: &Wallet) -> Result<spondon_wallet::Authorization> {
        if self.cached.is_none() && self.passphrase_file.is_none() {
            let p = prompt("Wallet passphrase (to confirm): ")?;
            return Ok(w.authorize(&p).await?);
        }
        let p = self.passphrase()?;
        Ok(w.authorize(&p).await?)
    }
}

/// Hospital names by peer URL, for output that names hospitals rather than URLs.
pub(crate) struct HospitalNames(BTreeMap<String, String>);

impl HospitalNames {
    pub(crate) fn name(&self, url: &str) -> String {
        self.0.get(url).cloned().unwrap_or_else(|| url.to_owned())
    }
}

pub(crate) async fn hospital_names(w: &Wallet) -> Result<HospitalNames> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    if let Ok(list) = w.trust_list().await {
        for h in list.hospitals {
            names.insert(h.peer_url, h.name);
        }
    }
    for p in w.peers().await? {
        names.insert(p.url, p.hospital_name);
    }
    Ok(HospitalNames(names))
}
