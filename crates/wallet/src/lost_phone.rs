//! Lost or stolen phone (`docs/protocol.md` §17, `docs/wallet.md` "Lost phone"): from a wallet
//! restored on a new device, revoke everything the old key signed at every hospital and move
//! the patient's binding to a new key.
//!
//! [`Wallet::lost_phone`] does, and can be run again until it is complete:
//! 1. once: makes a new signing key and installs it (sealed with the passphrase, in the key
//!    store), keeping the old key only in the encrypted cache until every hospital is done;
//! 2. at every enrolled hospital not done yet, [`Wallet::revoke_everything`]: a revoke-all of
//!    every grant of the old key (the step a later "and every delegation" joins);
//! 3. there, a key rotation statement signed by the old key and the new key
//!    (`POST /patient/rotate-key`); the hospital answers with the new key's enrollment
//!    credential, checked against the trust list before it is kept.
//!
//! A hospital that answers `key_rotated` has had the old key retired by someone else (a thief
//! who rotated first, or a re-binding at the desk): only the identity-check path is left there,
//! [`Wallet::rebind_with_code`] with a new enrollment code from the registration desk.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::Es256KeyPair;
use spondon_core::token::{Grant, KeyRotation, Revocation, RevocationTarget};
use zeroize::Zeroizing;

use crate::error::{Result, WalletError};
use crate::grants::RevocationResult;
use crate::store::Table;
use crate::sync::{EnrollmentCode, PeerState};
use crate::wallet::Wallet;

/// What the user must be told before anything is done (the CLI prints it, the app shows it).
pub const LOST_PHONE_WARNING: &str = "Your old phone's copy of your records is encrypted with your \
passphrase, but every grant it made was live until now: anyone holding one of its QR codes, or \
the phone itself if it was unlocked, could use them. This revokes every grant at every hospital \
and replaces the wallet's key; the old phone's key is refused from then on.";

const ROTATION_SETTING: &str = "key_rotation";

/// The rotation in progress, kept in the encrypted cache (settings) until it is complete.
#[derive(Serialize, Deserialize)]
struct RotationState {
    v: u32,
    /// base64url PKCS#8 of the old key; removed once every hospital is done.
    old_key: Option<String>,
    /// base64url PKCS#8 of the new key (installed as the wallet's key).
    new_key: Option<String>,
    old_kid: String,
    new_kid: String,
    started_at: i64,
    /// Peer URL → how the new key was bound there (`statement` or `identity_check`).
    done: BTreeMap<String, String>,
    completed_at: Option<i64>,
}

/// How one hospital ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HospitalOutcome {
    /// Grants revoked and the new key bound (now).
    Rotated,
    /// Done on an earlier run (or a retry the hospital recognised).
    AlreadyDone,
    /// The old key was already retired there by someone else: only an identity check at the
    /// registration desk can bind the new key (`spondon rebind --code …`).
    IdentityCheckNeeded {
        /// The hospital's error code (`key_rotated`).
        code: String,
        /// What to do, in words for people (the hospital's detail and the rebind step).
        message: String,
    },
    /// Not done (unreachable, or refused): run again.
    Failed {
        /// The stable code of the error ([`WalletError::code`]).
        code: String,
        /// The error, in words for people.
        message: String,
    },
}

/// One hospital's result.
#[derive(Debug, Clone, Serialize)]
pub struct HospitalResult {
    /// The hospital's peer URL.
    pub peer: String,
    /// The hospital's display name.
    pub hospital_name: String,
    /// How it ended up.
    pub outcome: HospitalOutcome,
}

impl HospitalResult {
    /// Whether this hospital is finished.
    pub fn done(&self) -> bool {
        matches!(
            self.outcome,
            HospitalOutcome::Rotated | HospitalOutcome::AlreadyDone
        )
    }
}

/// Progress of [`Wallet::lost_phone`].
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LostPhoneEvent {
    /// The new key is installed (`resumed`: from an earlier, unfinished run).
    KeyReady {
        /// The key id of the old (lost) key being retired.
        old_kid: String,
        /// The key id of the new key.
        new_kid: String,
        /// The key was made by an earlier run that did not finish.
        resumed: bool,
        /// How many hospitals the wallet is enrolled at.
        hospitals: u64,
    },
    /// A hospital is being contacted.
    Contacting {
        /// The hospital's peer URL.
        peer: String,
        /// The hospital's display name.
        hospital_name: String,
    },
    /// A hospital answered (`done` of `total`).
    Hospital {
        /// How that hospital ended up.
        result: HospitalResult,
        /// How many hospitals have answered so far, this one included.
        done: u64,
        /// How many hospitals the wallet is enrolled at (those done before included).
        total: u64,
    },
}

/// What [`Wallet::lost_phone`] did.
#[derive(Debug, Clone, Serialize)]
pub struct LostPhoneReport {
    /// The key id of the old (lost) key.
    pub old_kid: String,
    /// The key id of the new key.
    pub new_kid: String,
    /// One result per enrolled hospital (those done before as `AlreadyDone`).
    pub hospitals: Vec<HospitalResult>,
    /// Grants marked revoked in this wallet.
    pub grants_revoked: u64,
    /// Every hospital is done: the old key is gone from this wallet too.
    pub complete: bool,
}

/// A key rotation in progress or finished, for the app's screens.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRotationStatus {
    /// The key id of the old (lost) key.
    pub old_kid: String,
    /// The key id of the new key.
    pub new_kid: String,
    /// When the rotation began (seconds since the epoch).
    pub started_at: i64,
    /// Peer URL → `statement` or `identity_check`.
    pub done: BTreeMap<String, String>,
    /// Enrolled hospitals not done yet.
    pub pending: Vec<String>,
    /// When every hospital was done (seconds since the epoch); `None` while some are not.
    pub completed_at: Option<i64>,
}

fn key_from(b64: Option<&str>) -> Result<Es256KeyPair> {
    let der = Zeroizing::new(
        b64.and_then(|s| spondon_core::b64::decode(s).ok())
            .ok_or_else(|| WalletError::Internal("key rotation state: key missing".into()))?,
    );
    Es256KeyPair::from_pkcs8(&der).map_err(|e| WalletError::Corrupt {
        file: "wallet cache".into(),
        reason: format!("key rotation state: {e}"),
    })
}

fn pkcs8(k: &Es256KeyPair) -> String {
    spondon_core::b64::encode(&k.to_pkcs8()[..])
}

impl Wallet {
    /// The key rotation in progress (or the last one finished), if any.
    pub async fn key_rotation_status(&self) -> Result<Option<KeyRotationStatus>> {
        let Some(st) = self
            .store
            .get::<RotationState>(Table::Settings, ROTATION_SETTING)
            .await?
        else {
            return Ok(None);
        };
        let pending = self
            .peers()
            .await?
            .into_iter()
            .map(|p| p.url)
            .filter(|u| st.completed_at.is_none() && !st.done.contains_key(u))
            .collect();
        Ok(Some(KeyRotationStatus {
            old_kid: st.old_kid,
            new_kid: st.new_kid,
            started_at: st.started_at,
            done: st.done,
            pending,
            completed_at: st.completed_at,
        }))
    }

    /// Starts a rotation (new key made and installed, old key kept in the cache), or returns
    /// the unfinished one: `(old key, state, resumed)`. Needs the passphrase (the new key is
    /// sealed with it).
    async fn begin_rotation(
        &mut self,
        passphrase: &[u8],
    ) -> Result<(Arc<Es256KeyPair>, RotationState, bool)> {
        let (id, data_key, _) = crate::wallet::open_sealed(&self.dir, passphrase).await?;
        if id != self.id {
            return Err(WalletError::WrongPassphrase);
        }
        let existing: Option<RotationState> =
            self.store.get(Table::Settings, ROTATION_SETTING).await?;
        let (st, resumed) = match existing {
            Some(st) if st.completed_at.is_none() => (st, true),
            // None, or a finished one (the phone was lost again): a new rotation.
            _ => {
                let new = Es256KeyPair::generate()?;
                let old = self.signing.clone();
                let st = RotationState {
                    v: 1,
                    old_key: Some(pkcs8(&old)),
                    new_key: Some(pkcs8(&new)),
                    old_kid: old.kid().to_owned(),
                    new_kid: new.kid().to_owned(),
                    started_at: NumericDate::now().seconds(),
                    done: BTreeMap::new(),
                    completed_at: None,
                };
                // Both keys are in the cache before the wallet's key changes: a crash between
                // the two steps resumes here.
                self.store
                    .put(Table::Settings, ROTATION_SETTING, &st)
                    .await?;
                (st, false)
            }
        };
        let old = Arc::new(key_from(st.old_key.as_deref())?);
        if self.signing.kid() != st.new_kid {
            let new = key_from(st.new_key.as_deref())?;
            let sealed = crate::wallet::seal_keys(&id, &data_key, &new, passphrase).await?;
            crate::wallet::ks_put(
                &self.keystore,
                &id,
                vec![
                    ("data-key", Zeroizing::new(data_key.to_vec())),
                    ("signing-key", new.to_pkcs8()),
                ],
            )
            .await?;
            crate::wallet::write_private(&self.dir.join(crate::wallet::SEALED_KEYS_FILE), sealed)
                .await?;
            self.signing = Arc::new(new);
        }
        Ok((old, st, resumed))
    }

    /// Marks `peer` done; when every enrolled hospital is, the rotation is complete and the
    /// old key is dropped from the cache.
    async fn finish_peer(&self, st: &mut RotationState, peer: &str, via: &str) -> Result<bool> {
        st.done.insert(peer.to_owned(), via.to_owned());
        let peers = self.peers().await?;
        let complete = peers.iter().all(|p| st.done.contains_key(&p.url));
        if complete {
            st.old_key = None;
            st.new_key = None;
            st.completed_at = Some(NumericDate::now().seconds());
        }
        self.store
            .put(Table::Settings, ROTATION_SETTING, st)
            .await?;
        Ok(complete)
    }

    /// Revokes everything `key` signed at each of `peers` ([`Wallet::revoke_everything_at`]),
    /// one result per peer.
    pub async fn revoke_everything(
        &self,
        key: &Es256KeyPair,
        peers: &[String],
    ) -> Vec<RevocationResult> {
        let mut out = Vec::with_capacity(peers.len());
        for p in peers {
            out.push(match self.revoke_everything_at(key, p).await {
                Ok(()) => RevocationResult {
                    peer: p.clone(),
                    ok: true,
                    error: None,
                    error_code: None,
                },
                Err(e) => RevocationResult {
                    peer: p.clone(),
                    ok: false,
                    error: Some(e.to_string()),
                    error_code: Some(e.code()),
                },
            });
        }
        out
    }

    /// Revokes everything `key` signed at `peer`: every grant (one revoke-all,
    /// `docs/protocol.md` §6.2). Already registered, or the key already retired there
    /// (`key_rotated`), is success. Family delegations (another branch) join HERE: their
    /// "revoke every delegation of this key" step belongs in this function, so that
    /// [`Wallet::lost_phone`] reaches it at every hospital before the key is rotated.
    pub async fn revoke_everything_at(&self, key: &Es256KeyPair, peer: &str) -> Result<()> {
        let now = NumericDate::now();
        let text = Revocation {
            id: Grant::new_id()?,
            patient_key: key.public_key().clone(),
            // Grants made in this very second are included (a revoke-all covers every grant of
            // the key anyway, §6.2).
            target: RevocationTarget::IssuedBefore {
                before: now.saturating_add(1),
            },
            issued_at: now,
        }
        .sign(key)?;
        let body = spondon_protocol::RevokeRequest { revocation: text };
        let r: Result<serde_json::Value> = self
            .net
            .signed_post(key, peer, "/patient/revocations", &body)
            .await;
        match r {
            Ok(_) => {}
            Err(WalletError::PeerRefused { code, .. })
                if code == "duplicate_revocation" || code == "key_rotated" => {}
            Err(e) => return Err(e),
        }
        // Delegations: the peer applies a revoke-all to every delegation the key signed as
        // well (`docs/protocol.md` §16), so this one request covers them.
        Ok(())
    }

    /// Lost or stolen phone: from this (restored) wallet, revoke every grant of the old key at
    /// every enrolled hospital and rotate to a new key there, reporting each hospital through
    /// `progress`. Show [`LOST_PHONE_WARNING`] first. Needs the wallet passphrase (the new key is
    /// sealed with it; it also stands for the authorization). Run it again until
    /// [`LostPhoneReport::complete`]: hospitals already done are skipped. Grants in this wallet
    /// are marked revoked.
    pub async fn lost_phone(
        &mut self,
        passphrase: &[u8],
        progress: &(dyn Fn(LostPhoneEvent) + Send + Sync),
    ) -> Result<LostPhoneReport> {
        let (old, mut st, resumed) = self.begin_rotation(passphrase).await?;
        let peers = self.peers().await?;
        progress(LostPhoneEvent::KeyReady {
            old_kid: st.old_kid.clone(),
            new_kid: st.new_kid.clone(),
            resumed,
            hospitals: peers.len() as u64,
        });
        let list = self.trust_list().await?;
        let total = peers.len() as u64;
        let mut results = Vec::with_capacity(peers.len());
        let mut complete = peers.is_empty();
        if complete && st.completed_at.is_none() {
            // Enrolled nowhere: nothing to revoke or re-bind; the new key is simply the key.
            st.old_key = None;
            st.new_key = None;
            st.completed_at = Some(NumericDate::now().seconds());
            self.store
                .put(Table::Settings, ROTATION_SETTING, &st)
                .await?;
        }
        for peer in &peers {
            let outcome = if st.done.contains_key(&peer.url) {
                HospitalOutcome::AlreadyDone
            } else {
                progress(LostPhoneEvent::Contacting {
                    peer: peer.url.clone(),
                    hospital_name: peer.hospital_name.clone(),
                });
                match self.rotate_at(&old, &list, peer).await {
                    Ok(()) => {
                        complete = self.finish_peer(&mut st, &peer.url, "statement").await?;
                        HospitalOutcome::Rotated
                    }
                    Err(WalletError::PeerRefused { code, detail, .. }) if code == "key_rotated" => {
                        HospitalOutcome::IdentityCheckNeeded {
                            code,
                            message: format!(
                                "the old key was already retired there ({detail}); ask the registration desk for a new enrollment code after an identity check, then run `spondon rebind --code …`"
                            ),
                        }
                    }
                    Err(e) => HospitalOutcome::Failed {
                        code: e.code().to_owned(),
                        message: e.to_string(),
                    },
                }
            };
            let result = HospitalResult {
                peer: peer.url.clone(),
                hospital_name: peer.hospital_name.clone(),
                outcome,
            };
            progress(LostPhoneEvent::Hospital {
                result: result.clone(),
                done: results.len() as u64 + 1,
                total,
            });
            results.push(result);
        }
        let grants_revoked = self.mark_grants_revoked(st.started_at).await?;
        Ok(LostPhoneReport {
            old_kid: st.old_kid,
            new_kid: st.new_kid,
            hospitals: results,
            grants_revoked,
            complete: complete || st.completed_at.is_some(),
        })
    }

    /// One hospital: revoke everything of the old key, then the rotation statement; keeps the
    /// new enrollment credential after checking it.
    async fn rotate_at(
        &self,
        old: &Es256KeyPair,
        list: &spondon_core::token::TrustList,
        peer: &PeerState,
    ) -> Result<()> {
        // Everything the old key signed, first (the rotation below revokes its grants too;
        // this also reaches what a later step adds to revoke_everything_at).
        self.revoke_everything_at(old, &peer.url).await?;
        let statement = KeyRotation::create(
            old,
            &self.signing,
            &peer.health_id,
            &peer.url,
            NumericDate::now(),
        )?;
        let resp: spondon_protocol::KeyRotated = self
            .net
            .signed_post(
                &self.signing,
                &peer.url,
                "/patient/rotate-key",
                &spondon_protocol::RotateKeyRequest { statement },
            )
            .await?;
        let hospital = list
            .hospitals
            .iter()
            .find(|h| h.peer_url == peer.url)
            .ok_or_else(|| WalletError::UntrustedPeer(peer.url.clone()))?;
        self.check_enrollment(list, hospital, &peer.health_id, &resp.enrollment_credential)?;
        let mut state = peer.clone();
        state.enrollment_credential = resp.enrollment_credential;
        state.enrolled_at = NumericDate::now().seconds();
        self.store.put(Table::Peers, &state.url, &state).await?;
        Ok(())
    }

    /// Marks every grant issued up to `before` revoked in this wallet (they were all signed by
    /// the old key); returns how many were not marked yet.
    async fn mark_grants_revoked(&self, before: i64) -> Result<u64> {
        let mut n = 0;
        for mut g in self.grants().await? {
            if g.revoked_at.is_none() && g.issued_at <= before {
                g.revoked_at = Some(NumericDate::now().seconds());
                self.store.put(Table::Grants, &g.id, &g).await?;
                n += 1;
            }
        }
        // The delegations the old key signed were revoked with its grants (revoke-all).
        self.mark_delegations_revoked(before).await?;
        Ok(n)
    }

    /// The identity-check path, for a hospital where the old key cannot sign (it is gone, or a
    /// thief rotated it first): redeems a new enrollment code from the registration desk with
    /// the wallet's new key, which retires whatever key was bound there. Starts the rotation
    /// (new key) if none is in progress, and marks that hospital done in it. Needs the
    /// passphrase like [`Wallet::lost_phone`]. Grants of the old key are revoked by the
    /// re-binding itself. Refused (`invalid`) for a hospital this wallet is not enrolled at
    /// while no rotation is in progress: that is a first enrollment ([`Wallet::enroll`]).
    pub async fn rebind_with_code(
        &mut self,
        passphrase: &[u8],
        code: &EnrollmentCode,
    ) -> Result<PeerState> {
        let in_progress = self
            .key_rotation_status()
            .await?
            .is_some_and(|s| s.completed_at.is_none());
        let enrolled_there = self
            .store
            .get::<PeerState>(Table::Peers, &code.peer_url)
            .await?
            .is_some();
        if !in_progress && !enrolled_there {
            // A first enrollment there: no key to retire, nothing to rotate.
            return Err(WalletError::NotEnrolled(code.peer_url.clone()));
        }
        let (_, mut st, _) = self.begin_rotation(passphrase).await?;
        let state = self.enroll(code).await?;
        self.finish_peer(&mut st, &state.url, "identity_check")
            .await?;
        self.mark_grants_revoked(st.started_at).await?;
        Ok(state)
    }
}
