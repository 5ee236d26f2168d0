//! Doctors redeem grants (with proof of possession); every access, allowed or denied, is an
//! access event committed to the log and shown to the patient as a receipt. Patients register
//! revocations, effective at once.

use spondon_core::NumericDate;
use spondon_core::token::{
    Delegation, Grant, PopProof, PopRequest, Revocation, RevocationTarget, TokenClaims, TokenError,
};
use spondon_ledger::{EntryKind, LogEntry, Opening};

use crate::db;
use crate::error::{PeerError, Result};
use crate::group_commit::Wait;
use crate::patient::{MAX_SKEW, RecordRow, RequestParts};
use crate::peer::{Peer, to_i64, to_u64};

/// What an access under a grant did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Redeemed the grant to read records.
    View,
    /// Wrote a record under a write-scoped grant.
    Write,
    /// Downloaded a document record's file under the grant (`POST /grant/files`).
    Download,
}

impl Action {
    /// The word in the logged event (`"action"`).
    pub(crate) fn word(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Write => "write",
            Action::Download => "download",
        }
    }
}

/// An access event's row, owned, for the group commit's transaction.
#[derive(Debug, Clone)]
struct EventRow {
    health_id: Option<String>,
    outcome: &'static str,
    reason: Option<String>,
    payload: String,
    salt: [u8; 32],
    at: i64,
    /// The grant text of an allowed access under a grant (`peer_access_grants`).
    grant: Option<String>,
}

/// An access event waiting for the next group commit, and where to answer.
#[derive(Debug)]
pub(crate) struct PendingEvent {
    entry: [u8; 42],
    row: EventRow,
    /// The proof of possession an allowed redemption spends in the event's transaction.
    spends: Option<SingleUse>,
    reply: Option<EventReply>,
}

/// The single-use parts of a verified proof of possession, not yet spent: its server nonce
/// and its id (`cti`), at the request's time. An allowed redemption spends them in its access
/// event's group-commit transaction, with the same conditional statements as
/// [`Peer::spend`] (so the database keeps them single use across requests and processes):
/// the event commits only if both are unused, and its records are answered only after that
/// commit, so never before the nonce's use is durable.
#[derive(Debug, Clone)]
pub(crate) struct SingleUse {
    nonce: Vec<u8>,
    /// The nonce's expiry when it is one made here (judged fresh, [`Peer::judge_nonce`]);
    /// `None` for the earlier, stored form.
    expires: Option<i64>,
    pop_id: [u8; 16],
    now: NumericDate,
}

/// The event's outcome from its group commit: its log index, or `None` when its proof of
/// possession was found spent inside the batch (the event was not logged).
type EventReply = tokio::sync::oneshot::Sender<Result<Option<u64>>>;

struct AccessEvent<'a> {
    /// The patient, when the access is attributable (a verified grant of an enrolled patient).
    health_id: Option<&'a str>,
    action: Action,
    /// The refusal's code; `None` for an allowed access.
    refused: Option<&'a str>,
    grant_id: Option<&'a [u8; 16]>,
    /// The key id of the grant's audience (the doctor), if any.
    audience: Option<&'a str>,
    /// The records read or written.
    records: &'a [&'a str],
    at: NumericDate,
    /// The delegate's key id, when a delegate acted for the patient (§16).
    delegate: Option<&'a str>,
}

/// Most record ids a redemption may ask for.
pub const MAX_REQUESTED_IDS: usize = 64;
/// Wrong passcodes a bearer grant tolerates across all the peers it names before it is locked
/// for good: each of its `n` peers allows `max(1, 5 / n)`, so the consortium as a whole allows at
/// most `max(5, n)` guesses with no coordination between peers.
pub const MAX_PASSCODE_FAILURES: i64 = 5;

/// What a redemption asks for.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// Read the covered records (optionally only these ids).
    Read(Option<&'a [String]>),
    /// Add a record of this category (needs a write grant).
    Write(spondon_core::token::Category),
}

/// A write under a grant, the kind read as the peer's [`RecordKind`](crate::records::RecordKind).
pub type WriteRequest = spondon_protocol::WriteRequest<crate::records::RecordKind>;

/// A denial, with what is known of whom it concerns.
#[derive(Debug)]
struct Denial {
    error: PeerError,
    health_id: Option<String>,
    grant_id: Option<[u8; 16]>,
    audience: Option<String>,
    delegate: Option<String>,
}

impl Denial {
    fn bare(error: impl Into<PeerError>) -> Self {
        Denial {
            error: error.into(),
            health_id: None,
            grant_id: None,
            audience: None,
            delegate: None,
        }
    }
}

/// What a grant check lets through: the grant, the patient, the records in scope, for a
/// delegate's grant the delegation it is signed under, and the proof of possession left
/// unspent for the access event's transaction ([`Presented::defer_spending`]).
type Authorized = (
    Grant,
    String,
    Vec<RecordRow>,
    Option<Delegation>,
    Option<SingleUse>,
);

/// A grant as a request presents it ([`Peer::authorize`]): the HTTP request its proof of
/// possession covers, the grant's text, a bearer grant's passcode, and what it is used for.
struct Presented<'a> {
    method: &'a str,
    path: &'a str,
    /// The `Spondon-PoP` header.
    pop: Option<&'a str>,
    body: &'a [u8],
    grant: &'a str,
    passcode: Option<&'a str>,
    scope: Scope<'a>,
    /// Leave the proof of possession unspent when every check passes ([`SingleUse`]): the
    /// caller spends it in its access event's transaction. Never for a grant with a use limit
    /// (its use is counted only for a spent proof).
    defer_spending: bool,
}

fn delegate_kid(d: &Option<Delegation>) -> Option<&str> {
    d.as_ref().map(|d| d.delegate_key.kid())
}

/// The wire types of redemption and receipts (`spondon-protocol`): the peer writes them.
pub use spondon_protocol::{
    PasscodeRegistered, PasscodeRegistration, Receipt, Receipts, ReceiptsRequest, RedeemRequest,
    Redeemed, RevokeRequest,
};

impl Peer {
    /// Redeems a grant: every check, then exactly the granted records; logs the access either
    /// way. `pop` is the `Spondon-PoP` header.
    pub async fn redeem(
        &self,
        method: &str,
        path: &str,
        pop: Option<&str>,
        body: &[u8],
        req: &RedeemRequest,
    ) -> Result<Redeemed> {
        let now = NumericDate::now();
        let scope = Scope::Read(req.record_ids.as_deref());
        let passcode = req.passcode.as_deref();
        match self
            .authorize(
                Presented {
                    method,
                    path,
                    pop,
                    body,
                    grant: &req.grant,
                    passcode,
                    scope,
                    defer_spending: true,
                },
                now,
            )
            .await
        {
            Ok((grant, health_id, rows, delegation, mut unspent)) => {
                let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
                let audience = audience_kid(&grant);
                let index = loop {
                    let event = AccessEvent {
                        health_id: Some(&health_id),
                        action: Action::View,
                        refused: None,
                        grant_id: Some(&grant.id),
                        audience: audience.as_deref(),
                        records: &ids,
                        at: now,
                        delegate: delegate_kid(&delegation),
                    };
                    let spends = unspent.take();
                    let Some(proof) = spends.clone() else {
                        break self.log_access_keeping(event, Some(&req.grant)).await?;
                    };
                    let pending = self.access_event(event, Some(&req.grant), Some(proof))?;
                    if let Some(index) = self.commit_event_spending(pending).await? {
                        break index;
                    }
                    // Found spent inside the batch (whose transaction was rolled back): spend
                    // it on its own, as before the checks, and refuse with what that says; if
                    // it is spent now after all (a racing request lost), log the access.
                    if let Some(proof) = spends
                        && let Err(e) = self.spend(&proof).await
                    {
                        let d = Denial {
                            error: e,
                            health_id: Some(health_id.clone()),
                            grant_id: Some(grant.id),
                            audience: audience.clone(),
                            delegate: delegate_kid(&delegation).map(str::to_owned),
                        };
                        return Err(self.refuse(d, Action::View, now).await?);
                    }
                };
                // Proofs refer to a checkpoint that also covers this access's event.
                let (size, checkpoint) = self.current_checkpoint().await?;
                let records = self.redeemed_with_proofs(rows, size).await?;
                tracing::info!(count = records.len(), "grant redeemed");
                Ok(Redeemed {
                    records,
                    checkpoint,
                    tree_size: size,
                    access_log_index: index,
                })
            }
            Err(d) => Err(self.refuse(d, Action::View, now).await?),
        }
    }

    /// The redeemed records with their log entries and inclusion proofs in the tree of `size`,
    /// as [`Peer::with_proofs`] gives them, without reading the entries back: each record's
    /// entry is rebuilt from its row (a record is logged as `RecordIssued` at its `issued_at`,
    /// committing to its JWS with its salt) and served only when its leaf hash is the stored
    /// one its inclusion proof was checked with (against the stored root and the signed
    /// checkpoint): then it is the stored entry, byte for byte. Any other is read from the log.
    async fn redeemed_with_proofs(
        &self,
        rows: Vec<RecordRow>,
        size: u64,
    ) -> Result<Vec<spondon_protocol::PulledRecord>> {
        let indices = rows
            .iter()
            .map(|r| to_u64(r.log_index))
            .collect::<Result<Vec<u64>>>()?;
        let proofs = self.log.inclusion_proofs(&indices, size).await?;
        let mut entries: Vec<Option<Vec<u8>>> = rows
            .iter()
            .zip(&proofs)
            .map(|(r, (leaf, _))| {
                let salt: [u8; 32] = r.salt.as_slice().try_into().ok()?;
                let opening = Opening {
                    salt,
                    payload: r.jws.as_bytes().to_vec(),
                };
                let entry =
                    LogEntry::commit(EntryKind::RecordIssued, NumericDate(r.issued_at), &opening)
                        .encode();
                (spondon_ledger::merkle::leaf_hash(&entry) == *leaf).then(|| entry.to_vec())
            })
            .collect();
        let unbuilt: Vec<u64> = indices
            .iter()
            .zip(&entries)
            .filter(|(_, e)| e.is_none())
            .map(|(i, _)| *i)
            .collect();
        if !unbuilt.is_empty() {
            let mut read = self.log.entries_at(&unbuilt).await?.into_iter();
            for e in entries.iter_mut().filter(|e| e.is_none()) {
                *e = read.next();
            }
        }
        let entries = entries
            .into_iter()
            .map(|e| e.ok_or_else(|| PeerError::Integrity("a redeemed entry was not read".into())))
            .collect::<Result<Vec<_>>>()?;
        crate::patient::pulled_records(crate::patient::logged(rows, indices, proofs, entries))
    }

    /// `POST /grant/files`: the file of one document record the grant covers, after every
    /// check of a redemption (each refusal logged as the patient's receipt when attributable);
    /// the answer is logged as one access event naming the one record. A covered record that
    /// carries no file is `not_a_document`.
    pub async fn grant_file(
        &self,
        method: &str,
        path: &str,
        pop: Option<&str>,
        body: &[u8],
        req: &crate::files::GrantFileRequest,
    ) -> Result<crate::files::FileContent> {
        let now = NumericDate::now();
        let ids = [req.record_id.clone()];
        let scope = Scope::Read(Some(&ids));
        let passcode = req.passcode.as_deref();
        let (grant, health_id, _, delegation, _) = match self
            .authorize(
                Presented {
                    method,
                    path,
                    pop,
                    body,
                    grant: &req.grant,
                    passcode,
                    scope,
                    defer_spending: false,
                },
                now,
            )
            .await
        {
            Ok(ok) => ok,
            Err(d) => return Err(self.refuse(d, Action::Download, now).await?),
        };
        let file = self.record_file(&req.record_id).await?;
        let index = self
            .log_access_keeping(
                AccessEvent {
                    health_id: Some(&health_id),
                    action: Action::Download,
                    refused: None,
                    grant_id: Some(&grant.id),
                    audience: audience_kid(&grant).as_deref(),
                    records: &[req.record_id.as_str()],
                    at: now,
                    delegate: delegate_kid(&delegation),
                },
                Some(&req.grant),
            )
            .await?;
        tracing::info!(log_index = index, "document file served under a grant");
        Ok(file)
    }

    /// A write under a grant with write scope, by a registered doctor holding the audience key:
    /// the proof of possession and every grant check run first (each refusal logged), then the
    /// doctor, what the record supersedes, the record itself and the use limit; then it is
    /// issued and logged like any record.
    pub async fn write_under_grant(
        &self,
        method: &str,
        path: &str,
        pop: Option<&str>,
        body: &[u8],
        req: &WriteRequest,
    ) -> Result<crate::records::IssuedRecord> {
        let now = NumericDate::now();
        // Proof of possession and every grant check first: nothing about the request (its
        // record, what it supersedes) is looked at for a caller who has not proven the key.
        let scope = Scope::Write(crate::records::request_category(req.kind, &req.resources)?);
        let (grant, health_id, _, delegation, _) = match self
            .authorize(
                Presented {
                    method,
                    path,
                    pop,
                    body,
                    grant: &req.grant,
                    passcode: None,
                    scope,
                    defer_spending: false,
                },
                now,
            )
            .await
        {
            Ok(ok) => ok,
            Err(d) => return Err(self.refuse(d, Action::Write, now).await?),
        };
        let deny = |code: PeerError| async {
            self.log_access(AccessEvent {
                health_id: Some(&health_id),
                action: Action::Write,
                refused: Some(code.code()),
                grant_id: Some(&grant.id),
                audience: audience_kid(&grant).as_deref(),
                records: &[],
                at: now,
                delegate: delegate_kid(&delegation),
            })
            .await?;
            tracing::info!(reason = code.code(), "write under a grant denied");
            Err::<crate::records::IssuedRecord, PeerError>(code)
        };
        // The doctor: the grant's audience key must belong to a registered doctor.
        let bmdc = match audience_kid(&grant) {
            Some(kid) => self.doctor_by_kid(&kid).await?,
            None => None,
        };
        let Some(bmdc) = bmdc else {
            return deny(PeerError::DoctorNotRegistered).await;
        };
        // A correction under a grant may only supersede a record the grant covers and that this
        // doctor wrote (never, say, the hospital's diagnosis).
        if let Some(old) = &req.supersedes
            && !self.may_supersede(&grant, &health_id, old, &bmdc).await?
        {
            return deny(PeerError::OutOfScope).await;
        }
        // The record itself (invalid content is refused, nothing stored or counted).
        let issue = crate::records::IssueRequest {
            health_id: health_id.clone(),
            kind: req.kind,
            doctor_bmdc: Some(bmdc.clone()),
            supersedes: req.supersedes.clone(),
            resources: req.resources.clone(),
        };
        let prepared = self.prepare_record(&issue).await?;
        // The use limit, counted only for a write that is otherwise allowed.
        if let Some(limit) = grant.use_limit
            && !self.count_use(&grant, limit).await?
        {
            return deny(PeerError::UseLimitExceeded).await;
        }
        let issued = self.commit_record(prepared).await?;
        let event_index = self
            .log_access_keeping(
                AccessEvent {
                    health_id: Some(&health_id),
                    action: Action::Write,
                    refused: None,
                    grant_id: Some(&grant.id),
                    audience: audience_kid(&grant).as_deref(),
                    records: &[issued.id.as_str()],
                    at: now,
                    delegate: delegate_kid(&delegation),
                },
                Some(&req.grant),
            )
            .await?;
        tracing::info!(
            log_index = issued.log_index,
            event_index,
            "record written under a grant"
        );
        Ok(issued)
    }

    /// A refused redemption or write: logged (the patient's receipt) only when it carries a
    /// verified grant of a patient enrolled here; otherwise counted, not logged, so nobody can
    /// fill the log with unauthenticated junk. Every refusal is charged to the client's failure
    /// budget. Returns the error to answer with.
    async fn refuse(&self, d: Denial, action: Action, now: NumericDate) -> Result<PeerError> {
        if !matches!(d.error.status().as_u16(), 401 | 403 | 404) {
            return Ok(d.error);
        }
        if d.health_id.is_none() {
            return Ok(self.count_unlogged(d.error));
        }
        self.log_access(AccessEvent {
            health_id: d.health_id.as_deref(),
            action,
            refused: Some(d.error.code()),
            grant_id: d.grant_id.as_ref(),
            audience: d.audience.as_deref(),
            records: &[],
            at: now,
            delegate: d.delegate.as_deref(),
        })
        .await?;
        tracing::info!(
            reason = d.error.code(),
            action = action.word(),
            "access denied"
        );
        Ok(PeerError::Charged(Box::new(d.error)))
    }

    /// Whether a write under `grant` by doctor `bmdc` may supersede record `old`: the patient's,
    /// covered by the grant, and written by that doctor.
    async fn may_supersede(
        &self,
        grant: &Grant,
        health_id: &str,
        old: &str,
        bmdc: &str,
    ) -> Result<bool> {
        let Some(db::records::Authored {
            category,
            doctor_bmdc: author,
        }) = db::records::authored(&self.db, old, health_id).await?
        else {
            return Ok(false);
        };
        let covered = u64::try_from(category)
            .ok()
            .and_then(spondon_core::token::Category::from_code)
            .is_some_and(|c| grant.covers(c, old));
        Ok(covered && author.as_deref() == Some(bmdc))
    }

    /// The BMDC number of the registered doctor with this key.
    async fn doctor_by_kid(&self, kid: &str) -> Result<Option<String>> {
        db::records::doctor_bmdc(&self.db, kid).await
    }

    /// The patient of a grant's key (active, or retired by a rotation: then `true`) and
    /// whether a revocation covers the grant, as `db::grants::key_status` reads them; a
    /// failed read names no patient and carries its error in place of the revocation.
    async fn grant_key_status(&self, grant: &Grant) -> (Option<String>, bool, Result<bool>) {
        key_parts(db::grants::key_status(&self.db, grant.patient_key.kid(), &grant.id).await)
    }

    /// [`Peer::grant_key_status`] and the patient's records that the signed checkpoint covers
    /// (none unless the key is active and the grant unrevoked), in one query on SQLite; `None`
    /// on PostgreSQL or when that query fails (the caller reads them the usual way, so any
    /// error is the one it would have met).
    async fn grant_key_status_with_records(
        &self,
        grant: &Grant,
    ) -> Option<((Option<String>, bool, Result<bool>), Vec<RecordRow>)> {
        let signed = to_i64(self.signed_size_now().await.ok()?).ok()?;
        let (status, rows) = db::grants::key_status_with_records(
            &self.db,
            grant.patient_key.kid(),
            &grant.id,
            signed,
        )
        .await
        .ok()??;
        Some((key_parts(Ok(status)), rows))
    }

    async fn authorize(
        &self,
        presented: Presented<'_>,
        now: NumericDate,
    ) -> std::result::Result<Authorized, Denial> {
        let Presented {
            method,
            path,
            pop,
            body,
            grant: grant_text,
            passcode,
            scope,
            defer_spending,
        } = presented;
        // 1. The grant: its own signature first; a time failure is still attributable.
        let parsed = spondon_core::token::decode_any(grant_text).map_err(grant_err)?;
        let TokenClaims::Grant(grant) = parsed.claims.clone() else {
            return Err(Denial::bare(PeerError::Grant(TokenError::KindMismatch {
                expected: "grant",
                found: parsed.kind.name(),
            })));
        };
        let delegation = parsed.delegation().cloned();
        // A key retired by a rotation still names its patient: refusing its grants is logged as
        // their receipt (a thief using the old phone's grants shows in the patient's audit).
        // The key's patient (active or retired, as `Peer::key_status`) and whether a revocation
        // covers the grant, read together in one statement; revocation is still judged in its
        // place below. On SQLite a read under a key-bound grant (not a delegate's) reads them
        // only once the grant's signature and its proof of possession are verified, in one
        // query with the records (`db::grants::key_status_with_records`: one round trip); a
        // refusal before that reads them on their own first, so it is attributed as before.
        let together = matches!(self.db, spondon_ledger::Database::Sqlite(_))
            && matches!(scope, Scope::Read(_))
            && delegation.is_none()
            && !matches!(grant.audience, spondon_core::token::Audience::Bearer);
        let status = if together {
            None
        } else {
            Some(self.grant_key_status(&grant).await)
        };
        let deny_for = |health_id: Option<String>, e: PeerError| Denial {
            error: e,
            health_id,
            grant_id: Some(grant.id),
            audience: audience_kid(&grant),
            delegate: delegate_kid(&delegation).map(str::to_owned),
        };
        if let Err(e) = parsed.verify(&spondon_core::token::TrustAnchors::default(), now) {
            return Err(match e {
                TokenError::Expired { .. }
                | TokenError::NotYetValid { .. }
                | TokenError::IssuedInFuture { .. } => {
                    let health_id = match status {
                        Some((h, _, _)) => h,
                        None => self.grant_key_status(&grant).await.0,
                    };
                    deny_for(health_id, PeerError::Grant(e))
                }
                other => Denial::bare(PeerError::Grant(other)),
            });
        }
        // 2. Proof of possession by the audience key, over this request and a fresh nonce;
        //    or, for a bearer grant, its passcode (attempts limited).
        let checked_pop = if matches!(grant.audience, spondon_core::token::Audience::Bearer) {
            if matches!(scope, Scope::Write(_)) {
                Err(PeerError::OutOfScope)
            } else {
                self.check_passcode(&grant, passcode).await.map(|()| None)
            }
        } else {
            let defer = defer_spending && grant.use_limit.is_none();
            self.check_pop(&grant, method, path, pop, body, now, defer)
                .await
        };
        let unspent = match checked_pop {
            Ok(unspent) => unspent,
            Err(e) => {
                let health_id = match status {
                    Some((h, _, _)) => h,
                    None => self.grant_key_status(&grant).await.0,
                };
                return Err(deny_for(health_id, e));
            }
        };
        // Both verified: on SQLite the key's status now, with the records.
        let ((health_id, rotated, revoked), prefetched) = match status {
            Some(status) => (status, None),
            None => match self.grant_key_status_with_records(&grant).await {
                Some((status, rows)) => (status, Some(rows)),
                None => (self.grant_key_status(&grant).await, None),
            },
        };
        let deny = |e: PeerError| deny_for(health_id.clone(), e);
        let checked = self
            .authorize_rest(
                &grant,
                &health_id,
                rotated,
                revoked,
                &delegation,
                scope,
                prefetched,
                &deny,
            )
            .await;
        match checked {
            Ok((health_id, rows)) => Ok((grant, health_id, rows, delegation, unspent)),
            Err(d) => {
                // A refusal after an unspent proof of possession spends it first, as the
                // check did before: its nonce or replay error, if any, is the answer.
                if let Some(proof) = &unspent {
                    self.spend(proof).await.map_err(&deny)?;
                }
                Err(d)
            }
        }
    }

    /// [`Peer::authorize`] after the grant's signature and its proof of possession: this peer,
    /// the patient's enrollment, revocation, delegation, scope and use limit.
    #[allow(clippy::too_many_arguments)]
    async fn authorize_rest(
        &self,
        grant: &Grant,
        health_id: &Option<String>,
        rotated: bool,
        revoked: Result<bool>,
        delegation: &Option<Delegation>,
        scope: Scope<'_>,
        prefetched: Option<Vec<RecordRow>>,
        deny: &impl Fn(PeerError) -> Denial,
    ) -> std::result::Result<(String, Vec<RecordRow>), Denial> {
        // 3. This peer, the patient's enrollment, revocation.
        if !grant.peers.is_empty() && !grant.peers.iter().any(|p| p == &self.config.url) {
            return Err(deny(PeerError::WrongPeer));
        }
        let Some(health_id) = health_id.clone() else {
            return Err(deny(PeerError::PatientNotEnrolled));
        };
        if rotated {
            return Err(deny(PeerError::KeyRotated));
        }
        if revoked.map_err(deny)? {
            return Err(deny(PeerError::Revoked));
        }
        // 3a. A delegate's grant: its delegation registered here and not revoked (§16; the
        //     chain's signatures and bounds were checked with the grant).
        if let Some(d) = &delegation {
            match self
                .registered_delegation(&d.patient_key, &d.id)
                .await
                .map_err(deny)?
            {
                Some(r) if r.delegation == *d && r.health_id == health_id => {}
                _ => return Err(deny(PeerError::DelegationNotRegistered)),
            }
            if self
                .is_id_revoked(&d.patient_key, &d.id)
                .await
                .map_err(deny)?
            {
                return Err(deny(PeerError::DelegationRevoked));
            }
        }
        // 4. Scope (a delegate's grant also within the delegation's categories).
        let rows = match scope {
            Scope::Read(record_ids) => {
                self.read_scope(
                    grant,
                    delegation.as_ref(),
                    &health_id,
                    record_ids,
                    prefetched,
                )
                .await?
            }
            Scope::Write(category) => {
                if !grant.write
                    || !grant.categories.contains(&category)
                    || delegation
                        .as_ref()
                        .is_some_and(|d| !d.covers_category(category))
                {
                    return Err(deny(PeerError::OutOfScope));
                }
                Vec::new()
            }
        };
        // 5. Use limit, counted only for an access that is otherwise allowed (a write counts
        //    once its record has been validated too).
        if let Scope::Read(_) = scope
            && let Some(limit) = grant.use_limit
            && !self.count_use(grant, limit).await.map_err(deny)?
        {
            return Err(deny(PeerError::UseLimitExceeded));
        }
        Ok((health_id, rows))
    }

    async fn read_scope(
        &self,
        grant: &Grant,
        delegation: Option<&Delegation>,
        health_id: &str,
        record_ids: Option<&[String]>,
        prefetched: Option<Vec<RecordRow>>,
    ) -> std::result::Result<Vec<RecordRow>, Denial> {
        let deny = |e: PeerError| Denial {
            error: e,
            health_id: Some(health_id.to_owned()),
            grant_id: Some(grant.id),
            audience: audience_kid(grant),
            delegate: delegation.map(|d| d.delegate_key.kid().to_owned()),
        };
        // The records read with the key's status (on SQLite), or read now.
        let rows = match prefetched {
            Some(rows) => rows,
            None => {
                let signed = self.signed_size_now().await.map_err(&deny)?;
                self.record_rows(health_id, 0, signed, None)
                    .await
                    .map_err(&deny)?
            }
        };
        let covered = |r: &RecordRow| {
            spondon_core::token::Category::from_code(u64::try_from(r.category).unwrap_or(0))
                .is_some_and(|c| {
                    grant.covers(c, &r.id) && delegation.is_none_or(|d| d.covers_category(c))
                })
        };
        Ok(match record_ids {
            Some(ids) => {
                if ids.is_empty() || ids.len() > MAX_REQUESTED_IDS {
                    return Err(deny(PeerError::field(
                        "record_ids",
                        format!("must list 1–{MAX_REQUESTED_IDS} ids"),
                    )));
                }
                let picked: Vec<RecordRow> =
                    rows.into_iter().filter(|r| ids.contains(&r.id)).collect();
                if picked.len() != ids.len() || !picked.iter().all(covered) {
                    return Err(deny(PeerError::OutOfScope));
                }
                picked
            }
            None => rows.into_iter().filter(covered).collect(),
        })
    }

    /// The proof of possession: verified, then spent (its nonce used, its id remembered), or
    /// with `defer` handed back unspent for the caller's transaction ([`SingleUse`]).
    #[allow(clippy::too_many_arguments)]
    async fn check_pop(
        &self,
        grant: &Grant,
        method: &str,
        path: &str,
        pop: Option<&str>,
        body: &[u8],
        now: NumericDate,
        defer: bool,
    ) -> Result<Option<SingleUse>> {
        let pop = pop.ok_or(PeerError::PopRequired)?;
        // Decoded (its signature verified) once, then checked against the grant and this
        // request (`PopProof::verify` without a second decode and verify).
        let decoded = PopProof::decode(pop)?;
        let nonce = decoded.nonce.clone();
        let url = format!("{}{}", self.config.url, path);
        let target = PopRequest {
            method,
            url: &url,
            nonce: &nonce,
            body,
        };
        let proof = decoded.check(grant, &target, now, MAX_SKEW)?;
        // The nonce's tag and expiry, before anything is written (`nonce_unknown`,
        // `nonce_expired`); its use comes when it is spent.
        let expires = self.judge_nonce(&proof.nonce, now).await?;
        let unspent = SingleUse {
            nonce: proof.nonce,
            expires,
            pop_id: proof.id,
            now,
        };
        if defer {
            // The purge of expired ids, as `Peer::remember_pop` runs it.
            if crate::peer::PurgeTimes::due(&self.purged.pop_ids, now.seconds()) {
                db::grants::purge_pop_ids(&self.db, now.seconds()).await?;
            }
            return Ok(Some(unspent));
        }
        self.spend(&unspent).await?;
        Ok(None)
    }

    /// Spends a proof of possession on its own: its nonce used (`nonce_reused`,
    /// `nonce_expired`, `nonce_unknown`), then its id remembered (`replayed`).
    async fn spend(&self, proof: &SingleUse) -> Result<()> {
        self.use_nonce(&proof.nonce, proof.expires, proof.now)
            .await?;
        if !self.remember_pop(&proof.pop_id, proof.now).await? {
            return Err(PeerError::Replayed);
        }
        Ok(())
    }

    /// A bearer grant's passcode against the verifier its patient registered here. The attempt
    /// is counted before the comparison in one conditional update (so concurrent guesses cannot
    /// exceed the limit) and given back when the passcode is right.
    async fn check_passcode(&self, grant: &Grant, passcode: Option<&str>) -> Result<()> {
        let passcode = passcode.ok_or(PeerError::PasscodeRequired)?;
        let kid = grant.patient_key.kid();
        let verifier = db::grants::passcode_attempt(&self.db, kid, &grant.id).await?;
        let Some(verifier) = verifier else {
            let known = db::grants::passcode_registered(&self.db, kid, &grant.id).await?;
            return Err(if known {
                PeerError::PasscodeLocked
            } else {
                PeerError::PasscodeNotRegistered
            });
        };
        let verifier: [u8; 32] = verifier
            .try_into()
            .map_err(|_| PeerError::Integrity("stored passcode verifier".into()))?;
        if !Grant::passcode_matches(&grant.id, passcode, &verifier) {
            return Err(PeerError::BadPasscode);
        }
        db::grants::passcode_attempt_refund(&self.db, kid, &grant.id).await
    }

    /// Registers the passcode verifier of one of the signing patient's bearer grants that names
    /// this peer. Once only: a second registration is refused (it could reset the count).
    pub async fn register_passcode(
        &self,
        parts: &RequestParts<'_>,
        req: &PasscodeRegistration,
    ) -> Result<PasscodeRegistered> {
        let key = self.check_signed(parts).await?;
        self.enrolled_patient(&key).await?;
        let now = NumericDate::now();
        let grant = Grant::decode_and_verify(&req.grant, now).map_err(PeerError::Grant)?;
        if grant.patient_key != key {
            return Err(PeerError::field(
                "grant",
                "must be signed by the same key as the request",
            ));
        }
        if !matches!(grant.audience, spondon_core::token::Audience::Bearer) {
            return Err(PeerError::field(
                "grant",
                "is not a bearer (passcode) grant",
            ));
        }
        if !grant.peers.iter().any(|p| p == &self.config.url) {
            return Err(PeerError::WrongPeer);
        }
        let verifier = spondon_core::b64::decode_array::<32>(&req.verifier)
            .ok_or_else(|| PeerError::field("verifier", "must be 32 bytes, base64url"))?;
        let peers = i64::try_from(grant.peers.len()).unwrap_or(i64::MAX).max(1);
        let max_failures = (MAX_PASSCODE_FAILURES / peers).max(1);
        let res = db::grants::insert_passcode(
            &self.db,
            &db::grants::NewPasscode {
                patient_kid: key.kid(),
                grant_id: &grant.id,
                verifier: &verifier,
                max_failures,
                registered_at: now.seconds(),
            },
        )
        .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(PeerError::PasscodeAlreadyRegistered);
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!("bearer grant passcode registered");
        Ok(PasscodeRegistered {
            grant_id: spondon_core::b64::encode(grant.id),
            max_failures: to_u64(max_failures)?,
        })
    }

    /// Records a PoP id; false if it was seen within the skew window. The expired ids are
    /// purged once per [`crate::patient::PURGE_EVERY`] seconds, not on every redemption (the
    /// purge scans the table); an expired id still stored is replaced, as if purged.
    async fn remember_pop(&self, id: &[u8; 16], now: NumericDate) -> Result<bool> {
        let now = now.seconds();
        if crate::peer::PurgeTimes::due(&self.purged.pop_ids, now) {
            db::grants::purge_pop_ids(&self.db, now).await?;
        }
        db::grants::remember_pop(&self.db, id, now, now + 2 * MAX_SKEW).await
    }

    /// Counts one use of a grant (per patient key and grant id, so that a grant of another key
    /// carrying the same id cannot use it up); false when the limit is reached.
    async fn count_use(&self, grant: &Grant, limit: u64) -> Result<bool> {
        let limit = to_i64(limit)?;
        db::grants::count_use(&self.db, grant.patient_key.kid(), &grant.id, limit).await
    }

    /// Appends an access event to the log and stores it as a receipt.
    async fn log_access(&self, ev: AccessEvent<'_>) -> Result<u64> {
        self.log_access_keeping(ev, None).await
    }

    /// [`Peer::log_access`], keeping the grant of an allowed access (for share proofs,
    /// `peer_access_grants`) in the same transaction as its event.
    async fn log_access_keeping(&self, ev: AccessEvent<'_>, grant: Option<&str>) -> Result<u64> {
        let pending = self.access_event(ev, grant, None)?;
        self.commit_event(pending).await
    }

    /// An access event ready for the group commit: its log entry and its row (with the grant of
    /// an allowed access kept for share proofs), and the proof of possession it spends, if any.
    fn access_event(
        &self,
        ev: AccessEvent<'_>,
        grant: Option<&str>,
        spends: Option<SingleUse>,
    ) -> Result<PendingEvent> {
        let AccessEvent {
            health_id,
            action,
            refused: reason,
            grant_id,
            audience,
            records,
            at: now,
            delegate,
        } = ev;
        let allowed = reason.is_none();
        let outcome = if allowed { "allowed" } else { "denied" };
        // The wire's access event; only a delegate's access names one (`delegate` is left out
        // otherwise), so other events keep their committed form.
        let event = spondon_protocol::AccessEvent {
            v: 1,
            peer: self.config.url.clone(),
            at: now.seconds(),
            action: Some(action.word().to_owned()),
            outcome: outcome.to_owned(),
            reason: reason.map(str::to_owned),
            grant_id: grant_id.map(spondon_protocol::b64::url::encode),
            audience: audience.map(str::to_owned),
            records: records.iter().map(|r| (*r).to_owned()).collect(),
            delegate: delegate.map(str::to_owned),
            rest: Default::default(),
        };
        // Committed as the compact JSON of the event's value: keys sorted, as receipts and
        // exports re-serialize it.
        let payload = serde_json::to_value(&event)
            .map_err(|e| PeerError::Integrity(e.to_string()))?
            .to_string();
        let opening = Opening::new(payload.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let kind = if allowed {
            EntryKind::AccessGranted
        } else {
            EntryKind::AccessDenied
        };
        Ok(PendingEvent {
            entry: LogEntry::commit(kind, now, &opening).encode(),
            row: EventRow {
                health_id: health_id.map(str::to_owned),
                outcome,
                reason: reason.map(str::to_owned),
                payload,
                salt: opening.salt,
                at: now.seconds(),
                grant: grant.map(str::to_owned),
            },
            spends,
            reply: None,
        })
    }

    /// Logs a refused access that no grant carries (an emergency request's, `emergency.rs`):
    /// its entry and its row commit together, in the access events' group commit.
    pub(crate) async fn log_denied_event(
        &self,
        health_id: &str,
        reason: Option<&str>,
        payload: String,
        opening: &Opening,
        at: NumericDate,
    ) -> Result<u64> {
        self.commit_event(PendingEvent {
            entry: LogEntry::commit(EntryKind::AccessDenied, at, opening).encode(),
            row: EventRow {
                health_id: Some(health_id.to_owned()),
                outcome: "denied",
                reason: reason.map(str::to_owned),
                payload,
                salt: opening.salt,
                at: at.seconds(),
                grant: None,
            },
            spends: None,
            reply: None,
        })
        .await
    }

    /// [`Peer::commit_event_spending`] for an event that spends no proof of possession.
    async fn commit_event(&self, ev: PendingEvent) -> Result<u64> {
        self.commit_event_spending(ev)
            .await?
            .ok_or_else(|| PeerError::Integrity("an access event was left out of its batch".into()))
    }

    /// Logs an access event with **group commit**, as issuances are (`Peer::commit_prepared`):
    /// the event joins the queue, and whoever takes the writer lock next writes every queued
    /// event in one transaction (their log entries and their `peer_access_events` rows, one
    /// commit, with the grants kept for share proofs, and the nonces and proof-of-possession
    /// ids the allowed redemptions spend), then signs one checkpoint. Each caller is answered
    /// with its log index only after that checkpoint is stored; `None` when the proof of
    /// possession it spends was found spent in the transaction (the event is left out of the
    /// batch, written again without it, and not logged).
    async fn commit_event_spending(&self, mut ev: PendingEvent) -> Result<Option<u64>> {
        let (reply, mut answer) = tokio::sync::oneshot::channel();
        ev.reply = Some(reply);
        self.pending_events
            .lock()
            .map_err(|_| PeerError::Integrity("event queue lock poisoned".into()))?
            .push(ev);
        let unanswered = || PeerError::Integrity("event left the group commit unanswered".into());
        // An earlier writer may take this event in its batch: its answer ends the wait.
        let local = match crate::group_commit::wait(self.issue_lock.lock(), &mut answer).await {
            Wait::Answered(a) => return a.map_err(|_| unanswered())?,
            Wait::Turn(local) => local,
        };
        let batch = match self.pending_events.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => Vec::new(),
        };
        if batch.is_empty() {
            // An earlier writer took this event in its batch.
            drop(local);
        } else {
            match self.write_lock_from(local).await {
                Ok(guard) => {
                    self.write_events(batch).await;
                    drop(guard);
                }
                Err(e) => answer_all(batch, e),
            }
        }
        answer.await.map_err(|_| unanswered())?
    }

    /// Appends a batch of events with their rows (one transaction) and signs a checkpoint, and
    /// answers every event of the batch. An event whose proof of possession is found spent
    /// rolls the transaction back; it is answered `None` and the rest are written again
    /// without it.
    async fn write_events(&self, mut batch: Vec<PendingEvent>) {
        loop {
            let mut replies = Vec::with_capacity(batch.len());
            let mut entries = Vec::with_capacity(batch.len());
            let mut items = Vec::with_capacity(batch.len());
            for ev in batch {
                replies.push(ev.reply);
                entries.push(ev.entry);
                items.push((ev.row, ev.spends));
            }
            let items = std::sync::Arc::new(items);
            let spent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
            let extra = event_rows(items.clone(), spent.clone());
            // The checkpoint over the batch is signed in the append's own transaction (one
            // commit), as a record batch's is.
            let res = self
                .append_signed(&entries, extra)
                .await
                .map(|appended| appended.first_index);
            let spent: Vec<usize> = spent.lock().map(|s| s.clone()).unwrap_or_default();
            // The rows' closure ran (and was dropped) in the append's task.
            let items = std::sync::Arc::try_unwrap(items).unwrap_or_else(|a| (*a).clone());
            if res.is_err() && !spent.is_empty() {
                // Rolled back: answer the spent ones, write the others again.
                batch = Vec::with_capacity(items.len());
                for (k, ((row, spends), (entry, reply))) in items
                    .into_iter()
                    .zip(entries.into_iter().zip(replies))
                    .enumerate()
                {
                    if spent.contains(&k) {
                        if let Some(r) = reply {
                            let _ = r.send(Ok(None));
                        }
                    } else {
                        batch.push(PendingEvent {
                            entry,
                            row,
                            spends,
                            reply,
                        });
                    }
                }
                if batch.is_empty() {
                    return;
                }
                continue;
            }
            let n = replies.len();
            match res {
                Ok(first) => {
                    for expires in items.iter().filter_map(|(_, s)| s.as_ref()?.expires) {
                        self.nonce_spent(expires);
                    }
                    for (k, r) in replies.into_iter().enumerate() {
                        if let Some(r) = r {
                            let _ = r.send(Ok(Some(first + k as u64)));
                        }
                    }
                    if n > 1 {
                        tracing::debug!(events = n, "access events group commit");
                    }
                }
                Err(e) => answer_replies(replies, e),
            }
            return;
        }
    }
    /// Registers a patient's revocation (signed request by the enrolled key that signed it).
    pub async fn revoke(&self, parts: &RequestParts<'_>, req: &RevokeRequest) -> Result<u64> {
        let key = self.check_signed(parts).await?;
        self.enrolled_patient(&key).await?;
        let now = NumericDate::now();
        let r = Revocation::decode_and_verify(&req.revocation, now).map_err(PeerError::Grant)?;
        if r.patient_key != key {
            return Err(PeerError::field(
                "revocation",
                "must be signed by the same key as the request",
            ));
        }
        let (grant_id, before) = match r.target {
            RevocationTarget::Grant { grant_id } => (Some(grant_id.to_vec()), None),
            RevocationTarget::IssuedBefore { before } => (None, Some(before.seconds())),
        };
        let opening = Opening::new(req.revocation.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let _guard = self.write_lock().await?;
        // Revocation ids are scoped per patient key: another patient's revocation with the same
        // id neither blocks this one nor confirms it.
        let existing = db::grants::revocation_token(&self.db, key.kid(), &r.id).await?;
        match existing {
            // This very revocation is registered: the answer confirms it.
            Some(t) if t == req.revocation => return Err(PeerError::DuplicateRevocation),
            Some(_) => return Err(PeerError::RevocationIdConflict),
            None => {}
        }
        // The entry and the revocation's row commit together (one transaction).
        let (id, kid, token) = (r.id, key.kid().to_owned(), req.revocation.clone());
        let registered_at = now.seconds();
        let rows: spondon_ledger::ExtraRows = Box::new(move |mut tx, first| {
            Box::pin(async move {
                let log_index =
                    i64::try_from(first).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                db::grants::insert_revocation(
                    &mut tx,
                    &db::grants::NewRevocation {
                        id: &id,
                        patient_kid: &kid,
                        grant_id,
                        before_ts: before,
                        token: &token,
                        registered_at,
                        log_index,
                    },
                )
                .await
            })
        });
        // The checkpoint is signed in the same transaction (one commit).
        let appended = self
            .append_signed(
                &[LogEntry::commit(EntryKind::RevocationRegistered, now, &opening).encode()],
                rows,
            )
            .await?;
        tracing::info!(log_index = appended.first_index, "revocation registered");
        Ok(appended.first_index)
    }

    /// The signing patient's access receipts after `since`.
    pub async fn receipts(
        &self,
        parts: &RequestParts<'_>,
        req: &ReceiptsRequest,
    ) -> Result<Receipts> {
        let key = self.check_signed(parts).await?;
        let health_id = self.enrolled_patient(&key).await?;
        self.receipts_of(&health_id, req).await
    }

    /// A delegate's pull of the patient's records: one allowed access event naming the
    /// delegate, under the delegation's id.
    pub(crate) async fn log_delegate_view(
        &self,
        health_id: &str,
        d: &Delegation,
        records: &[&str],
        now: NumericDate,
    ) -> Result<u64> {
        self.log_access(AccessEvent {
            health_id: Some(health_id),
            action: Action::View,
            refused: None,
            grant_id: Some(&d.id),
            audience: Some(d.delegate_key.kid()),
            records,
            at: now,
            delegate: Some(d.delegate_key.kid()),
        })
        .await
    }

    /// The access receipts of the patient `health_id` after `since`.
    pub(crate) async fn receipts_of(
        &self,
        health_id: &str,
        req: &ReceiptsRequest,
    ) -> Result<Receipts> {
        let since = crate::peer::cursor(req.since, "since")?;
        let (size, checkpoint) = self.current_checkpoint().await?;
        crate::patient::check_known_size(req.known_size, size)?;
        let rows =
            db::access_events::events_of(&self.db, health_id, since, to_i64(size)?, 500).await?;
        // The page's proofs built together and its entries read in one query, as a pull's.
        let logged = self.logged(rows, |r| r.log_index, size).await?;
        let mut cursor = req.since;
        let mut receipts = Vec::with_capacity(logged.len());
        for crate::patient::Logged {
            row:
                db::access_events::StoredEvent {
                    seq, payload, salt, ..
                },
            log_index,
            entry,
            inclusion_proof,
        } in logged
        {
            cursor = to_u64(seq)?;
            receipts.push(Receipt {
                seq: cursor,
                event: serde_json::from_str(&payload)
                    .map_err(|_| PeerError::Integrity("stored access event is not JSON".into()))?,
                log_index,
                entry,
                salt: spondon_protocol::b64::url::encode(salt),
                inclusion_proof,
            });
        }
        let consistency = self.consistency_b64(req.known_size, size).await?;
        Ok(Receipts {
            receipts,
            cursor,
            checkpoint,
            tree_size: size,
            consistency_proof: consistency,
        })
    }
}

fn audience_kid(g: &Grant) -> Option<String> {
    match &g.audience {
        spondon_core::token::Audience::Key { kid } => Some(kid.clone()),
        spondon_core::token::Audience::Bearer => None,
    }
}

/// [`Peer::grant_key_status`]'s reading of a key's status.
fn key_parts(status: Result<db::grants::GrantKeyStatus>) -> (Option<String>, bool, Result<bool>) {
    match status {
        Ok(db::grants::GrantKeyStatus {
            active: Some(h),
            revoked,
            ..
        }) => (Some(h), false, Ok(revoked)),
        Ok(db::grants::GrantKeyStatus {
            rotated: Some(h),
            revoked,
            ..
        }) => (Some(h), true, Ok(revoked)),
        Ok(s) => (None, false, Ok(s.revoked)),
        Err(e) => (None, false, Err(e)),
    }
}

fn grant_err(e: TokenError) -> Denial {
    Denial::bare(PeerError::Grant(e))
}

/// The rows of a batch of access events, written in its append's transaction: for each event
/// the proof of possession it spends (its nonce used, then its id remembered: the same
/// conditional statements as `Peer::spend`), then every row (multi-row inserts). The
/// positions of the events whose proof is found spent go to `spent`, and the transaction is
/// then rolled back (an error).
fn event_rows(
    items: std::sync::Arc<Vec<(EventRow, Option<SingleUse>)>>,
    spent: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
) -> spondon_ledger::ExtraRows {
    Box::new(move |mut tx, first| {
        Box::pin(async move {
            let events = items
                .iter()
                .enumerate()
                .map(|(k, (r, _))| {
                    Ok(db::access_events::NewEvent {
                        health_id: r.health_id.as_deref(),
                        outcome: r.outcome,
                        reason: r.reason.as_deref(),
                        payload: &r.payload,
                        salt: &r.salt,
                        log_index: i64::try_from(first + k as u64)
                            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?,
                        at: r.at,
                        grant: r.grant.as_deref(),
                    })
                })
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
            // On SQLite the spends (each of the current nonce form) and the rows go in one
            // query: one round trip to the connection's thread for the whole batch.
            let one_query = items
                .iter()
                .map(|(_, s)| match s {
                    None => Some(None),
                    Some(p) => p.expires.map(|expires| {
                        Some(db::access_events::Spend {
                            nonce: &p.nonce,
                            nonce_expires: expires,
                            now: p.now.seconds(),
                            pop_id: &p.pop_id,
                            pop_expires: p.now.seconds() + 2 * MAX_SKEW,
                        })
                    }),
                })
                .collect::<Option<Vec<_>>>();
            let refused = match one_query {
                Some(spends) => {
                    db::access_events::spend_and_insert(&mut tx, &spends, &events).await?
                }
                None => None,
            };
            if let Some(refused) = refused {
                if !refused.is_empty() {
                    if let Ok(mut s) = spent.lock() {
                        *s = refused;
                    }
                    return Err(sqlx::Error::Protocol(
                        "a proof of possession in the batch was already spent".into(),
                    ));
                }
                return Ok(());
            }
            let mut refused = Vec::new();
            for (k, (_, spends)) in items.iter().enumerate() {
                if let Some(p) = spends {
                    let now = p.now.seconds();
                    let fresh = match p.expires {
                        Some(expires) => {
                            db::nonces::spend_in(&mut tx, &p.nonce, expires, now).await?
                        }
                        None => db::nonces::consume_in(&mut tx, &p.nonce, now).await?,
                    };
                    if !fresh
                        || !db::grants::remember_pop_in(&mut tx, &p.pop_id, now, now + 2 * MAX_SKEW)
                            .await?
                    {
                        refused.push(k);
                    }
                }
            }
            if !refused.is_empty() {
                if let Ok(mut s) = spent.lock() {
                    *s = refused;
                }
                return Err(sqlx::Error::Protocol(
                    "a proof of possession in the batch was already spent".into(),
                ));
            }
            db::access_events::insert_all(&mut tx, &events).await?;
            Ok(())
        })
    })
}

/// Answers every event of a batch with the error its group commit failed with (the first
/// with the error itself, the others with a copy of its message).
fn answer_all(batch: Vec<PendingEvent>, e: PeerError) {
    answer_replies(batch.into_iter().map(|ev| ev.reply).collect(), e);
}

fn answer_replies(replies: Vec<Option<EventReply>>, e: PeerError) {
    let mut replies = replies.into_iter().flatten();
    let copy = format!("group commit failed: {e}");
    if let Some(first) = replies.next() {
        let _ = first.send(Err(e));
    }
    for r in replies {
        let _ = r.send(Err(PeerError::Db(sqlx::Error::Protocol(copy.clone()))));
    }
}
