//! `spondon-verifier share-proof`: the offline verdict on proofs of sharing
//! (`docs/protocol.md` §14), and, given a document, the dates it was shared.

use std::path::{Path, PathBuf};

use serde::Serialize;
use spondon_core::NumericDate;
use spondon_core::shc::{HealthCardFile, ParsedCard, VerifyOptions};
use spondon_ledger::share_proof::{self, Document, DocumentMatch, Maker, VerifiedShare};

use crate::check::{CheckError, Trust};
use crate::input::{self, InputError};

/// Why `share-proof` could not judge at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// The trust material or the time cannot be loaded.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// A proof file cannot be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// No trust list was given: a share proof is only checked against one.
    #[error(
        "share-proof needs the consortium trust list: --trust trust-list.txt --root-key authority.jwk"
    )]
    NoTrustList,
    /// A `--document` file cannot be read or parsed: its path, and why.
    #[error("--document {path}: {message}")]
    BadDocument {
        /// The path as given.
        path: String,
        /// Why it is refused.
        message: String,
    },
}

/// One share-proof file's verdict.
#[derive(Debug, Serialize)]
pub struct FileVerdict {
    /// The proof file as given on the command line.
    pub file: String,
    /// Whether the proof verified.
    pub valid: bool,
    /// The refusal's stable code and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    /// What the valid proof shows was shared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<VerifiedShare>,
}

/// Why a proof or a document was refused: a stable code and a sentence.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// Stable snake_case code.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// A document the holder gave, and the accesses of it found in the valid proofs.
#[derive(Debug, Serialize)]
pub struct DocumentVerdict {
    /// The document file as given with `--document`.
    pub file: String,
    /// The issuing hospital's issuer URL.
    pub issuer: String,
    /// The issuing hospital's name, when the trust list has it.
    pub issuer_name: Option<String>,
    /// The record's id at its issuer.
    pub record_id: String,
    /// Whether the document came with the salt that opens its log commitment.
    pub commitment_known: bool,
    /// Each access to this document found in the valid proofs.
    pub shares: Vec<DocumentShare>,
    /// Why the document could not be read or matched, if it could not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Problem>,
}

/// One access to a document, found in a valid share proof.
#[derive(Debug, Serialize)]
pub struct DocumentShare {
    /// The proof file that shows it.
    pub file: String,
    /// When it happened (seconds since the epoch, the log's time).
    pub at: i64,
    /// What was done: the log entry's action.
    pub action: String,
    /// `commitment`: proven by the document's own commitment; `record_id`: by issuer and id.
    pub matched_by: DocumentMatch,
    /// The doctor who acted, when the proof names one.
    pub doctor: Option<String>,
    /// The grant the access was made under.
    pub grant_id: String,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct ShareReport {
    /// Whether every proof verified and every document was read and matched without error.
    pub valid: bool,
    /// One verdict per proof file, in the order given.
    pub proofs: Vec<FileVerdict>,
    /// One verdict per `--document`, in the order given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentVerdict>,
}

fn read_document(
    path: &Path,
    trust: &Trust,
    now: NumericDate,
) -> Result<Vec<(Document, Option<String>)>, ShareError> {
    let bad = |message: String| ShareError::BadDocument {
        path: path.display().to_string(),
        message,
    };
    let bytes = input::read(path)?;
    // A Spondon export carries each card's salt: its commitment can be opened.
    let mut cards: Vec<(String, Option<[u8; 32]>)> = Vec::new();
    if let Ok(export) = spondon_export::parse_export(&bytes) {
        for r in export.records {
            cards.push((r.jws, r.proof.map(|p| p.salt)));
        }
    } else {
        let text = String::from_utf8(bytes).map_err(|_| bad("not a card (not text)".into()))?;
        let text = text.trim();
        if text.starts_with('{') {
            let file = HealthCardFile::from_json(text).map_err(|e| bad(e.to_string()))?;
            cards.extend(file.verifiable_credential.into_iter().map(|j| (j, None)));
        } else {
            cards.push((text.to_owned(), None));
        }
    }
    if cards.is_empty() {
        return Err(bad("holds no card".into()));
    }
    let mut out = Vec::new();
    for (jws, salt) in cards {
        let parsed = ParsedCard::parse(&jws).map_err(|e| bad(format!("a card: {e}")))?;
        let verified = parsed
            .verify_with(&trust.directory, &VerifyOptions::at(now))
            .map_err(|e| bad(format!("a card is not genuine: {e}")))?;
        let Some(rid) = verified.rid.clone() else {
            return Err(bad(
                "a card has no record id (rid): it was not issued by a Spondon hospital".into(),
            ));
        };
        out.push((
            Document {
                issuer: verified.iss.clone(),
                record_id: rid,
                commitment: salt.map(|s| share_proof::record_commitment(&s, &jws)),
            },
            verified.issuer_name.clone(),
        ));
    }
    Ok(out)
}

/// Verifies every share-proof file, and matches the documents against the valid ones.
pub fn run(
    files: &[PathBuf],
    documents: &[PathBuf],
    trust: &Trust,
    now: NumericDate,
) -> Result<ShareReport, ShareError> {
    let list = trust.trust_list.as_ref().ok_or(ShareError::NoTrustList)?;
    let mut proofs = Vec::new();
    for path in files {
        let bytes = input::read(path)?;
        let file = path.display().to_string();
        proofs.push(match share_proof::verify(&bytes, list) {
            Ok(share) => FileVerdict {
                file,
                valid: true,
                error: None,
                share: Some(share),
            },
            Err(e) => FileVerdict {
                file,
                valid: false,
                error: Some(Problem {
                    code: e.code(),
                    message: e.to_string(),
                }),
                share: None,
            },
        });
    }
    let mut docs = Vec::new();
    for path in documents {
        for (doc, issuer_name) in read_document(path, trust, now)? {
            let mut verdict = DocumentVerdict {
                file: path.display().to_string(),
                issuer: doc.issuer.clone(),
                issuer_name,
                record_id: doc.record_id.clone(),
                commitment_known: doc.commitment.is_some(),
                shares: Vec::new(),
                errors: Vec::new(),
            };
            for p in &proofs {
                let Some(share) = &p.share else { continue };
                match share.document(&doc) {
                    Ok(None) => {}
                    Ok(Some(matched_by)) => verdict.shares.push(DocumentShare {
                        file: p.file.clone(),
                        at: share.at,
                        action: share.action.clone(),
                        matched_by,
                        doctor: share
                            .doctor
                            .as_ref()
                            .map(|d| format!("{} (BMDC {})", d.name, d.bmdc_number)),
                        grant_id: share.grant.id.clone(),
                    }),
                    Err(e) => verdict.errors.push(Problem {
                        code: e.code(),
                        message: format!("{}: {e}", p.file),
                    }),
                }
            }
            verdict.shares.sort_by_key(|s| s.at);
            docs.push(verdict);
        }
    }
    let valid = proofs.iter().all(|p| p.valid) && docs.iter().all(|d| d.errors.is_empty());
    Ok(ShareReport {
        valid,
        proofs,
        documents: docs,
    })
}

fn when(t: i64) -> String {
    spondon_core::time::local(t)
}

impl ShareReport {
    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for p in &self.proofs {
            match (&p.share, &p.error) {
                (Some(v), _) => {
                    s.push_str(&format!("VALID share proof: {}\n", p.file));
                    s.push_str(&share_text(v));
                }
                (None, Some(e)) => {
                    s.push_str(&format!(
                        "INVALID share proof: {}\n  error [{}]: {}\n",
                        p.file, e.code, e.message
                    ));
                }
                (None, None) => {}
            }
        }
        for d in &self.documents {
            s.push_str(&format!(
                "Document {} — record {} of {}:\n",
                d.file,
                d.record_id,
                d.issuer_name.as_deref().unwrap_or(&d.issuer)
            ));
            if d.shares.is_empty() {
                s.push_str("  no access to it in the share proofs given\n");
            }
            for x in &d.shares {
                let how = match x.matched_by {
                    DocumentMatch::Commitment => "its log commitment opened by the document",
                    DocumentMatch::RecordId => {
                        "by its record id (the document came without its log salt)"
                    }
                };
                s.push_str(&format!(
                    "  shared on {}: {} by {} under grant {} — {how} ({})\n",
                    when(x.at),
                    match x.action.as_str() {
                        "write" => "added",
                        "download" => "downloaded",
                        _ => "viewed",
                    },
                    x.doctor.as_deref().unwrap_or("a passcode holder"),
                    x.grant_id,
                    x.file
                ));
            }
            for e in &d.errors {
                s.push_str(&format!("  error [{}]: {}\n", e.code, e.message));
            }
        }
        s
    }
}

fn share_text(v: &VerifiedShare) -> String {
    let mut s = String::new();
    let who = match &v.doctor {
        Some(d) => format!(
            "{} (BMDC {}, {}; registered by {})",
            d.name, d.bmdc_number, d.department, d.registered_by_name
        ),
        None => "someone holding a passcode grant".to_owned(),
    };
    let did = match v.action.as_str() {
        "write" => "added a record at",
        "download" => "downloaded a document's file at",
        _ => "accessed records at",
    };
    s.push_str(&format!(
        "  who:    {who}\n  what:   {did} {} ({}) on {}\n",
        v.hospital_name,
        v.peer,
        when(v.at)
    ));
    for r in &v.records {
        s.push_str(&format!(
            "          - {} {} — commitment {}, logged #{} on {}\n",
            r.kind,
            r.id,
            r.commitment,
            r.log_index,
            when(r.issued_at)
        ));
    }
    s.push_str(&format!(
        "  grant:  {} — signed by the patient's key {} (verified), purpose {}, {}valid {} to {}\n",
        v.grant.id,
        v.grant.patient_kid,
        v.grant.purpose,
        if v.grant.write { "write, " } else { "" },
        when(v.grant.not_before),
        when(v.grant.expires)
    ));
    s.push_str(&format!(
        "  log:    access entry #{} in the checkpoint of size {}, {} of {} required witness cosignature(s)\n",
        v.access_log_index, v.checkpoint_size, v.witness_cosignatures, v.witness_quorum
    ));
    s.push_str(&format!(
        "  made by {} (key {}) on {}{}\n",
        match v.maker {
            Maker::Patient => "the patient",
            Maker::Hospital => "the hospital",
            Maker::Doctor => "the doctor",
        },
        v.maker_kid,
        when(v.created),
        v.investigator
            .as_ref()
            .map(|i| format!(", for {} ({})", i.name, i.id))
            .unwrap_or_default()
    ));
    s.push_str(
        "  proven: the hospital logged this access under this grant, the patient signed the grant, a member hospital registered the doctor, and each record's commitment was logged before the access; each record's id and kind are the maker's signed statement (its holder proves them with --document)\n",
    );
    s
}
