//! The grant check: in memory, no database access. A well-formed grant always gets a verdict
//! (accepted, or refused with the exact reason); a text that is not a grant at all is an error.

use serde::Serialize;
use spondon_core::NumericDate;
use spondon_core::token::{
    self, Audience, Category, Grant, Purpose, TokenClaims, TokenError, TrustAnchors,
};

use super::state::TrustState;

/// Why a text could not be judged as a grant at all.
#[derive(Debug, thiserror::Error)]
pub enum GrantInputError {
    #[error("the text is not a Spondon token: {0}")]
    Malformed(TokenError),
    #[error("this is a {0}, not a grant")]
    NotAGrant(&'static str),
    #[error("the enrollment credential is not usable: {0}")]
    BadEnrollment(TokenError),
    #[error("the enrollment credential is not usable: this is a {0}, not an enrollment credential")]
    NotAnEnrollment(&'static str),
}

impl GrantInputError {
    pub fn code(&self) -> &'static str {
        match self {
            GrantInputError::Malformed(e) => match e {
                TokenError::WrongPrefix => "not_a_token",
                TokenError::Base45(_) => "base45_invalid",
                TokenError::Empty => "empty",
                TokenError::TooLarge { .. } => "too_large",
                _ => "malformed_token",
            },
            GrantInputError::NotAGrant(_) => "not_a_grant",
            GrantInputError::BadEnrollment(_) | GrantInputError::NotAnEnrollment(_) => {
                "bad_enrollment"
            }
        }
    }
}

/// A peer the grant names.
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    pub peer: String,
    /// The hospital, when the trust list knows this peer.
    pub hospital: Option<String>,
}

/// What the grant says, in words a receptionist can read.
#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    pub id: String,
    pub patient_key: String,
    /// "this clinic", "another clinic (key …)", or "anyone with the passcode (once)".
    pub audience: String,
    pub audience_kind: &'static str,
    pub for_this_clinic: bool,
    pub scopes: Vec<&'static str>,
    pub record_ids: Vec<String>,
    pub write: bool,
    pub purpose: &'static str,
    pub not_before: i64,
    pub expires: i64,
    pub valid_until: String,
    pub use_limit: Option<u64>,
    pub peers: Vec<PeerView>,
    /// A delegate's grant (`docs/protocol.md` §16): the key id of the delegate who signed it
    /// under the patient's delegation (both signatures checked); `None` for the patient's own.
    pub delegate: Option<String>,
}

/// The patient, as far as known.
#[derive(Debug, Clone, Serialize)]
pub struct PatientView {
    /// From the enrollment credential, when one was given and it matches the grant's key.
    pub health_id: Option<String>,
    pub enrolled_at: Option<String>,
    pub key: String,
}

/// The verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub accepted: bool,
    /// `ok` or the reason: `bad_signature`, `expired`, `not_yet_valid`, `not_for_this_clinic`,
    /// `unknown_peer`, `enrollment_mismatch`, `trust_list_expired`.
    pub code: &'static str,
    /// One sentence in plain words.
    pub summary: String,
    pub patient: Option<PatientView>,
    pub grant: Option<GrantView>,
    pub warnings: Vec<String>,
}

pub fn category_words(c: Category) -> &'static str {
    match c {
        Category::Prescription => "prescriptions",
        Category::LabResult => "lab results",
        Category::Diagnosis => "diagnoses",
        Category::Immunization => "immunizations",
        Category::Encounter => "visits",
        Category::Payment => "payments",
        Category::Note => "notes",
    }
}

pub fn purpose_words(p: Purpose) -> &'static str {
    match p {
        Purpose::Treatment => "treatment",
        Purpose::VisaMedical => "visa medical",
        Purpose::Emergency => "emergency",
        Purpose::Referral => "referral",
        Purpose::Insurance => "insurance",
    }
}

/// `2026-11-22 10:42 UTC`.
pub fn utc_words(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| format!("{t} (Unix time)"))
}

fn view(g: &Grant, clinic_kid: &str, trust: &TrustState) -> GrantView {
    let (audience, kind, mine) = match &g.audience {
        Audience::Key { kid } if kid == clinic_kid => ("this clinic".to_owned(), "key", true),
        Audience::Key { kid } => (
            format!("another clinic or doctor (key {kid})"),
            "key",
            false,
        ),
        Audience::Bearer => (
            "anyone with the passcode (one use)".to_owned(),
            "bearer",
            false,
        ),
    };
    GrantView {
        id: spondon_core::b64::encode(g.id),
        patient_key: g.patient_key.kid().to_owned(),
        audience,
        audience_kind: kind,
        for_this_clinic: mine,
        scopes: g.categories.iter().map(|c| category_words(*c)).collect(),
        record_ids: g.record_ids.clone(),
        write: g.write,
        purpose: purpose_words(g.purpose),
        not_before: g.not_before.0,
        expires: g.expires.0,
        valid_until: utc_words(g.expires.0),
        use_limit: g.use_limit,
        delegate: None,
        peers: g
            .peers
            .iter()
            .map(|p| PeerView {
                peer: p.clone(),
                hospital: trust.hospital_for_peer(p).map(|h| h.name.clone()),
            })
            .collect(),
    }
}

fn scope_words(v: &GrantView) -> String {
    let mut parts: Vec<String> = v.scopes.iter().map(|s| (*s).to_owned()).collect();
    if !v.record_ids.is_empty() {
        parts.push(format!("{} named record(s)", v.record_ids.len()));
    }
    match parts.split_last() {
        None => "no records".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Checks `text` as a grant for the clinic with key `clinic_kid`, at `now`.
pub fn check(
    text: &str,
    enrollment: Option<&str>,
    clinic_kid: &str,
    trust: &TrustState,
    now: NumericDate,
) -> Result<Verdict, GrantInputError> {
    let parsed = token::decode_any(text.trim()).map_err(GrantInputError::Malformed)?;
    let TokenClaims::Grant(g) = &parsed.claims else {
        return Err(GrantInputError::NotAGrant(parsed.kind.name()));
    };
    let mut v = view(g, clinic_kid, trust);
    v.delegate = parsed.delegation().map(|d| d.delegate_key.kid().to_owned());
    let mut warnings = Vec::new();
    if now.0 >= trust.list.expires.0 {
        warnings.push(format!(
            "the trust list expired at {}; ask for a newer one",
            utc_words(trust.list.expires.0)
        ));
    }
    let mut patient = PatientView {
        health_id: None,
        enrolled_at: None,
        key: g.patient_key.kid().to_owned(),
    };
    let refuse =
        |code: &'static str, summary: String, patient: Option<PatientView>, v, warnings| {
            Ok(Verdict {
                accepted: false,
                code,
                summary,
                patient,
                grant: Some(v),
                warnings,
            })
        };
    // The signature first: nothing a grant says counts before it verifies.
    if let Err(e) = parsed.verify(&TrustAnchors::default(), g.not_before) {
        return Ok(Verdict {
            accepted: false,
            code: "bad_signature",
            summary: format!(
                "Refused: the grant's signature does not verify ({e}). It was altered or forged."
            ),
            patient: None,
            grant: None,
            warnings,
        });
    }
    if let Some(e) = enrollment {
        let info = enrollment_of(e, trust, now)?;
        if info.0 != g.patient_key.kid() {
            return refuse(
                "enrollment_mismatch",
                "Refused: the enrollment shown belongs to a different patient key than the grant."
                    .into(),
                Some(patient),
                v,
                warnings,
            );
        }
        patient.health_id = Some(info.1);
        patient.enrolled_at = Some(info.2);
    }
    if now.0 >= g.expires.0 {
        let s = format!("Refused: this grant expired at {}.", utc_words(g.expires.0));
        return refuse("expired", s, Some(patient), v, warnings);
    }
    if now.0 < g.not_before.0 {
        let s = format!(
            "Refused: this grant is not valid before {}.",
            utc_words(g.not_before.0)
        );
        return refuse("not_yet_valid", s, Some(patient), v, warnings);
    }
    if let Audience::Key { kid } = &g.audience
        && kid != clinic_kid
    {
        let s = "Refused: this grant was given to another clinic or doctor, not to this clinic. A photographed or forwarded QR cannot be used here.".to_owned();
        return refuse("not_for_this_clinic", s, Some(patient), v, warnings);
    }
    if let Some(p) = v.peers.iter().find(|p| p.hospital.is_none()) {
        let s = format!(
            "Refused: the grant names {:?}, which is not a hospital in the trust list.",
            p.peer
        );
        return refuse("unknown_peer", s, Some(patient), v, warnings);
    }
    if now.0 >= trust.list.expires.0 {
        let s =
            "Refused: the trust list has expired, so the hospitals cannot be trusted; refresh it."
                .to_owned();
        return refuse("trust_list_expired", s, Some(patient), v, warnings);
    }
    let who = match &patient.health_id {
        Some(h) => format!("patient {h}"),
        None => format!("the patient with key {}", short(&patient.key)),
    };
    let hospitals: Vec<String> = v.peers.iter().filter_map(|p| p.hospital.clone()).collect();
    let mut summary = format!(
        "Valid: {who} shares {} with {} for {}, until {}, from {}.",
        scope_words(&v),
        v.audience,
        v.purpose,
        v.valid_until,
        hospitals.join(", ")
    );
    if v.write {
        summary.push_str(" The doctor may add a prescription or note.");
    }
    if let Some(d) = &v.delegate {
        summary.push_str(&format!(
            " Shared by the patient's delegate (key {}) under a delegation the patient signed; both signatures check.",
            short(d)
        ));
    }
    if matches!(g.audience, Audience::Bearer) {
        warnings.push(
            "a bearer grant: the records can be fetched once, with the patient's passcode".into(),
        );
    }
    Ok(Verdict {
        accepted: true,
        code: "ok",
        summary,
        patient: Some(patient),
        grant: Some(v),
        warnings,
    })
}

fn short(kid: &str) -> &str {
    kid.get(..8).unwrap_or(kid)
}

/// (patient key kid, Health ID, enrolled-at words) of a verified enrollment credential.
fn enrollment_of(
    text: &str,
    trust: &TrustState,
    now: NumericDate,
) -> Result<(String, String, String), GrantInputError> {
    let parsed = token::decode_any(text.trim()).map_err(GrantInputError::BadEnrollment)?;
    let anchors = TrustAnchors {
        trust_list: Some(&trust.list),
        ..TrustAnchors::default()
    };
    parsed
        .verify(&anchors, now)
        .map_err(GrantInputError::BadEnrollment)?;
    match parsed.claims {
        TokenClaims::Enrollment(e) => Ok((
            e.patient_key.kid().to_owned(),
            e.health_id,
            utc_words(e.issued_at.0),
        )),
        other => Err(GrantInputError::NotAnEnrollment(other.kind().name())),
    }
}
