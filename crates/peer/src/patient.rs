//! The patient side: server nonces, signed requests (`token::SignedRequest`), enrollment
//! redemption, and the incremental pull of records with their log proofs.

use spondon_core::NumericDate;
use spondon_core::keys::{Es256PublicKey, Jwk};
use spondon_core::token::{SignedRequest, SignedRequestTarget};
use spondon_ledger::{EntryKind, LogEntry, Opening};

use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::{Peer, to_i64, to_u64, token_hash};
use crate::records::RecordKind;
use crate::registry::is_health_id;

/// How long used or expired nonces are kept (so a replay inside the signature's ±300 s window
/// is `nonce_reused` / `nonce_expired`, not `nonce_unknown`).
pub const NONCE_RETENTION: i64 = 600;
/// How often (seconds) the expired nonces and proof-of-possession ids are purged. Their
/// checks never depend on the purge (a kept expired row is refused as expired, or replaced), so
/// it only bounds how long they stay stored beyond their retention.
pub const PURGE_EVERY: i64 = 10;
/// How long a server nonce may be used (once).
pub const NONCE_LIFETIME: i64 = 300;
/// Allowed clock skew of signed requests.
pub const MAX_SKEW: i64 = spondon_core::token::POP_MAX_SKEW;
/// Enrollment credential lifetime (5 years).
pub const ENROLLMENT_LIFETIME: i64 = 5 * 365 * 86_400;
/// Most records in one pull page.
pub const MAX_PULL: u64 = 500;

/// The wire types of these calls (`spondon-protocol`): the peer writes them.
pub use spondon_protocol::{
    Enrolled, EntryProof, Nonce, ProofsRequest, Pull, PullRequest, PulledRecord, WitnessedProofs,
};

/// What a wallet posts to bind its key, the key read as a [`Jwk`].
pub type EnrollRequest = spondon_protocol::EnrollRequest<Jwk>;

/// Most log entries one proofs request may name.
pub const MAX_PROOFS: usize = 1000;

/// A wallet's `known_size` (the size it last accepted) cannot exceed the log's signed size.
pub(crate) fn check_known_size(known_size: u64, signed: u64) -> Result<()> {
    if known_size > signed {
        return Err(PeerError::field(
            "known_size",
            "is larger than the log's signed size",
        ));
    }
    Ok(())
}

impl Peer {
    /// The consistency proof between two tree sizes, from the smaller to the larger, as base64.
    pub(crate) async fn consistency_b64(&self, a: u64, b: u64) -> Result<Vec<String>> {
        let proof = self.log.consistency_proof(a.min(b), a.max(b)).await?;
        Ok(proof.iter().map(|h| b64(h)).collect())
    }
}

/// Log bytes (entries, hashes) on the wire (`spondon_protocol::b64`).
pub(crate) fn b64(h: &[u8]) -> String {
    spondon_protocol::b64::log::encode(h)
}

pub(crate) use crate::db::records::RecordRow;

/// The parts of an HTTP request a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// Path (and query) as received; the peer's public URL is prefixed.
    pub path: &'a str,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

impl Peer {
    /// Hands out a single-use nonce (`crate::nonce`: made under the database's nonce key, so
    /// nothing is written), unless this process has `max_outstanding_nonces` out that are
    /// neither expired nor spent here (`too_many_nonces`); purges the spent nonces expired for
    /// more than ten minutes (at most once per [`PURGE_EVERY`] seconds).
    pub async fn new_nonce(&self) -> Result<Nonce> {
        let now = NumericDate::now().seconds();
        let expires = now + NONCE_LIFETIME;
        if crate::peer::PurgeTimes::due(&self.purged.nonces, now) {
            db::nonces::purge(&self.db, now - NONCE_RETENTION).await?;
        }
        let raw = self.nonce_key.make(expires)?;
        {
            let mut out = self
                .nonce_window
                .lock()
                .map_err(|_| PeerError::Integrity("nonce count lock poisoned".into()))?;
            if out.count(now) >= self.config.max_outstanding_nonces {
                return Err(PeerError::TooManyNonces);
            }
            out.add(expires);
        }
        Ok(Nonce {
            nonce: spondon_protocol::b64::url::encode(raw),
            expires,
        })
    }

    /// Judges a presented nonce before it is spent, without writing: one made here
    /// (`crate::nonce`) must carry this database's tag (`nonce_unknown`) and be unexpired at
    /// `now` (`nonce_expired`, or `nonce_reused` if it was spent before it expired); returns its
    /// expiry, to spend it with [`Peer::use_nonce`]. `None`: a nonce of the earlier form,
    /// judged by its stored row when it is spent.
    pub(crate) async fn judge_nonce(&self, nonce: &[u8], now: NumericDate) -> Result<Option<i64>> {
        let expires = match self.nonce_key.open(nonce)? {
            crate::nonce::Presented::Stored => return Ok(None),
            crate::nonce::Presented::Made { expires } => expires,
        };
        let now = now.seconds();
        // Never made with a longer life (a clock ahead by up to the skew allowed for).
        if expires > now + NONCE_LIFETIME + MAX_SKEW {
            return Err(PeerError::NonceUnknown);
        }
        if expires < now {
            return Err(match db::nonces::used_at(&self.db, nonce).await? {
                Some(Some(_)) => PeerError::NonceReused,
                _ => PeerError::NonceExpired,
            });
        }
        Ok(Some(expires))
    }

    /// Spends a nonce judged by [`Peer::judge_nonce`] (`judged` its answer), atomically: a
    /// replay finds it spent (`nonce_reused`).
    pub(crate) async fn use_nonce(
        &self,
        nonce: &[u8],
        judged: Option<i64>,
        now: NumericDate,
    ) -> Result<()> {
        let Some(expires) = judged else {
            // The earlier form: its stored row's conditional update.
            if db::nonces::consume(&self.db, nonce, now.seconds()).await? {
                return Ok(());
            }
            let used = db::nonces::used_at(&self.db, nonce).await?;
            return Err(match used {
                Some(Some(_)) => PeerError::NonceReused,
                Some(None) => PeerError::NonceExpired,
                None => PeerError::NonceUnknown,
            });
        };
        if !db::nonces::spend(&self.db, nonce, expires, now.seconds()).await? {
            return Err(PeerError::NonceReused);
        }
        self.nonce_spent(expires);
        Ok(())
    }

    /// A nonce expiring at `expires` was spent (it leaves this process's outstanding count).
    pub(crate) fn nonce_spent(&self, expires: i64) {
        if let Ok(mut out) = self.nonce_window.lock() {
            out.spent(expires);
        }
    }

    /// Judges and spends a single-use nonce ([`Peer::judge_nonce`], [`Peer::use_nonce`]).
    pub(crate) async fn consume_nonce(&self, nonce: &[u8], now: NumericDate) -> Result<()> {
        let judged = self.judge_nonce(nonce, now).await?;
        self.use_nonce(nonce, judged, now).await
    }

    /// Checks a signed request and consumes its nonce; returns the signer's key.
    pub async fn check_signed(&self, req: &RequestParts<'_>) -> Result<Es256PublicKey> {
        let text = req.signature.ok_or(PeerError::SignatureRequired)?;
        // Decoded (and its signature verified) once; the target names its own nonce.
        let request = SignedRequest::decode(text)?;
        let url = format!("{}{}", self.config.url, req.path);
        let target = SignedRequestTarget {
            method: req.method,
            url: &url,
            nonce: &request.nonce,
            body: req.body,
        };
        let now = NumericDate::now();
        request.check(&target, now, MAX_SKEW)?;
        self.consume_nonce(&request.nonce, now).await?;
        Ok(request.key)
    }

    /// Redeems a one-time enrollment code: binds the signing key to the Health ID and returns
    /// the enrollment credential. An earlier binding is retired as by a key rotation
    /// (`via: "identity_check"`, `docs/protocol.md` §17): its key is refused with `key_rotated`
    /// and every grant it signed with it.
    pub async fn enroll(&self, parts: &RequestParts<'_>, req: &EnrollRequest) -> Result<Enrolled> {
        let signer = self.check_signed(parts).await?;
        if req.public_key.d.is_some() {
            return Err(PeerError::field(
                "public_key",
                "must not contain a private key",
            ));
        }
        let key = Es256PublicKey::from_jwk(&req.public_key)
            .map_err(|e| PeerError::field("public_key", e.to_string()))?;
        if key != signer {
            return Err(PeerError::field(
                "public_key",
                "the request must be signed by the key to enroll",
            ));
        }
        if !is_health_id(&req.health_id) {
            return Err(PeerError::EnrollmentCodeInvalid);
        }
        let code_hash = token_hash(req.code.trim());
        let now = NumericDate::now();
        let text = self.enrollment_credential(&req.health_id, &key, now)?;
        let jwk = serde_json::to_string(&key.to_jwk())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let _guard = self.write_lock().await?;
        // The code, checked under the lock (so no other process redeems it meanwhile).
        let valid = db::patients::code_holder(&self.db, &code_hash, now.seconds()).await?;
        if valid.as_deref() != Some(req.health_id.as_str()) {
            return Err(PeerError::EnrollmentCodeInvalid);
        }
        if self.key_status(key.kid()).await? != crate::rotation::KeyStatus::Unknown {
            return Err(PeerError::field(
                "public_key",
                "this key is already enrolled",
            ));
        }
        // A patient with a bound key: this code came from a new identity check at the desk
        // (a lost phone), and redeeming it retires the old key like a rotation statement.
        if let Some(r) = self
            .rebind_after_identity_check(&req.health_id, &key, &text, &code_hash, now)
            .await?
        {
            return Ok(Enrolled {
                health_id: r.health_id,
                kid: r.kid,
                enrollment_credential: r.enrollment_credential,
                log_index: r.log_index - 1,
            });
        }
        // The entry, the code's use and the enrollment commit together (one transaction).
        let opening = Opening::new(text.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let entry = LogEntry::commit(EntryKind::Enrollment, now, &opening);
        let (kid, health_id, credential) =
            (key.kid().to_owned(), req.health_id.clone(), text.clone());
        let (code, at) = (code_hash.to_vec(), now.seconds());
        let rows: spondon_ledger::ExtraRows = Box::new(move |mut tx, _| {
            Box::pin(async move {
                if !db::patients::use_code(&mut tx, &code, at).await? {
                    // Rolls the whole append back; answered `enrollment_code_invalid`.
                    return Err(sqlx::Error::RowNotFound);
                }
                db::patients::insert_enrollment(
                    &mut tx,
                    &db::patients::NewEnrollment {
                        kid: &kid,
                        health_id: &health_id,
                        key_jwk: &jwk,
                        credential: &credential,
                        created_at: at,
                    },
                )
                .await
            })
        });
        // The entry, its rows and the checkpoint over them in one commit.
        let appended = match self.append_signed(&[entry.encode()], rows).await {
            Ok(a) => a,
            Err(PeerError::Ledger(spondon_ledger::LedgerError::Db(sqlx::Error::RowNotFound))) => {
                return Err(PeerError::EnrollmentCodeInvalid);
            }
            Err(PeerError::Ledger(spondon_ledger::LedgerError::Db(sqlx::Error::Database(e))))
                if e.is_unique_violation() =>
            {
                return Err(PeerError::field(
                    "public_key",
                    "this key is already enrolled",
                ));
            }
            Err(e) => return Err(e),
        };
        tracing::info!(log_index = appended.first_index, "patient key enrolled");
        Ok(Enrolled {
            health_id: req.health_id.clone(),
            kid: key.kid().to_owned(),
            enrollment_credential: text,
            log_index: appended.first_index,
        })
    }

    /// A patient's records after `since` that the checkpoint of `size` covers, in order.
    pub(crate) async fn record_rows(
        &self,
        health_id: &str,
        since: u64,
        size: u64,
        limit: Option<u64>,
    ) -> Result<Vec<RecordRow>> {
        let limit = to_i64(limit.unwrap_or(i64::MAX as u64))?;
        // Rows are committed with their log entries: a standby that holds the tree of `size`
        // holds them too.
        let db = self.log.reader_for(size).await;
        db::records::of_patient(db, health_id, to_i64(since)?, to_i64(size)?, limit).await
    }

    /// Records with their log entries, openings and inclusion proofs in the tree of `size`
    /// (the entries read and the proofs built for the whole page at once).
    pub(crate) async fn with_proofs(
        &self,
        rows: Vec<RecordRow>,
        size: u64,
    ) -> Result<Vec<PulledRecord>> {
        pulled_records(self.logged(rows, |r| r.log_index, size).await?)
    }

    /// `rows`, each at the log index `index_of` gives, with its entry and its inclusion proof
    /// in the tree of `size` (the entries read and the proofs built for all at once).
    pub(crate) async fn logged<R>(
        &self,
        rows: Vec<R>,
        index_of: impl Fn(&R) -> i64,
        size: u64,
    ) -> Result<Vec<Logged<R>>> {
        let indices = rows
            .iter()
            .map(|r| to_u64(index_of(r)))
            .collect::<Result<Vec<u64>>>()?;
        let proofs = self.log.inclusion_proofs(&indices, size).await?;
        let entries = self.log.entries_at(&indices).await?;
        Ok(logged(rows, indices, proofs, entries))
    }

    /// The Health ID whose active enrollment is `key`: `key_rotated` for a key retired by a
    /// rotation or a re-binding (`docs/protocol.md` §17), `not_enrolled` for any other.
    pub async fn enrolled_patient(&self, key: &Es256PublicKey) -> Result<String> {
        match self.key_status(key.kid()).await? {
            crate::rotation::KeyStatus::Active(h) => Ok(h),
            crate::rotation::KeyStatus::Rotated(_) => Err(PeerError::KeyRotated),
            crate::rotation::KeyStatus::Unknown => Err(PeerError::NotEnrolled),
        }
    }

    /// Inclusion proofs against the newest checkpoint that carries `min_cosignatures`, for a
    /// wallet upgrading proofs it received before witnesses had cosigned. Merkle hashes only:
    /// nothing here is secret (the tiles are public), but the caller must be an enrolled patient.
    pub async fn witnessed_proofs(
        &self,
        parts: &RequestParts<'_>,
        req: &ProofsRequest,
    ) -> Result<WitnessedProofs> {
        let key = self.check_signed(parts).await?;
        self.enrolled_patient(&key).await?;
        if req.min_cosignatures == 0 {
            return Err(PeerError::field("min_cosignatures", "must be 1..=255"));
        }
        if req.log_indices.len() > MAX_PROOFS {
            return Err(PeerError::field(
                "log_indices",
                format!("at most {MAX_PROOFS} per request"),
            ));
        }
        let (latest, _) = self.current_checkpoint().await?;
        check_known_size(req.known_size, latest)?;
        let (size, checkpoint) = self
            .log
            .witnessed_checkpoint(usize::from(req.min_cosignatures))
            .await?
            .ok_or(PeerError::NotWitnessed(req.min_cosignatures))?;
        let consistency = self.consistency_b64(req.known_size, size).await?;
        let mut indices = req.log_indices.clone();
        indices.sort_unstable();
        indices.dedup();
        indices.retain(|i| *i < size);
        let proofs = self
            .log
            .inclusion_proofs(&indices, size)
            .await?
            .into_iter()
            .zip(indices)
            .map(|((_, proof), i)| EntryProof {
                log_index: i,
                inclusion_proof: proof.iter().map(|h| b64(h)).collect(),
            })
            .collect();
        Ok(WitnessedProofs {
            checkpoint,
            tree_size: size,
            consistency_proof: consistency,
            proofs,
        })
    }

    /// The incremental pull of the patient whose enrolled key signed the request.
    pub async fn pull(&self, parts: &RequestParts<'_>, req: &PullRequest) -> Result<Pull> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        crate::peer::cursor(req.since, "since")?;
        let (size, checkpoint) = self.current_checkpoint().await?;
        check_known_size(req.known_size, size)?;
        let rows = self
            .record_rows(&health_id, req.since, size, Some(MAX_PULL + 1))
            .await?;
        let more = rows.len() as u64 > MAX_PULL;
        let rows: Vec<RecordRow> = rows.into_iter().take(MAX_PULL as usize).collect();
        let cursor = match rows.last() {
            Some(r) => to_u64(r.seq)?,
            None => req.since,
        };
        let records = self.with_proofs(rows, size).await?;
        let consistency = self.consistency_b64(req.known_size, size).await?;
        tracing::info!(count = records.len(), "patient pull");
        Ok(Pull {
            records,
            cursor,
            more,
            checkpoint,
            tree_size: size,
            consistency_proof: consistency,
        })
    }
}

/// A row the log commits to (a record, an access event) with what a wallet checks it by: its
/// log index, its entry and the entry's inclusion proof, the last two in the wire's base64.
pub(crate) struct Logged<R> {
    pub(crate) row: R,
    pub(crate) log_index: u64,
    pub(crate) entry: String,
    pub(crate) inclusion_proof: Vec<String>,
}

/// `rows` with their log indices, inclusion proofs and entries (each list in the rows' order).
pub(crate) fn logged<R>(
    rows: Vec<R>,
    indices: Vec<u64>,
    proofs: Vec<(spondon_ledger::Hash, Vec<spondon_ledger::Hash>)>,
    entries: Vec<Vec<u8>>,
) -> Vec<Logged<R>> {
    rows.into_iter()
        .zip(indices)
        .zip(proofs.into_iter().zip(entries))
        .map(|((row, log_index), ((_, proof), entry))| Logged {
            row,
            log_index,
            entry: b64(&entry),
            inclusion_proof: proof.iter().map(|h| b64(h)).collect(),
        })
        .collect()
}

/// Records with their log entries and inclusion proofs, in the pull's wire form.
pub(crate) fn pulled_records(records: Vec<Logged<RecordRow>>) -> Result<Vec<PulledRecord>> {
    records
        .into_iter()
        .map(|logged| {
            let Logged {
                row:
                    RecordRow {
                        id,
                        kind,
                        supersedes,
                        issued_at,
                        jws,
                        salt,
                        ..
                    },
                log_index,
                entry,
                inclusion_proof,
            } = logged;
            let kind: RecordKind = serde_json::from_value(serde_json::Value::String(kind))
                .map_err(|_| PeerError::Integrity("stored record kind is unknown".into()))?;
            Ok(PulledRecord {
                id,
                kind: kind.as_str().to_owned(),
                supersedes,
                issued_at,
                jws,
                log_index,
                entry,
                salt: spondon_protocol::b64::url::encode(salt),
                inclusion_proof,
            })
        })
        .collect()
}
