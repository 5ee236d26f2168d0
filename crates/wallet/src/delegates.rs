//! Delegates (`docs/protocol.md` §16): a patient lets a family member's wallet act for them —
//! `view` their records and receipts, `share` them with a doctor (a grant signed by the
//! delegate's key that embeds the delegation, so it carries both signatures), `manage` (write
//! grants) — until an expiry; a parent manages a child's wallet from their own.
//!
//! The patient's side: [`Wallet::delegate`] (signs the delegation and registers it at every
//! peer it names), [`Wallet::delegations`], [`Wallet::revoke_delegation`] (a revocation naming
//! the delegation's id, sent like a grant's). The delegate's side:
//! [`Wallet::add_delegation_from_text`], [`Wallet::delegated_patients`],
//! [`Wallet::grant_as_delegate`], [`Wallet::delegate_sync`] (the patient's records and
//! receipts, verified against the hospitals' logs like the wallet's own).
//!
//! Both lists are kept encrypted in the wallet's settings table (not yet in backups).

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256PublicKey, Jwk};
use spondon_core::token::{
    Audience, Category, Delegation, Grant, Revocation, RevocationTarget, Scope,
};

use crate::error::{Result, WalletError};
use crate::grants::{Duration, GrantAudience, GrantRequest, RevocationResult, StoredGrant};
use crate::store::Table;
use crate::sync::{StoredReceipt, StoredRecord};
use crate::wallet::{Authorization, Wallet};

const ISSUED: &str = "delegations.issued";
const HELD: &str = "delegations.held";

/// A new delegation's parameters (the patient's side).
#[derive(Debug, Clone)]
pub struct DelegationRequest {
    /// The delegate's public key (the JWK their wallet prints with `spondon delegate key`).
    pub delegate_key: Jwk,
    /// A name for the delegate, for lists and receipts ("Amma").
    pub label: String,
    /// What the delegate may do: `view`, `share`, `manage` (duplicates ignored).
    pub scopes: Vec<Scope>,
    /// Categories the delegate may see and share; empty: all.
    pub categories: Vec<Category>,
    /// At most 400 days.
    pub duration: Duration,
    /// Peer URLs; empty = every enrolled peer.
    pub peers: Vec<String>,
    /// The patient is a minor: the delegate is a guardian, and `other_guardian` (a key id) too;
    /// both guardians see the patient's receipts.
    pub minor: bool,
    /// For a minor: the key id of a second guardian who may read the receipts; `None` for one
    /// guardian. Refused when `minor` is false.
    pub other_guardian: Option<String>,
}

/// A delegation as the patient's wallet keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredDelegation {
    /// base64url delegation id.
    pub id: String,
    /// The delegation token text (give it to the delegate).
    pub text: String,
    /// The name the patient gave the delegate ("Amma"), 1 to 64 characters.
    pub label: String,
    /// The delegate's key id (thumbprint of their public key).
    pub delegate_kid: String,
    /// The scopes granted (`view`, `share`, `manage`), sorted.
    pub scopes: Vec<String>,
    /// Category names the delegate may see and share; empty: all.
    pub categories: Vec<String>,
    /// The peer URLs where the delegation is registered and holds.
    pub peers: Vec<String>,
    /// For a minor: the key ids of the guardians (the delegate first); empty otherwise.
    pub guardians: Vec<String>,
    /// When the patient's wallet issued it (seconds since the epoch).
    pub issued_at: i64,
    /// When it expires (seconds since the epoch).
    pub expires: i64,
    /// When the patient revoked it (seconds since the epoch); `None` while not revoked.
    pub revoked_at: Option<i64>,
}

/// A patient this wallet may act for (the delegate's side), or whose receipts it reads as a
/// minor's guardian (no scopes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DelegatedPatient {
    /// base64url delegation id.
    pub id: String,
    /// The delegation token text, as the patient gave it (a compact JWS).
    pub text: String,
    /// The name this wallet's user gave the patient, 1 to 64 characters.
    pub label: String,
    /// The patient's key id (thumbprint of their public key).
    pub patient_kid: String,
    /// The scopes this wallet holds (`view`, `share`, `manage`); empty for a guardian who
    /// is not the delegate (receipts only).
    pub scopes: Vec<String>,
    /// Category names this wallet may see and share; empty: all.
    pub categories: Vec<String>,
    /// The peer URLs where the delegation holds.
    pub peers: Vec<String>,
    /// Whether the patient is a minor (the delegation names guardians).
    pub minor: bool,
    /// When the delegation expires (seconds since the epoch).
    pub expires: i64,
    /// The grants this wallet signed for the patient.
    #[serde(default)]
    pub grants: Vec<StoredGrant>,
}

/// What a delegate's sync of a patient brought back, verified.
#[derive(Debug, Clone, Serialize)]
pub struct DelegateSync {
    /// The patient's records, verified against each hospital's log.
    pub records: Vec<StoredRecord>,
    /// The patient's access receipts, verified the same way.
    pub receipts: Vec<StoredReceipt>,
    /// Peers that refused or failed: (peer URL, error code).
    pub failures: Vec<(String, String)>,
}

fn names<T: Serialize>(v: &[T]) -> Vec<String> {
    v.iter()
        .map(|x| {
            serde_json::to_value(x)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect()
}

impl Wallet {
    async fn issued(&self) -> Result<Vec<StoredDelegation>> {
        Ok(self
            .store
            .get(Table::Settings, ISSUED)
            .await?
            .unwrap_or_default())
    }

    async fn held(&self) -> Result<Vec<DelegatedPatient>> {
        Ok(self
            .store
            .get(Table::Settings, HELD)
            .await?
            .unwrap_or_default())
    }

    /// Issues a delegation signed by the patient key, registers it at every peer it names (a
    /// peer that refuses fails the whole call, nothing is kept), and keeps it. Needs a fresh
    /// [`Authorization`]. Give the delegate [`StoredDelegation::text`].
    pub async fn delegate(
        &self,
        auth: &Authorization,
        req: &DelegationRequest,
    ) -> Result<StoredDelegation> {
        self.check_auth(auth)?;
        let delegate_key = Es256PublicKey::from_jwk(&req.delegate_key)
            .map_err(|e| WalletError::BadDelegation(format!("the delegate's key: {e}")))?;
        let known: Vec<String> = self.peers().await?.into_iter().map(|p| p.url).collect();
        let peers = if req.peers.is_empty() {
            known
        } else {
            for p in &req.peers {
                if !known.contains(p) {
                    return Err(WalletError::NotEnrolled(p.clone()));
                }
            }
            req.peers.clone()
        };
        if peers.is_empty() {
            return Err(WalletError::NoHospitals);
        }
        let secs = req.duration.seconds();
        if secs <= 0 || secs > spondon_core::token::MAX_DELEGATION_LIFETIME {
            return Err(WalletError::BadDuration(
                "a delegation lasts from 1 second to 400 days".into(),
            ));
        }
        let label = req.label.trim();
        if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
            return Err(WalletError::BadText(
                "name the delegate in 1 to 64 characters".into(),
            ));
        }
        let mut scopes = req.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let mut categories = req.categories.clone();
        categories.sort();
        categories.dedup();
        let mut guardians = Vec::new();
        if req.minor {
            guardians.push(delegate_key.kid().to_owned());
            if let Some(g) = &req.other_guardian
                && g != delegate_key.kid()
            {
                guardians.push(g.clone());
            }
        } else if req.other_guardian.is_some() {
            return Err(WalletError::BadDelegation(
                "guardians are named only for a minor".into(),
            ));
        }
        let now = NumericDate::now();
        let d = Delegation {
            id: Delegation::new_id()?,
            patient_key: self.signing.public_key().clone(),
            delegate_key,
            scopes,
            categories,
            peers: peers.clone(),
            guardians,
            issued_at: now,
            not_before: now,
            expires: now.saturating_add(secs),
        };
        let text = d.sign(&self.signing)?;
        let body = spondon_protocol::DelegationRegistration {
            delegation: text.clone(),
        };
        for peer in &peers {
            let _: spondon_protocol::DelegationRegistered = self
                .net
                .signed_post(&self.signing, peer, "/patient/delegations", &body)
                .await?;
        }
        let stored = StoredDelegation {
            id: spondon_core::b64::encode(d.id),
            text,
            label: label.to_owned(),
            delegate_kid: d.delegate_key.kid().to_owned(),
            scopes: d.scopes.iter().map(|s| s.name().to_owned()).collect(),
            categories: names(&d.categories),
            peers,
            guardians: d.guardians.clone(),
            issued_at: now.seconds(),
            expires: d.expires.seconds(),
            revoked_at: None,
        };
        let mut all = self.issued().await?;
        all.push(stored.clone());
        self.store.put(Table::Settings, ISSUED, &all).await?;
        Ok(stored)
    }

    /// The delegations this wallet issued, newest first.
    pub async fn delegations(&self) -> Result<Vec<StoredDelegation>> {
        let mut v = self.issued().await?;
        v.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(b.id.cmp(&a.id)));
        Ok(v)
    }

    /// Revokes a delegation (id or a unique prefix) at every peer it names: a revocation naming
    /// its id, registered like a grant's. Marked revoked when at least one peer registered it.
    pub async fn revoke_delegation(
        &self,
        auth: &Authorization,
        id: &str,
    ) -> Result<Vec<RevocationResult>> {
        self.check_auth(auth)?;
        let mut all = self.issued().await?;
        let i = unique(all.iter().map(|d| d.id.as_str()), id, "delegation")?;
        let did: [u8; 16] = spondon_core::b64::decode_array(&all[i].id)
            .ok_or_else(|| WalletError::Internal("stored delegation id".into()))?;
        let r = Revocation {
            id: Grant::new_id()?,
            patient_key: self.signing.public_key().clone(),
            target: RevocationTarget::Grant { grant_id: did },
            issued_at: NumericDate::now(),
        };
        let text = r.sign(&self.signing)?;
        let results = self
            .send_revocation(&text, &all[i].peers, &|_, _, _| {})
            .await;
        if results.iter().any(|r| r.ok) {
            all[i].revoked_at = Some(NumericDate::now().seconds());
            self.store.put(Table::Settings, ISSUED, &all).await?;
        }
        Ok(results)
    }

    /// Marks every delegation issued up to `before` (UNIX seconds) revoked in this wallet: a
    /// revoke-all at the peers (the lost-phone procedure) revoked them there. Returns how many.
    pub(crate) async fn mark_delegations_revoked(&self, before: i64) -> Result<u64> {
        let mut all = self.issued().await?;
        let now = NumericDate::now().seconds();
        let mut n = 0;
        for d in all
            .iter_mut()
            .filter(|d| d.revoked_at.is_none() && d.issued_at <= before)
        {
            d.revoked_at = Some(now);
            n += 1;
        }
        if n > 0 {
            self.store.put(Table::Settings, ISSUED, &all).await?;
        }
        Ok(n)
    }

    /// The delegate's side: accepts a delegation text naming this wallet's key as the delegate,
    /// or — for a minor — as one of the guardians, who may only read the patient's receipts
    /// (its scopes are then empty). Verified: the patient's signature, the time. Accepting the
    /// same delegation again updates its label.
    pub async fn add_delegation_from_text(
        &self,
        text: &str,
        label: &str,
    ) -> Result<DelegatedPatient> {
        let text = text.trim();
        let d = Delegation::decode_and_verify(text, NumericDate::now())?;
        let mine = self.signing.public_key();
        let delegate = &d.delegate_key == mine;
        if !delegate && !d.guardians.iter().any(|g| g == mine.kid()) {
            return Err(WalletError::BadDelegation(
                "this delegation is for another wallet's key".into(),
            ));
        }
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
            return Err(WalletError::BadText(
                "name the patient in 1 to 64 characters".into(),
            ));
        }
        let p = DelegatedPatient {
            id: spondon_core::b64::encode(d.id),
            text: text.to_owned(),
            label: label.to_owned(),
            patient_kid: d.patient_key.kid().to_owned(),
            scopes: if delegate {
                d.scopes.iter().map(|s| s.name().to_owned()).collect()
            } else {
                Vec::new()
            },
            categories: names(&d.categories),
            peers: d.peers.clone(),
            minor: d.is_minor(),
            expires: d.expires.seconds(),
            grants: Vec::new(),
        };
        let mut all = self.held().await?;
        match all.iter_mut().find(|x| x.id == p.id) {
            Some(x) => x.label = p.label.clone(),
            None => all.push(p.clone()),
        }
        self.store.put(Table::Settings, HELD, &all).await?;
        Ok(p)
    }

    /// The patients this wallet may act for, by label.
    pub async fn delegated_patients(&self) -> Result<Vec<DelegatedPatient>> {
        let mut v = self.held().await?;
        v.sort_by(|a, b| a.label.cmp(&b.label).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    /// One held delegation by label, delegation id (or its start) or patient key id.
    pub async fn delegated_patient(&self, who: &str) -> Result<DelegatedPatient> {
        let all = self.held().await?;
        let m: Vec<_> = all
            .into_iter()
            .filter(|p| p.label == who || p.patient_kid == who || p.id.starts_with(who))
            .collect();
        match m.len() {
            1 => m
                .into_iter()
                .next()
                .ok_or_else(|| WalletError::NotFound(who.into())),
            0 => Err(WalletError::NotFound(format!("delegation {who}"))),
            _ => Err(WalletError::Ambiguous {
                prefix: who.to_owned(),
                what: "delegation",
            }),
        }
    }

    /// The delegate's side: shares the patient's records with a doctor — a grant signed by
    /// this wallet's key embedding the delegation (`share` scope needed; a write grant needs
    /// `manage`). Its lifetime is cut to the delegation's; its categories and peers must stay
    /// inside it. Only a doctor's key (no passcode: the peers take passcodes from the patient).
    pub async fn grant_as_delegate(
        &self,
        auth: &Authorization,
        who: &str,
        req: &GrantRequest,
    ) -> Result<StoredGrant> {
        self.check_auth(auth)?;
        let mut p = self.delegated_patient(who).await?;
        let now = NumericDate::now();
        let d = Delegation::decode_and_verify(&p.text, now)?;
        if !d.allows(Scope::Share) || !p.scopes.iter().any(|s| s == "share") {
            return Err(WalletError::BadDelegation(
                "this delegation does not let you share".into(),
            ));
        }
        let GrantAudience::Doctor(doctor) = &req.audience else {
            return Err(WalletError::BadDelegation(
                "a delegate shares with a doctor's key, not a passcode".into(),
            ));
        };
        let peers = if req.peers.is_empty() {
            d.peers.clone()
        } else {
            req.peers.clone()
        };
        let secs = req.duration.seconds();
        if secs <= 0 || secs > spondon_core::token::MAX_GRANT_LIFETIME {
            return Err(WalletError::BadDuration(
                "a grant lasts from 1 second to 400 days".into(),
            ));
        }
        let mut categories = req.scope.categories.clone();
        categories.sort();
        categories.dedup();
        let expires = std::cmp::min(now.saturating_add(secs), d.expires);
        let g = Grant {
            id: Grant::new_id()?,
            patient_key: d.patient_key.clone(),
            audience: Audience::Key {
                kid: doctor.kid.clone(),
            },
            categories: categories.clone(),
            record_ids: req.scope.record_ids.clone(),
            write: req.write,
            purpose: req.purpose,
            issued_at: now,
            not_before: now,
            expires,
            use_limit: req.use_limit,
            peers: peers.clone(),
        };
        let text = g.sign_as_delegate(&self.signing, &p.text)?;
        let stored = StoredGrant {
            id: spondon_core::b64::encode(g.id),
            text,
            audience: format!(
                "{} (BMDC {}, {}) for {}",
                doctor.name, doctor.bmdc_number, doctor.hospital_name, p.label
            ),
            audience_kid: Some(doctor.kid.clone()),
            categories: names(&categories),
            record_ids: req.scope.record_ids.clone(),
            purpose: names(&[req.purpose]).concat(),
            issued_at: now.seconds(),
            not_before: now.seconds(),
            expires: expires.seconds(),
            peers,
            revoked_at: None,
            write: req.write,
        };
        p.grants.push(stored.clone());
        let mut all = self.held().await?;
        if let Some(x) = all.iter_mut().find(|x| x.id == p.id) {
            *x = p;
        }
        self.store.put(Table::Settings, HELD, &all).await?;
        Ok(stored)
    }

    /// The delegate's side: the patient's records (with `view`) and receipts (with `view`, or
    /// as a minor's guardian) from every peer the delegation names, each checked like the
    /// wallet's own: the card's signature, its log commitment and inclusion in a checkpoint
    /// signed by the hospital's log key (and its witnesses). Returned, not stored.
    pub async fn delegate_sync(&self, who: &str) -> Result<DelegateSync> {
        let p = self.delegated_patient(who).await?;
        let list = self.trust_list().await?;
        let mut out = DelegateSync {
            records: Vec::new(),
            receipts: Vec::new(),
            failures: Vec::new(),
        };
        let view = p.scopes.iter().any(|s| s == "view");
        for peer in &p.peers {
            let Some(h) = list.hospitals.iter().find(|h| &h.peer_url == peer) else {
                out.failures.push((peer.clone(), "unknown_peer".into()));
                continue;
            };
            let check = crate::sync::HospitalCheck::new(&list, h)?;
            let body = spondon_protocol::DelegateRequest {
                patient: p.patient_kid.clone(),
                ..Default::default()
            };
            if view {
                match crate::sync::delegate_records(&self.net, &self.signing, &check, &body).await {
                    Ok(r) => out.records.extend(r),
                    Err(e) => {
                        out.failures.push((peer.clone(), failure_code(&e)));
                        continue;
                    }
                }
            }
            match crate::sync::delegate_receipts(&self.net, &self.signing, &check, &body).await {
                Ok(r) => out.receipts.extend(r),
                Err(e) => out.failures.push((peer.clone(), failure_code(&e))),
            }
        }
        Ok(out)
    }
}

fn failure_code(e: &WalletError) -> String {
    match e {
        WalletError::PeerRefused { code, .. } => code.clone(),
        other => other.code().to_owned(),
    }
}

/// The index of the one id in `ids` that starts with `prefix`.
fn unique<'a>(
    ids: impl Iterator<Item = &'a str>,
    prefix: &str,
    what: &'static str,
) -> Result<usize> {
    let m: Vec<usize> = ids
        .enumerate()
        .filter(|(_, id)| id.starts_with(prefix))
        .map(|(i, _)| i)
        .collect();
    match m.as_slice() {
        [i] => Ok(*i),
        [] => Err(WalletError::NotFound(format!("{what} {prefix}"))),
        _ => Err(WalletError::Ambiguous {
            prefix: prefix.to_owned(),
            what,
        }),
    }
}
