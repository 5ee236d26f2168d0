//! Offline verification of an export: every card's signature against trusted issuers, every log
//! proof against the issuing hospital's log key, every share receipt, and whether the unsigned
//! patient summary says only what the signed cards say.
//!
//! The report names, per card, the issuer, the issue date, whether it is unaltered, its log
//! inclusion and when it was shared. It holds nothing of the health content.

use serde::Serialize;
use serde_json::{Number, Value};
use spondon_core::NumericDate;
use spondon_core::shc::{self, Directory, ParsedCard, VerifyOptions};
use spondon_core::token::TrustList;
use spondon_ledger::note::{Note, Verifier};
use spondon_ledger::{
    Expected, Logged, LoggedError, ProofBundle, VerifiedBundle, WitnessPolicy, check_logged,
};
use spondon_protocol::AccessEvent;

use crate::{Export, ExportError};

/// One hospital's transparency log, trusted for the cards of one issuer.
#[derive(Debug, Clone)]
pub struct LogAnchor {
    /// The card issuer (`iss`, the hospital's peer URL) whose records this log holds.
    pub issuer: String,
    /// The log's checkpoint origin.
    pub origin: String,
    /// The log's checkpoint key.
    pub key: Verifier,
    /// The trust list's witnessing policy for this log; `None`: the anchors' global
    /// `witnesses` and `min_cosignatures` apply.
    pub policy: Option<WitnessPolicy>,
}

/// What an export is checked against.
#[derive(Debug, Clone, Default)]
pub struct Anchors {
    /// Trusted card issuers and their keys (a VCI directory and/or the trust list's hospitals).
    pub directory: Directory,
    /// Trusted logs, by issuer.
    pub logs: Vec<LogAnchor>,
    /// Witnesses whose cosignatures are counted.
    pub witnesses: Vec<Verifier>,
    /// Cosignatures from `witnesses` each checkpoint needs (0: counted, not required).
    pub min_cosignatures: usize,
}

impl Anchors {
    /// Anchors from a (verified) consortium trust list: each hospital's record keys for its
    /// cards, and its log key and origin for its proofs.
    pub fn from_trust_list(list: &TrustList) -> Result<Anchors, ExportError> {
        let mut anchors = Anchors::default();
        anchors.add_trust_list(list)?;
        Ok(anchors)
    }

    /// Adds a (verified) trust list's hospitals: record keys to the directory, logs to `logs`.
    pub fn add_trust_list(&mut self, list: &TrustList) -> Result<(), ExportError> {
        for hospital in &list.hospitals {
            let bad = |e: String| ExportError::Anchors(format!("hospital {:?}: {e}", hospital.id));
            self.directory
                .add_issuer(&hospital.peer_url, Some(&hospital.name))
                .map_err(|e| bad(e.to_string()))?;
            for key in &hospital.record_keys {
                self.directory
                    .add_key(&hospital.peer_url, key.to_jwk())
                    .map_err(|e| bad(e.to_string()))?;
            }
            self.add_trust_list_log(list, hospital)?;
        }
        Ok(())
    }

    /// Trusts `hospital`'s log with the trust list's witnessing policy for it (when the list
    /// names witnesses): a checkpoint short of the quorum is reported (`log_not_witnessed`), a
    /// bad cosignature refused.
    pub fn add_trust_list_log(
        &mut self,
        list: &TrustList,
        hospital: &spondon_core::token::Hospital,
    ) -> Result<(), ExportError> {
        let policy = WitnessPolicy::for_hospital(list, hospital)
            .map_err(|e| ExportError::Anchors(format!("witnesses of {:?}: {e}", hospital.id)))?;
        self.add_log(&hospital.peer_url, &hospital.log_origin, hospital.log_key)?;
        // A list that names no witnesses leaves the anchors' own witnesses and minimum in force.
        if !list.witnessing.is_empty()
            && let Some(last) = self.logs.last_mut()
        {
            last.policy = Some(policy);
        }
        Ok(())
    }

    /// Trusts the log `origin` with Ed25519 key `key` for the cards of `issuer`.
    pub fn add_log(
        &mut self,
        issuer: &str,
        origin: &str,
        key: spondon_core::keys::Ed25519PublicKey,
    ) -> Result<(), ExportError> {
        let key = Verifier::ed25519(origin, key)
            .map_err(|e| ExportError::Anchors(format!("log {origin:?}: {e}")))?;
        self.logs.push(LogAnchor {
            issuer: issuer.to_owned(),
            origin: origin.to_owned(),
            key,
            policy: None,
        });
        Ok(())
    }

    fn logs_of<'a>(&'a self, issuer: &'a str) -> impl Iterator<Item = &'a LogAnchor> + 'a {
        self.logs.iter().filter(move |l| l.issuer == issuer)
    }
}

/// A finding, with a stable snake_case code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable snake_case code.
    pub code: String,
    /// What the code means here, for people.
    pub message: String,
}

fn problem(code: &str, message: impl Into<String>) -> Problem {
    Problem {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Where a card's issuance is logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogInclusion {
    /// The log's origin.
    pub log: String,
    /// The entry's index.
    pub index: u64,
    /// When the hospital logged the issuance (seconds since the epoch).
    pub logged_at: i64,
    /// Size of the checkpoint the inclusion is proven in.
    pub checkpoint_size: u64,
    /// Cosignatures on that checkpoint from trusted witnesses.
    pub witness_cosignatures: usize,
    /// Cosignatures the trust list requires of this log's checkpoints (0: none).
    pub witness_quorum: usize,
    /// Other signature lines on the checkpoint (unknown witnesses; not verified).
    pub other_signatures: usize,
}

/// The verdict on one card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardReport {
    /// Signature valid by a trusted issuer, in its validity period, and (if a proof came with it)
    /// the proof verifies.
    pub valid: bool,
    /// The card's `iss`, when it could be read.
    pub issuer: Option<String>,
    /// The issuer's name from the trusted issuers, when it is one.
    pub issuer_name: Option<String>,
    /// The issue date the hospital signed (`nbf`).
    pub issued: Option<Number>,
    /// `exp`, seconds since the Unix epoch, if the card has one.
    pub expires: Option<Number>,
    /// The signature verifies with a key of the trusted issuer: the card is as the hospital
    /// signed it.
    pub unaltered: bool,
    /// The verified log inclusion; `None` when the card came without a proof or it failed.
    pub log: Option<LogInclusion>,
    /// When the card was shared (`at` of verified share receipts naming it), oldest first.
    pub shared: Vec<i64>,
    /// Why the card is not valid.
    pub errors: Vec<Problem>,
    /// What is unusual but does not make the card invalid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
}

/// How the unsigned patient summary relates to the signed cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryCheck {
    /// Always false: the wallet assembled it.
    pub signed: bool,
    /// Clinical entries in the summary (all but the Composition and the Patient).
    pub entries: usize,
    /// Entries found, field for field, in a card of this export whose signature verifies with a
    /// trusted key.
    pub traced: usize,
}

/// The verdict on a whole export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    /// Every card valid, every proof and receipt verifies, the summary traces to the cards.
    pub valid: bool,
    /// When the wallet made the export (0 when unknown: a plain `.smart-health-card` file).
    pub created: i64,
    /// One report per card, in the export's order.
    pub cards: Vec<CardReport>,
    /// The check of the patient summary, if the export has one.
    pub summary: Option<SummaryCheck>,
    /// Problems that belong to no single card (receipts, summary).
    pub errors: Vec<Problem>,
}

/// Verifies everything in `export` against `anchors` at `now`, offline.
pub fn verify_export(export: &Export, anchors: &Anchors, now: NumericDate) -> ExportReport {
    let options = VerifyOptions::at(now);
    let mut cards: Vec<CardReport> = export
        .records
        .iter()
        .map(|record| {
            let verdict = shc::check_jws(&record.jws, &anchors.directory, &options);
            let mut report = CardReport {
                valid: verdict.valid,
                issuer: verdict.issuer.clone(),
                issuer_name: verdict.issuer_name.clone(),
                issued: verdict.not_before.clone(),
                expires: verdict.expires.clone(),
                unaltered: false,
                log: None,
                shared: Vec::new(),
                errors: verdict
                    .errors
                    .iter()
                    .map(|e| problem(e.code, e.message.clone()))
                    .collect(),
                warnings: verdict
                    .warnings
                    .iter()
                    .map(|w| problem(w.code, w.message.clone()))
                    .collect(),
            };
            // Unaltered = the signature verified with a trusted key (later checks may still fail).
            report.unaltered = verdict.valid
                || (verdict.issuer.is_some()
                    && verdict.errors.iter().all(|e| after_signature(e.code)));
            match (&record.proof, &verdict.issuer) {
                (None, _) => report.warnings.push(problem(
                    "no_log_proof",
                    "the card came without a log proof; its issuance is not shown to be logged",
                )),
                (Some(_), None) => {}
                (Some(proof), Some(iss)) => {
                    match check_proof(
                        &proof.bundle,
                        Expected::RECORD,
                        &proof.salt,
                        record.jws.as_bytes(),
                        iss,
                        anchors,
                    ) {
                        Ok(inclusion) => {
                            if inclusion.witness_cosignatures < inclusion.witness_quorum {
                                report.warnings.push(problem(
                                    "log_not_witnessed",
                                    format!(
                                        "the log checkpoint carries {} of the {} witness cosignatures the trust list requires: so far only the hospital vouches that this entry is in the log everyone sees",
                                        inclusion.witness_cosignatures, inclusion.witness_quorum
                                    ),
                                ));
                            }
                            report.log = Some(inclusion);
                        }
                        Err(p) => {
                            report.valid = false;
                            report.errors.push(p);
                        }
                    }
                }
            }
            report
        })
        .collect();
    let mut errors = Vec::new();
    let rids: Vec<Option<String>> = export
        .records
        .iter()
        .map(|r| {
            ParsedCard::parse(&r.jws)
                .ok()
                .and_then(|c| c.rid().map(str::to_owned))
        })
        .collect();
    for (i, receipt) in export.receipts.iter().enumerate() {
        match check_receipt(receipt, anchors) {
            Ok((peer, at, records)) => {
                for (card, rid) in cards.iter_mut().zip(&rids) {
                    if card.issuer.as_deref() == Some(peer.as_str())
                        && rid.as_ref().is_some_and(|r| records.contains(r))
                    {
                        card.shared.push(at);
                    }
                }
            }
            Err(p) => errors.push(Problem {
                code: p.code,
                message: format!("receipt {}: {}", i + 1, p.message),
            }),
        }
    }
    for card in &mut cards {
        card.shared.sort_unstable();
        card.shared.dedup();
    }
    let summary = export.patient_summary.as_ref().map(|s| {
        let valid_cards: Vec<&str> = export
            .records
            .iter()
            .zip(&cards)
            .filter(|(_, c)| c.unaltered)
            .map(|(r, _)| r.jws.as_str())
            .collect();
        let check = check_summary(s, &valid_cards);
        if check.traced < check.entries {
            errors.push(problem(
                "summary_untraced",
                format!(
                    "{} of the {} entries of the patient summary are not in any card of this export signed by a trusted issuer",
                    check.entries - check.traced,
                    check.entries
                ),
            ));
        }
        check
    });
    let valid = !cards.is_empty() && cards.iter().all(|c| c.valid) && errors.is_empty();
    ExportReport {
        valid,
        created: export.created.seconds(),
        cards,
        summary,
        errors,
    }
}

/// Whether an error code comes from a check made after the signature verified (so the card is
/// still as its issuer signed it): certificate chain, validity period, revocation, content rules.
fn after_signature(code: &str) -> bool {
    ["x5c_", "crl_", "fhir_"]
        .iter()
        .any(|p| code.starts_with(p))
        || matches!(
            code,
            "not_yet_valid"
                | "nbf_in_milliseconds"
                | "expired"
                | "revoked"
                | "missing_health_card_type"
        )
}

fn check_proof(
    bundle: &ProofBundle,
    expected: Expected,
    salt: &[u8; 32],
    payload: &[u8],
    issuer: &str,
    anchors: &Anchors,
) -> Result<LogInclusion, Problem> {
    let mut last = None;
    let mut verified: Option<(&LogAnchor, VerifiedBundle)> = None;
    for log in anchors.logs_of(issuer) {
        // Under a trust-list policy a short count is reported, not fatal; a global minimum is.
        let (witnesses, min) = match &log.policy {
            Some(p) => (p.witnesses(), 0),
            None => (&anchors.witnesses[..], anchors.min_cosignatures),
        };
        match bundle.verify(&log.origin, std::slice::from_ref(&log.key), witnesses, min) {
            Ok(v) => {
                verified = Some((log, v));
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some((log, v)) = verified else {
        return Err(match last {
            None => problem(
                "log_not_trusted",
                format!("no trusted log is known for the issuer {issuer}"),
            ),
            Some(e) => problem("log_proof_invalid", format!("log proof: {e}")),
        });
    };
    // The one check that it is committed and included (the bundle's own verification above
    // checked the checkpoint's signatures and the inclusion already).
    let logged = Logged {
        entry: bundle.extra.clone().unwrap_or_default(),
        salt: *salt,
        log_index: v.index,
        inclusion_proof: bundle.proof.clone(),
    };
    match check_logged(&logged, expected, payload, &v.checkpoint) {
        Ok(_) => {}
        Err(LoggedError::Kind { got, .. }) => {
            return Err(problem(
                "log_entry_kind",
                format!("the logged entry is a {got:?} entry, not {}", expected.name),
            ));
        }
        Err(LoggedError::Commitment { .. }) => {
            return Err(problem(
                "log_commitment_mismatch",
                "the logged commitment does not open to this content with this salt: it was altered, or the proof is another record's",
            ));
        }
        Err(e) => return Err(problem("log_proof_invalid", format!("log proof: {e}"))),
    }
    let other_signatures = Note::parse(bundle.checkpoint.as_bytes())
        .map(|n| {
            n.signatures
                .iter()
                .filter(|s| s.key_id != log.key.key_id() || s.name != log.key.name())
                .count()
        })
        .unwrap_or(0)
        .saturating_sub(v.cosignatures);
    Ok(LogInclusion {
        log: log.origin.clone(),
        index: v.index,
        logged_at: v.entry.time.seconds(),
        checkpoint_size: v.checkpoint.size,
        witness_cosignatures: v.cosignatures,
        witness_quorum: log.policy.as_ref().map(WitnessPolicy::quorum).unwrap_or(0),
        other_signatures,
    })
}

/// A verified share: (peer, at, record ids).
fn check_receipt(
    receipt: &crate::ShareReceipt,
    anchors: &Anchors,
) -> Result<(String, i64, Vec<String>), Problem> {
    let event: Value = serde_json::from_str(&receipt.event)
        .map_err(|e| problem("receipt_malformed", format!("event is not JSON: {e}")))?;
    let event = AccessEvent::from_value(&event)
        .map_err(|e| problem("receipt_malformed", format!("event: {e}")))?;
    if !event.allowed() {
        return Err(problem(
            "receipt_not_a_share",
            "the event is not an allowed access",
        ));
    }
    let (peer, at) = (event.peer.as_str(), event.at);
    let inclusion = check_proof(
        &receipt.bundle,
        Expected::ACCESS_GRANTED,
        &receipt.salt,
        receipt.event.as_bytes(),
        peer,
        anchors,
    )?;
    if inclusion.logged_at != at {
        return Err(problem(
            "receipt_time_mismatch",
            "the event's time differs from the time it was logged",
        ));
    }
    Ok((event.peer, at, event.records))
}

/// A resource stripped of what the summary rewrites: `meta` and references.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "meta" && k.as_str() != "reference")
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn check_summary(summary: &Value, valid_cards: &[&str]) -> SummaryCheck {
    let mut known = Vec::new();
    for jws in valid_cards {
        if let Ok(card) = ParsedCard::parse(jws) {
            for r in shc::fhir::resources(card.fhir_bundle()) {
                known.push(normalize(r));
            }
        }
    }
    let mut entries = 0;
    let mut traced = 0;
    for entry in summary
        .get("entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let Some(r) = entry.get("resource") else {
            entries += 1;
            continue;
        };
        if matches!(
            r.get("resourceType").and_then(Value::as_str),
            Some("Composition" | "Patient")
        ) {
            continue;
        }
        entries += 1;
        if known.contains(&normalize(r)) {
            traced += 1;
        }
    }
    SummaryCheck {
        signed: false,
        entries,
        traced,
    }
}
