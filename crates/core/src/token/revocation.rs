//! The revocation: the patient withdraws one grant, or every grant issued before a time.

use serde::Serialize;

use super::cbor;
use super::claims::{self, ClaimsBuilder, Envelope};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Es256KeyPair, Es256PublicKey};
use crate::time::NumericDate;

const F_PATIENT_KEY: i64 = 2;
const F_GRANT_ID: i64 = 3;
const F_BEFORE: i64 = 4;

/// What a revocation withdraws.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RevocationTarget {
    /// The grant with this id.
    Grant {
        /// The grant's id (`cti`).
        #[serde(serialize_with = "ser::b64")]
        grant_id: [u8; 16],
    },
    /// Every grant of this patient key whose `iat` is before this time.
    IssuedBefore {
        /// Grants issued strictly before this time are revoked.
        before: NumericDate,
    },
}

/// A revocation (`docs/protocol.md` §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// Unique id (`cti`), 16 random bytes.
    #[serde(serialize_with = "ser::b64")]
    pub id: [u8; 16],
    /// The patient's key, which signs the revocation; only this key's grants are affected.
    #[serde(serialize_with = "ser::key")]
    pub patient_key: Es256PublicKey,
    /// Which grants it withdraws.
    pub target: RevocationTarget,
    /// When the patient signed it (`iat`); a revocation does not expire.
    pub issued_at: NumericDate,
}

impl Revocation {
    /// Checks the dates against the format's limits; the first violation is the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        claims::check_date(self.issued_at, "iat (6)")?;
        if let RevocationTarget::IssuedBefore { before } = self.target {
            claims::check_date(before, "before (-65537 / 4)")?;
        }
        Ok(())
    }

    /// Signs with the patient's key; returns the `SPONDON:1:` text.
    pub fn sign(&self, patient: &Es256KeyPair) -> Result<String, TokenError> {
        self.validate()?;
        if patient.public_key() != &self.patient_key {
            return Err(TokenError::Invalid(
                "the signing key is not the revocation's patient key",
            ));
        }
        let mut b = ClaimsBuilder::new(TokenKind::Revocation)
            .date(claims::CLAIM_IAT, self.issued_at)
            .claim(claims::CLAIM_CTI, cbor::bytes(&self.id))
            .field(F_PATIENT_KEY, cbor::bytes(self.patient_key.sec1()));
        b = match &self.target {
            RevocationTarget::Grant { grant_id } => b.field(F_GRANT_ID, cbor::bytes(grant_id)),
            RevocationTarget::IssuedBefore { before } => b.field(F_BEFORE, cbor::int(before.0)),
        };
        super::sign_text(patient, None, b.encode()?, super::MAX_QR_TEXT)
    }

    pub(crate) fn from_envelope(mut env: Envelope) -> Result<Revocation, TokenError> {
        for (present, name) in [
            (env.iss.is_some(), "iss (1) in a revocation"),
            (env.sub.is_some(), "sub (2) in a revocation"),
            (env.cnf.is_some(), "cnf (8) in a revocation"),
            (
                env.exp.is_some(),
                "exp (4) in a revocation (it never expires)",
            ),
            (env.nbf.is_some(), "nbf (5) in a revocation"),
        ] {
            if present {
                return Err(TokenError::UnknownField(name.into()));
            }
        }
        let f = &mut env.fields;
        let patient_key = claims::parse_sec1(
            f.require(F_PATIENT_KEY.into(), "patient key (-65537 / 2)")?,
            "patient key",
        )?;
        let grant = f
            .take(F_GRANT_ID.into())
            .map(|v| cbor::as_byte_array::<16>(v, "grant id (-65537 / 3)"))
            .transpose()?;
        let before = f
            .take(F_BEFORE.into())
            .map(|v| cbor::as_date(v, "before (-65537 / 4)"))
            .transpose()?;
        f.deny_rest("the revocation's Spondon claim")?;
        let target = match (grant, before) {
            (Some(grant_id), None) => RevocationTarget::Grant { grant_id },
            (None, Some(before)) => RevocationTarget::IssuedBefore { before },
            _ => {
                return Err(TokenError::Invalid(
                    "a revocation names exactly one of grant id (3) or before (4)",
                ));
            }
        };
        let r = Revocation {
            id: super::grant::cti16(env.cti)?,
            patient_key,
            target,
            issued_at: env.iat.ok_or(TokenError::MissingField("iat (6)"))?,
        };
        r.validate()?;
        Ok(r)
    }

    /// Whether this revocation withdraws a grant (same patient key and the id, or issued before).
    pub fn revokes(&self, grant: &super::Grant) -> bool {
        grant.patient_key == self.patient_key
            && match self.target {
                RevocationTarget::Grant { grant_id } => grant_id == grant.id,
                RevocationTarget::IssuedBefore { before } => grant.issued_at < before,
            }
    }

    /// Whether this revocation withdraws a delegation (same patient key and the delegation's
    /// id, or a revoke-all made after the delegation was issued): delegations are revoked
    /// like grants (`docs/protocol.md` §16).
    pub fn revokes_delegation(&self, delegation: &super::Delegation) -> bool {
        delegation.patient_key == self.patient_key
            && match self.target {
                RevocationTarget::Grant { grant_id } => grant_id == delegation.id,
                RevocationTarget::IssuedBefore { before } => delegation.issued_at < before,
            }
    }

    /// Parses and verifies a revocation text (signature by the embedded patient key; a
    /// revocation has no expiry, `now` only rejects one issued in the future).
    pub fn decode_and_verify(text: &str, now: NumericDate) -> Result<Revocation, TokenError> {
        let parsed = super::decode_any(text)?;
        parsed.verify(&super::TrustAnchors::default(), now)?;
        match parsed.claims {
            super::TokenClaims::Revocation(r) => Ok(r),
            other => Err(TokenError::KindMismatch {
                expected: "revocation",
                found: other.kind().name(),
            }),
        }
    }
}
