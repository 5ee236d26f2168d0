//! Proof of sharing for investigators (`docs/protocol.md` §14): a signed bundle about one
//! access under a grant — the access event a hospital logged, with its opening and log proof,
//! the grant the patient signed, the doctor's credential, and each accessed record's log entry
//! (a salted commitment) — that anyone verifies offline against the consortium trust list, and
//! that holds no record content.
//!
//! The file is a compact JWS (ES256, `typ` [`JWS_TYP`]) whose payload is the JSON
//! [`ShareProof`]. It is signed by whoever made it: the patient (the grant's key), the hospital
//! that logged the access (one of its record keys) or the doctor (the credential's key). What
//! the log, the grant and the credential prove is checked; what only the maker can say — which
//! record id a commitment belongs to, and its kind — is reported as the maker's signed
//! statement, and is proven by whoever holds the document ([`VerifiedShare::document`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256KeyPair, Es256PublicKey};
use spondon_core::token::{
    self, Audience, Category, Hospital, Investigator, TokenClaims, TrustAnchors, TrustList,
};

use crate::bundle::{BundleError, ProofBundle};
use crate::entry::{EntryKind, LogEntry, Opening};
use crate::merkle::Hash;
use crate::note::Verifier;
use crate::policy::WitnessPolicy;

/// `typ` of the JWS header.
pub const JWS_TYP: &str = "spondon-share-proof+jws";
/// `format` of the payload.
pub const FORMAT: &str = "spondon-share-proof/v1";
/// Largest share-proof file read or written.
pub const MAX_SHARE_PROOF_BYTES: usize = 256 * 1024;
/// Most records one access names (a peer serves at most 64 per redemption).
pub const MAX_RECORDS: usize = 64;
/// Largest access event text.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

/// The record kinds a peer issues (the `spondon` vocabulary) and the grant category of each.
pub const RECORD_KINDS: [(&str, Category); 7] = [
    ("prescription", Category::Prescription),
    ("lab_report", Category::LabResult),
    ("diagnosis", Category::Diagnosis),
    ("immunization", Category::Immunization),
    ("encounter", Category::Encounter),
    ("payment", Category::Payment),
    ("note", Category::Note),
];

/// Why a share proof was refused. Each has a stable [`code`](ShareProofError::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareProofError {
    /// The share proof is larger than accepted; nothing was parsed.
    #[error("the share proof is larger than {MAX_SHARE_PROOF_BYTES} bytes")]
    TooLarge,
    /// Not a share proof: not a compact JWS of the expected JSON.
    #[error("not a share proof: {0}")]
    Malformed(String),
    /// The `format` is not one this verifier reads.
    #[error("unsupported share proof format {0:?} (this verifier reads {FORMAT})")]
    UnsupportedFormat(String),
    /// The hospital peer named is not in the trust list.
    #[error("the hospital {0:?} is not in the trust list")]
    UnknownHospital(String),
    /// The investigator named is not in the trust list.
    #[error("the investigator {0:?} is not named in the trust list")]
    UnknownInvestigator(String),
    /// The grant does not parse or its patient signature does not verify.
    #[error("the grant: {0}")]
    GrantInvalid(String),
    /// The doctor credential does not parse or verify against the trust list.
    #[error("the doctor's credential: {0}")]
    DoctorCredentialInvalid(String),
    /// The share proof is signed by a key that is neither the patient's, the hospital's nor the doctor's.
    #[error(
        "signed by a key that is neither the patient's (the grant's), the hospital's nor the doctor's (kid {0})"
    )]
    UnknownSigner(String),
    /// The share proof's signature does not verify: it was altered after it was made.
    #[error("the signature of the share proof does not verify: it was altered after it was made")]
    BadSignature,
    /// The access's log proof does not verify against the hospital's log key.
    #[error("the access is not proven in the hospital's log: {0}")]
    AccessNotLogged(String),
    /// The access's checkpoint has fewer witness cosignatures than the trust list's quorum.
    #[error(
        "the access's log checkpoint carries {got} of the {quorum} witness cosignatures the trust list requires"
    )]
    NotWitnessed {
        /// Valid cosignatures from listed witnesses.
        got: usize,
        /// The quorum.
        quorum: usize,
    },
    /// The logged entry is of another kind than an allowed access (the kind found).
    #[error("the access log entry is a {0}, not an allowed access")]
    NotAnAccess(&'static str),
    /// The access event does not open the logged commitment.
    #[error("the access event does not open the logged commitment: {0}")]
    EventMismatch(String),
    /// The access event is malformed.
    #[error("the access event: {0}")]
    EventInvalid(String),
    /// The grant is not the one the logged access names.
    #[error("the grant does not match the logged access: {0}")]
    GrantMismatch(String),
    /// The doctor is not the one the logged access names.
    #[error("the doctor does not match the logged access: {0}")]
    DoctorMismatch(String),
    /// The records are not the ones the logged access names.
    #[error("the records do not match the logged access: {0}")]
    RecordsMismatch(String),
    /// A record's issuance is not proven in the hospital's log.
    #[error("record {id}: {reason}")]
    RecordNotLogged {
        /// The record id.
        id: String,
        /// Why its proof fails.
        reason: String,
    },
    /// A record's kind is not covered by the grant.
    #[error("record {id} (a {kind}) is not covered by the grant")]
    RecordNotCovered {
        /// The record id.
        id: String,
        /// Its kind as stated.
        kind: String,
    },
    /// Signing the share proof failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl ShareProofError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::UnknownHospital(_) => "unknown_hospital",
            Self::UnknownInvestigator(_) => "unknown_investigator",
            Self::GrantInvalid(_) => "grant_invalid",
            Self::DoctorCredentialInvalid(_) => "doctor_credential_invalid",
            Self::UnknownSigner(_) => "unknown_signer",
            Self::BadSignature => "bad_signature",
            Self::AccessNotLogged(_) => "access_not_logged",
            Self::NotWitnessed { .. } => "not_witnessed",
            Self::NotAnAccess(_) => "not_an_access",
            Self::EventMismatch(_) => "event_mismatch",
            Self::EventInvalid(_) => "event_invalid",
            Self::GrantMismatch(_) => "grant_mismatch",
            Self::DoctorMismatch(_) => "doctor_mismatch",
            Self::RecordsMismatch(_) => "records_mismatch",
            Self::RecordNotLogged { .. } => "record_not_logged",
            Self::RecordNotCovered { .. } => "record_not_covered",
            Self::Signing(_) => "signing_failed",
        }
    }
}

fn malformed(m: impl Into<String>) -> ShareProofError {
    ShareProofError::Malformed(m.into())
}

/// The logged access: the committed event text, its salt and its log proof.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPart {
    /// The event JSON text, byte for byte as the hospital committed it.
    pub event: String,
    /// The commitment's salt (base64url, 32 bytes).
    pub salt: String,
    /// `c2sp.org/tlog-proof@v1` bundle of the `AccessGranted` entry.
    pub proof: String,
}

impl fmt::Debug for AccessPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessPart")
            .field("event_len", &self.event.len())
            .finish_non_exhaustive()
    }
}

/// One accessed record: its id and kind as the maker states them, and its `RecordIssued` log
/// entry (a salted commitment to the card) with its proof. Never the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordPart {
    /// The record id the hospital gave it.
    pub id: String,
    /// `prescription`, `lab_report`, `diagnosis`, `immunization`, `encounter`, `payment`, `note`.
    pub kind: String,
    /// `c2sp.org/tlog-proof@v1` bundle of the `RecordIssued` entry.
    pub proof: String,
}

/// The payload of a share proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareProof {
    /// [`FORMAT`].
    pub format: String,
    /// When it was made (POSIX seconds).
    pub created: i64,
    /// The investigator it is for (an id of the trust list), if the maker named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigator: Option<String>,
    /// The hospital peer that logged the access (its trust-list peer URL).
    pub peer: String,
    /// The logged access: its event and the log proof of its entry.
    pub access: AccessPart,
    /// The grant (`SPONDON:1:…`) as the patient signed it.
    pub grant: String,
    /// The doctor credential (`SPONDON:1:…`) of the grant's audience; absent for a bearer grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor: Option<String>,
    /// The records accessed, each with its issuance proof.
    pub records: Vec<RecordPart>,
}

/// Who made (signed) a share proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Maker {
    /// The patient, with the key that signed the grant.
    Patient,
    /// The hospital that logged the access, with one of its record keys.
    Hospital,
    /// The doctor, with the key of the credential.
    Doctor,
}

impl Maker {
    /// The maker in words, for reports (`the patient`, `the hospital`, `the doctor`).
    pub fn word(self) -> &'static str {
        match self {
            Maker::Patient => "the patient",
            Maker::Hospital => "the hospital",
            Maker::Doctor => "the doctor",
        }
    }
}

/// The doctor who accessed, from a credential a member hospital signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedDoctor {
    /// The doctor's name, from the credential.
    pub name: String,
    /// The doctor's BMDC registration number.
    pub bmdc_number: String,
    /// The doctor's department.
    pub department: String,
    /// The hospital that registered the doctor (trust-list id) and its name.
    pub registered_by: String,
    /// The registering hospital's name, from the trust list.
    pub registered_by_name: String,
    /// The doctor's key thumbprint (the grant's audience).
    pub kid: String,
}

/// The grant, as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedGrant {
    /// base64url of the 16-byte id.
    pub id: String,
    /// Thumbprint of the patient key that signed it.
    pub patient_kid: String,
    /// Why the records were shared (`treatment`, `visa_medical`, …).
    pub purpose: String,
    /// The record categories covered.
    pub categories: Vec<String>,
    /// Explicit record ids covered.
    pub record_ids: Vec<String>,
    /// Whether the audience could add records.
    pub write: bool,
    /// When the patient signed it (POSIX seconds).
    pub issued_at: i64,
    /// Valid from (POSIX seconds).
    pub not_before: i64,
    /// Valid until (POSIX seconds).
    pub expires: i64,
}

/// One accessed record, as proven and stated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedRecord {
    /// Record id and kind: the maker's signed statement (the card, which only its holder has,
    /// proves them; see [`VerifiedShare::document`]).
    pub id: String,
    /// `prescription`, `lab_report`, … as the maker states it.
    pub kind: String,
    /// The record's commitment (hex): what the hospital logged when it issued the record.
    pub commitment: String,
    /// The index of the record's `RecordIssued` entry in the hospital's log.
    pub log_index: u64,
    /// When the hospital logged the record's issuance.
    pub issued_at: i64,
}

/// What a verified share proof shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedShare {
    /// Who signed the share proof.
    pub maker: Maker,
    /// Thumbprint of the key that signed the share proof.
    pub maker_kid: String,
    /// When it was made (POSIX seconds), as the maker states it.
    pub created: i64,
    /// The investigator named (id and name, from the trust list), if any.
    pub investigator: Option<Investigator>,
    /// The hospital's id in the trust list.
    pub hospital_id: String,
    /// The hospital's name in the trust list.
    pub hospital_name: String,
    /// The hospital peer's URL.
    pub peer: String,
    /// When the hospital logged the access.
    pub at: i64,
    /// `view` (read records) or `write` (added one under a write grant).
    pub action: String,
    /// The index of the access entry in the hospital's log.
    pub access_log_index: u64,
    /// The size of the checkpoint the access was proven against.
    pub checkpoint_size: u64,
    /// Valid cosignatures from listed witnesses on that checkpoint.
    pub witness_cosignatures: usize,
    /// The quorum the trust list requires (0: none).
    pub witness_quorum: usize,
    /// `None`: a bearer grant (whoever held the QR and its passcode).
    pub doctor: Option<VerifiedDoctor>,
    /// The grant the access was made under.
    pub grant: VerifiedGrant,
    /// The records accessed.
    pub records: Vec<VerifiedRecord>,
}

fn category_of(kind: &str) -> Option<Category> {
    RECORD_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, c)| *c)
}

fn category_word(c: Category) -> &'static str {
    RECORD_KINDS
        .iter()
        .find(|(_, x)| *x == c)
        .map(|(k, _)| *k)
        .unwrap_or("record")
}

/// The access event as the peer logs it (`docs/peer.md`).
#[derive(Debug, Deserialize)]
struct Event {
    v: u64,
    peer: String,
    at: i64,
    #[serde(default)]
    action: Option<String>,
    outcome: String,
    #[serde(default)]
    grant_id: Option<String>,
    #[serde(default)]
    audience: Option<String>,
    records: Vec<String>,
}

impl ShareProof {
    /// Signs as a compact JWS with `key` (the patient's, the hospital's record key or the
    /// doctor's); the result reads back with [`ShareProof::decode`].
    pub fn sign(&self, key: &Es256KeyPair) -> Result<String, ShareProofError> {
        let header = serde_json::json!({"alg": "ES256", "kid": key.kid(), "typ": JWS_TYP});
        let header =
            serde_json::to_vec(&header).map_err(|e| ShareProofError::Signing(e.to_string()))?;
        let payload =
            serde_json::to_vec(self).map_err(|e| ShareProofError::Signing(e.to_string()))?;
        let input = format!(
            "{}.{}",
            spondon_core::b64::encode(header),
            spondon_core::b64::encode(payload)
        );
        let sig = key
            .sign(input.as_bytes())
            .map_err(|e| ShareProofError::Signing(e.to_string()))?;
        let text = format!("{input}.{}", spondon_core::b64::encode(sig));
        if text.len() > MAX_SHARE_PROOF_BYTES {
            return Err(ShareProofError::TooLarge);
        }
        Ok(text)
    }

    /// Parses a share-proof file (nothing is trusted yet): the JWS's structure, header and
    /// payload. Surrounding white space (a final newline) is ignored.
    pub fn decode(bytes: &[u8]) -> Result<Decoded, ShareProofError> {
        if bytes.len() > MAX_SHARE_PROOF_BYTES {
            return Err(ShareProofError::TooLarge);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8 text"))?;
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if text.is_empty() {
            return Err(malformed("the file is empty"));
        }
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                "not a compact JWS (three parts separated by dots)",
            ));
        };
        let header =
            spondon_core::b64::decode(h).map_err(|_| malformed("the header is not base64url"))?;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Header {
            alg: String,
            kid: String,
            typ: String,
        }
        let header: Header =
            serde_json::from_slice(&header).map_err(|e| malformed(format!("the header: {e}")))?;
        if header.alg != "ES256" {
            return Err(malformed(format!(
                "the header's alg is {:?}, not ES256",
                clip(&header.alg)
            )));
        }
        if header.typ != JWS_TYP {
            return Err(malformed(format!(
                "the header's typ is {:?}, not {JWS_TYP}",
                clip(&header.typ)
            )));
        }
        let signature: [u8; 64] = spondon_core::b64::decode_array(s)
            .ok_or_else(|| malformed("the signature is not base64url of 64 bytes"))?;
        let payload =
            spondon_core::b64::decode(p).map_err(|_| malformed("the payload is not base64url"))?;
        // The format is read first, so that a later version gets its own error.
        #[derive(Deserialize)]
        struct FormatOnly {
            format: String,
        }
        let f: FormatOnly =
            serde_json::from_slice(&payload).map_err(|e| malformed(format!("the payload: {e}")))?;
        if f.format != FORMAT {
            return Err(ShareProofError::UnsupportedFormat(clip(&f.format)));
        }
        let proof: ShareProof =
            serde_json::from_slice(&payload).map_err(|e| malformed(format!("the payload: {e}")))?;
        proof.check_shape()?;
        Ok(Decoded {
            proof,
            kid: header.kid,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    fn check_shape(&self) -> Result<(), ShareProofError> {
        if self.records.is_empty() || self.records.len() > MAX_RECORDS {
            return Err(malformed(format!(
                "records must list 1–{MAX_RECORDS} accessed records"
            )));
        }
        if self.access.event.len() > MAX_EVENT_BYTES {
            return Err(malformed("the access event is too large"));
        }
        for r in &self.records {
            if category_of(&r.kind).is_none() {
                return Err(malformed(format!(
                    "record kind {:?} is not one of prescription, lab_report, diagnosis, immunization, encounter, payment, note",
                    clip(&r.kind)
                )));
            }
        }
        Ok(())
    }
}

/// A parsed, not yet verified share proof.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The payload, not yet verified.
    pub proof: ShareProof,
    /// The `kid` of the JWS header.
    pub kid: String,
    signing_input: String,
    signature: [u8; 64],
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

fn b64_32(text: &str, what: &str) -> Result<[u8; 32], ShareProofError> {
    spondon_core::b64::decode_array(text)
        .ok_or_else(|| malformed(format!("{what} is not base64url of 32 bytes")))
}

fn parse_bundle(text: &str) -> Result<ProofBundle, BundleError> {
    ProofBundle::parse(text.as_bytes())
}

struct LogCheck {
    entry: LogEntry,
    index: u64,
    size: u64,
    cosignatures: usize,
}

/// Verifies a log proof against the hospital's log key, counting the witnesses that count.
fn check_log(text: &str, hospital: &Hospital, policy: &WitnessPolicy) -> Result<LogCheck, String> {
    let bundle = parse_bundle(text).map_err(|e| e.to_string())?;
    let log_key =
        Verifier::ed25519(&hospital.log_origin, hospital.log_key).map_err(|e| e.to_string())?;
    let v = bundle
        .verify(&hospital.log_origin, &[log_key], policy.witnesses(), 0)
        .map_err(|e| e.to_string())?;
    Ok(LogCheck {
        entry: v.entry,
        index: v.index,
        size: v.checkpoint.size,
        cosignatures: v.cosignatures,
    })
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

impl Decoded {
    /// Verifies everything against `list` (verified by the caller against the pinned root key):
    /// the maker's signature, the access in the hospital's log with the trust list's witness
    /// quorum, the event's opening, the grant (signed by the patient, valid at the access, for
    /// this peer, this audience and these records), the doctor's credential (a member hospital
    /// signed it, valid at the access, its key the grant's audience) and each record's issuance
    /// entry in the same log, before the access.
    pub fn verify(&self, list: &TrustList) -> Result<VerifiedShare, ShareProofError> {
        let p = &self.proof;
        let hospital = list
            .hospitals
            .iter()
            .find(|h| h.peer_url == p.peer)
            .ok_or_else(|| ShareProofError::UnknownHospital(clip(&p.peer)))?;
        let investigator = match &p.investigator {
            None => None,
            Some(id) => {
                let i = list
                    .investigator(id)
                    .ok_or_else(|| ShareProofError::UnknownInvestigator(clip(id)))?;
                Some(i.clone())
            }
        };

        // Parse the grant and the credential (their signatures are checked below) to know who
        // may have signed the share proof, and check that signature first: any change to any
        // field of a signed file stops here.
        let grant_parsed = token::decode_any(&p.grant)
            .map_err(|e| ShareProofError::GrantInvalid(format!("{e} ({})", e.code())))?;
        let TokenClaims::Grant(grant) = &grant_parsed.claims else {
            return Err(ShareProofError::GrantInvalid(format!(
                "is a {}, not a grant",
                grant_parsed.kind.name()
            )));
        };
        let doctor_parsed = match &p.doctor {
            None => None,
            Some(text) => {
                let parsed = token::decode_any(text).map_err(|e| {
                    ShareProofError::DoctorCredentialInvalid(format!("{e} ({})", e.code()))
                })?;
                let TokenClaims::DoctorCredential(d) = &parsed.claims else {
                    return Err(ShareProofError::DoctorCredentialInvalid(format!(
                        "is a {}, not a doctor credential",
                        parsed.kind.name()
                    )));
                };
                let d = d.clone();
                Some((parsed, d))
            }
        };
        let (maker, key): (Maker, &Es256PublicKey) = if grant.patient_key.kid() == self.kid {
            (Maker::Patient, &grant.patient_key)
        } else if let Some(k) = hospital.record_key(&self.kid) {
            (Maker::Hospital, k)
        } else if let Some((_, d)) = doctor_parsed
            .as_ref()
            .filter(|(_, d)| d.doctor_key.kid() == self.kid)
        {
            (Maker::Doctor, &d.doctor_key)
        } else {
            return Err(ShareProofError::UnknownSigner(clip(&self.kid)));
        };
        key.verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| ShareProofError::BadSignature)?;

        // The access, in the hospital's log, witnessed as the trust list requires.
        let policy = WitnessPolicy::for_hospital(list, hospital)
            .map_err(|e| ShareProofError::AccessNotLogged(format!("witnesses: {e}")))?;
        let access = check_log(&p.access.proof, hospital, &policy)
            .map_err(ShareProofError::AccessNotLogged)?;
        if access.cosignatures < policy.quorum() {
            return Err(ShareProofError::NotWitnessed {
                got: access.cosignatures,
                quorum: policy.quorum(),
            });
        }
        if access.entry.kind != EntryKind::AccessGranted {
            return Err(ShareProofError::NotAnAccess(match access.entry.kind {
                EntryKind::AccessDenied => "refused access",
                EntryKind::RecordIssued => "record issuance",
                EntryKind::RevocationRegistered => "revocation",
                EntryKind::Enrollment => "enrollment",
                _ => "log entry of another kind",
            }));
        }
        let opening = Opening {
            salt: b64_32(&p.access.salt, "the access salt")?,
            payload: p.access.event.as_bytes().to_vec(),
        };
        if !access.entry.opens(&opening) {
            return Err(ShareProofError::EventMismatch(
                "the event text or its salt is not what the hospital committed".into(),
            ));
        }
        let event: Event = serde_json::from_str(&p.access.event)
            .map_err(|e| ShareProofError::EventInvalid(format!("not the event JSON: {e}")))?;
        if event.v != 1 {
            return Err(ShareProofError::EventInvalid(format!(
                "unknown version {}",
                event.v
            )));
        }
        if event.at != access.entry.time.seconds() {
            return Err(ShareProofError::EventMismatch(
                "the event's time is not the log entry's".into(),
            ));
        }
        if event.peer != p.peer {
            return Err(ShareProofError::EventMismatch(format!(
                "the event was logged by {:?}, not {:?}",
                clip(&event.peer),
                clip(&p.peer)
            )));
        }
        if event.outcome != "allowed" {
            return Err(ShareProofError::EventInvalid(format!(
                "the outcome is {:?}",
                clip(&event.outcome)
            )));
        }
        let action = event.action.clone().unwrap_or_else(|| "view".into());
        let at = NumericDate(event.at);

        // The grant: signed by the patient key it carries, valid when the access happened.
        grant_parsed
            .verify(&TrustAnchors::default(), at)
            .map_err(|e| {
                ShareProofError::GrantInvalid(format!(
                    "{e} ({}) at the time of the access",
                    e.code()
                ))
            })?;
        let grant_id = spondon_core::b64::encode(grant.id);
        if event.grant_id.as_deref() != Some(grant_id.as_str()) {
            return Err(ShareProofError::GrantMismatch(
                "the logged access was under another grant".into(),
            ));
        }
        if !grant
            .peers
            .iter()
            .any(|x| *x == hospital.peer_url || *x == hospital.id)
        {
            return Err(ShareProofError::GrantMismatch(
                "the grant does not name this hospital".into(),
            ));
        }
        let audience = match &grant.audience {
            Audience::Key { kid } => Some(kid.clone()),
            Audience::Bearer => None,
        };
        if event.audience != audience {
            return Err(ShareProofError::GrantMismatch(
                "the logged audience is not the grant's".into(),
            ));
        }

        // The doctor: a credential a member hospital signed, valid at the access, for the
        // grant's audience key.
        let doctor = match (&audience, doctor_parsed) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(ShareProofError::DoctorMismatch(
                    "a bearer grant has no doctor, but a credential is included".into(),
                ));
            }
            (Some(_), None) => {
                return Err(ShareProofError::DoctorCredentialInvalid(
                    "missing: the grant is bound to a doctor's key".into(),
                ));
            }
            (Some(kid), Some((parsed, d))) => {
                let anchors = TrustAnchors {
                    trust_list: Some(list),
                    ..TrustAnchors::default()
                };
                parsed.verify(&anchors, at).map_err(|e| {
                    ShareProofError::DoctorCredentialInvalid(format!(
                        "{e} ({}) at the time of the access",
                        e.code()
                    ))
                })?;
                if d.doctor_key.kid() != kid {
                    return Err(ShareProofError::DoctorMismatch(
                        "the credential's key is not the grant's audience".into(),
                    ));
                }
                let reg = list.hospital(&d.hospital_id).ok_or_else(|| {
                    ShareProofError::DoctorCredentialInvalid("unknown issuer".into())
                })?;
                Some(VerifiedDoctor {
                    name: d.name,
                    bmdc_number: d.bmdc_number,
                    department: d.department,
                    registered_by: reg.id.clone(),
                    registered_by_name: reg.name.clone(),
                    kid: kid.clone(),
                })
            }
        };

        // The records: exactly the logged ones, each issued (logged) by this hospital before
        // the access, each covered by the grant.
        let listed: Vec<&str> = p.records.iter().map(|r| r.id.as_str()).collect();
        let logged: Vec<&str> = event.records.iter().map(String::as_str).collect();
        if listed != logged {
            return Err(ShareProofError::RecordsMismatch(format!(
                "the bundle lists {} record(s), the logged access names {}{}",
                listed.len(),
                logged.len(),
                if listed.len() == logged.len() {
                    " others"
                } else {
                    ""
                }
            )));
        }
        let mut records = Vec::with_capacity(p.records.len());
        for r in &p.records {
            let not_logged = |reason: String| ShareProofError::RecordNotLogged {
                id: clip(&r.id),
                reason,
            };
            let c = check_log(&r.proof, hospital, &policy).map_err(not_logged)?;
            if c.entry.kind != EntryKind::RecordIssued {
                return Err(not_logged("its log entry is not a record issuance".into()));
            }
            // Earlier in the same log than the access (a record written under a grant is
            // appended just before the access that wrote it; its time may be a second later).
            if c.index >= access.index {
                return Err(not_logged("it was logged after the access".into()));
            }
            if records
                .iter()
                .any(|x: &VerifiedRecord| x.log_index == c.index)
            {
                return Err(not_logged("the same log entry is given twice".into()));
            }
            let category = category_of(&r.kind).ok_or_else(|| malformed("record kind"))?;
            if !grant.covers(category, &r.id) {
                return Err(ShareProofError::RecordNotCovered {
                    id: clip(&r.id),
                    kind: r.kind.clone(),
                });
            }
            records.push(VerifiedRecord {
                id: r.id.clone(),
                kind: r.kind.clone(),
                commitment: hex(&c.entry.commitment),
                log_index: c.index,
                issued_at: c.entry.time.seconds(),
            });
        }

        Ok(VerifiedShare {
            maker,
            maker_kid: self.kid.clone(),
            created: p.created,
            investigator,
            hospital_id: hospital.id.clone(),
            hospital_name: hospital.name.clone(),
            peer: hospital.peer_url.clone(),
            at: event.at,
            action,
            access_log_index: access.index,
            checkpoint_size: access.size,
            witness_cosignatures: access.cosignatures,
            witness_quorum: policy.quorum(),
            doctor,
            grant: VerifiedGrant {
                id: grant_id,
                patient_kid: grant.patient_key.kid().to_owned(),
                purpose: purpose_word(grant.purpose),
                categories: grant
                    .categories
                    .iter()
                    .map(|c| category_word(*c).to_owned())
                    .collect(),
                record_ids: grant.record_ids.clone(),
                write: grant.write,
                issued_at: grant.issued_at.seconds(),
                not_before: grant.not_before.seconds(),
                expires: grant.expires.seconds(),
            },
            records,
        })
    }
}

/// The purpose's word (its serde name: `treatment`, `visa_medical`, …).
fn purpose_word(p: token::Purpose) -> String {
    match serde_json::to_value(p) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("purpose {}", p.code()),
    }
}

/// Decodes and verifies a share-proof file against a verified trust list.
pub fn verify(bytes: &[u8], list: &TrustList) -> Result<VerifiedShare, ShareProofError> {
    ShareProof::decode(bytes)?.verify(list)
}

/// A document the holder has: a hospital-signed card (its `iss` and `rid`), and, when it came
/// with its log proof (a Spondon export), the commitment its salt opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The card's issuer (the hospital's peer URL).
    pub issuer: String,
    /// The card's `rid` (the peer's record id).
    pub record_id: String,
    /// The commitment (hex) the card and its salt open, when known.
    pub commitment: Option<String>,
}

/// How a verified share proof concerns a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentMatch {
    /// The document's own commitment (card + salt) is the accessed record's logged one.
    Commitment,
    /// The card's issuer and record id are those the logged access names; the card came
    /// without its salt, so the commitment was not opened.
    RecordId,
}

impl VerifiedShare {
    /// Whether this access concerns `doc`. An accessed record with the document's id whose
    /// logged commitment differs from the document's is an error (one of them is not genuine).
    pub fn document(&self, doc: &Document) -> Result<Option<DocumentMatch>, ShareProofError> {
        if doc.issuer != self.peer {
            return Ok(None);
        }
        let Some(r) = self.records.iter().find(|r| r.id == doc.record_id) else {
            return Ok(None);
        };
        match &doc.commitment {
            None => Ok(Some(DocumentMatch::RecordId)),
            Some(c) if *c == r.commitment => Ok(Some(DocumentMatch::Commitment)),
            Some(_) => Err(ShareProofError::RecordsMismatch(format!(
                "record {} is logged with another commitment than the document's",
                clip(&r.id)
            ))),
        }
    }
}

/// The commitment (hex) a record's opening gives, for [`Document::commitment`].
pub fn record_commitment(salt: &[u8; 32], card_jws: &str) -> String {
    hex(&Opening {
        salt: *salt,
        payload: card_jws.as_bytes().to_vec(),
    }
    .commitment(EntryKind::RecordIssued))
}
