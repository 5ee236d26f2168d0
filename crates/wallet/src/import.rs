//! Importing any SMART Health Card: a `.smart-health-card` file, `shc:/` text, a bare JWS, or a
//! QR image; verified against the VCI-format issuer directory and the trust list.

use serde::Serialize;
use spondon_core::NumericDate;
use spondon_core::shc::{Directory, ParsedCard, ShcError, extract_jws};

use crate::error::{Result, WalletError};
use crate::progress::{OnProgress, Progress, Step};
use crate::store::Table;
use crate::sync::{StoredRecord, Trust, record_key};
use crate::wallet::Wallet;

/// What happened to one imported card.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    /// The card's record id (`rid`), or the first 16 hex digits of the card's SHA-256 when it has
    /// none.
    pub id: String,
    /// The card's issuer (`iss`).
    pub issuer: String,
    /// How far the card is trusted, as stored.
    pub trust: Trust,
    /// In words: "valid signature, issuer trusted (…)" / "valid signature, issuer not trusted" / …
    pub status: String,
    /// The same card was imported before (it is stored once).
    pub already_present: bool,
}

impl Wallet {
    /// Installs the VCI-format issuer directory used to judge imported cards (merged with the
    /// hospitals of the trust list).
    pub async fn set_issuer_directory(&self, json: &str) -> Result<usize> {
        let d = Directory::from_json(json)?;
        let n = d.issuers().count();
        self.store
            .put(Table::Settings, "directory", &json.to_owned())
            .await?;
        Ok(n)
    }

    async fn directory(&self) -> Result<Directory> {
        let mut d = match self
            .store
            .get::<String>(Table::Settings, "directory")
            .await?
        {
            Some(j) => Directory::from_json(&j)?,
            None => Directory::new(),
        };
        if let Ok(list) = self.trust_list().await {
            for h in &list.hospitals {
                if d.issuer(&h.peer_url).is_none()
                    && d.add_issuer(&h.peer_url, Some(&h.name)).is_ok()
                {
                    let _ = d.add_jwks(&h.peer_url, h.jwks());
                }
            }
        }
        Ok(d)
    }

    /// Imported cards that no longer verify as they did when imported: expired since, revoked
    /// by their issuer (the directory's revocation list), or failing for another reason now;
    /// record id → why, in words. Cards pulled from enrolled hospitals are checked by sync
    /// instead and are not listed.
    pub async fn imported_problems(&self) -> Result<std::collections::BTreeMap<String, String>> {
        let dir = self.directory().await?;
        let now = NumericDate::now();
        let all: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let mut out = std::collections::BTreeMap::new();
        for r in all.iter().filter(|r| r.peer.is_none()) {
            let problem = match ParsedCard::parse(&r.jws) {
                Err(e) => Some(format!("no longer readable: {e}")),
                // The time rules first: an untrusted issuer's card expires too.
                Ok(card) => match card
                    .payload()
                    .check_time(now)
                    .and_then(|_| card.verify(&dir, now).map(|_| ()))
                {
                    Ok(_) | Err(ShcError::IssuerNotTrusted(_)) => None,
                    Err(ShcError::Expired { .. }) => Some("EXPIRED".to_owned()),
                    Err(ShcError::Revoked(_)) => Some("REVOKED by its issuer".to_owned()),
                    Err(e) => Some(format!("no longer verifies: {e}")),
                },
            };
            if let Some(p) = problem {
                out.insert(r.id.clone(), p);
            }
        }
        Ok(out)
    }

    /// Imports every card found in `input` (text or a PNG/JPEG QR image). A card whose issuer is
    /// not trusted is stored as such ("valid signature, issuer not trusted") when its signature
    /// can be checked with the issuer's published keys (`fetch_keys`), or as "signature not
    /// checked" otherwise. A card that fails verification is refused and nothing is stored.
    pub async fn import(&self, input: &[u8], fetch_keys: bool) -> Result<Vec<ImportOutcome>> {
        self.import_with_progress(input, fetch_keys, &crate::progress::ignore)
            .await
    }

    /// [`Wallet::import`], reporting progress (reading, then verifying card by card, saving).
    pub async fn import_with_progress(
        &self,
        input: &[u8],
        fetch_keys: bool,
        progress: OnProgress<'_>,
    ) -> Result<Vec<ImportOutcome>> {
        self.import_with_options(input, fetch_keys, true, progress)
            .await
    }

    /// [`Wallet::import_with_progress`]; with `accept_unverified` false, a card whose issuer is
    /// not trusted (signature checked or not) makes the whole import fail with
    /// [`WalletError::NotVerified`] and nothing is stored.
    pub async fn import_with_options(
        &self,
        input: &[u8],
        fetch_keys: bool,
        accept_unverified: bool,
        progress: OnProgress<'_>,
    ) -> Result<Vec<ImportOutcome>> {
        progress(Progress::new(Step::Reading, 0, 1));
        let text = match std::str::from_utf8(input) {
            Ok(t) => t.to_owned(),
            Err(_) => crate::sync::decode_qr(input).await?.join("\n"),
        };
        let jws = extract_jws(&text)?;
        let dir = self.directory().await?;
        let now = NumericDate::now();
        let mut records = Vec::new();
        let mut out = Vec::new();
        let total = jws.len() as u64 + 1;
        for (n, j) in jws.into_iter().enumerate() {
            progress(Progress::new(Step::Verifying, n as u64, total));
            let card = ParsedCard::parse(&j)?;
            let (trust, name, status) = match card.verify(&dir, now) {
                Ok(v) => {
                    let name = v.issuer_name.clone();
                    let s = format!(
                        "valid signature, issuer trusted ({})",
                        name.as_deref().unwrap_or(&v.iss)
                    );
                    (Trust::ImportedTrusted, name, s)
                }
                Err(ShcError::IssuerNotTrusted(iss)) => {
                    let mut checked = None;
                    if fetch_keys {
                        let url = format!("{iss}/.well-known/jwks.json");
                        if let Ok(jwks) = self.net.get_text(&url).await {
                            let mut d = Directory::new();
                            d.add_issuer(&iss, None)?;
                            if d.add_jwks_json(&iss, &jwks).is_ok() {
                                checked = Some(card.verify(&d, now).map(|_| ()));
                            }
                        }
                    }
                    match checked {
                        Some(Ok(())) => (Trust::IssuerNotTrusted, None, "valid signature, issuer not trusted".to_owned()),
                        Some(Err(e)) => return Err(WalletError::Shc(e)),
                        None => (Trust::SignatureNotChecked, None, "issuer not trusted; its keys could not be fetched, signature not checked".to_owned()),
                    }
                }
                Err(e) => return Err(WalletError::Shc(e)),
            };
            let hash = hex::encode(spondon_core::keys::sha256(j.as_bytes()));
            let id = card
                .rid()
                .map(str::to_owned)
                .unwrap_or_else(|| hash[..16].to_owned());
            let key = record_key("import", &hash);
            let already_present = self.store.contains(Table::Records, &key).await?;
            let kind = crate::browse::kind_of_bundle(card.fhir_bundle());
            out.push(ImportOutcome {
                id: id.clone(),
                issuer: card.iss().to_owned(),
                trust: trust.clone(),
                status,
                already_present,
            });
            records.push(StoredRecord {
                key,
                id,
                issuer: card.iss().to_owned(),
                issuer_name: name,
                kind,
                supersedes: None,
                issued_at: card.payload().nbf_f64().floor() as i64,
                jws: j,
                peer: None,
                log_index: None,
                entry: None,
                salt: None,
                inclusion_proof: vec![],
                checkpoint: None,
                trust,
                witnessed: false,
            });
        }
        let unverified: Vec<&ImportOutcome> = out
            .iter()
            .filter(|o| o.trust != Trust::ImportedTrusted)
            .collect();
        if !accept_unverified && !unverified.is_empty() {
            return Err(WalletError::NotVerified {
                count: unverified.len(),
                reason: unverified[0].status.clone(),
            });
        }
        let mut writes = Vec::new();
        for r in &records {
            writes.push(self.store.encode(Table::Records, &r.key, r)?);
        }
        progress(Progress::new(Step::Saving, total - 1, total));
        self.store.apply(writes).await?;
        progress(Progress::new(Step::Done, total, total));
        Ok(out)
    }
}
