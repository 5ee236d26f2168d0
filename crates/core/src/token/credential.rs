//! Credentials a hospital signs with a record-signing key from the trust list: the enrollment
//! (Health ID ↔ patient key) and the doctor credential (BMDC number, name, department ↔ key).

use serde::Serialize;

use super::cbor;
use super::claims::{self, ClaimsBuilder, Cnf, Envelope};
use super::{TokenError, TokenKind, ser};
use crate::keys::{Es256KeyPair, Es256PublicKey};
use crate::time::NumericDate;

/// Longest enrollment credential lifetime: 10 years.
pub const MAX_ENROLLMENT_LIFETIME: i64 = 3_660 * 86_400;
/// Longest doctor credential lifetime: 5 years.
pub const MAX_DOCTOR_LIFETIME: i64 = 1_830 * 86_400;

const F_NAME: i64 = 2;
const F_DEPARTMENT: i64 = 3;

/// An enrollment credential (`docs/protocol.md` §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrollmentCredential {
    /// The enrolling hospital's id in the trust list (`iss`).
    pub hospital_id: String,
    /// The patient's Health ID (`sub`).
    pub health_id: String,
    /// The patient's key (`cnf`).
    #[serde(serialize_with = "ser::key")]
    pub patient_key: Es256PublicKey,
    /// When the hospital signed it (`iat`).
    pub issued_at: NumericDate,
    /// Valid from (`nbf`).
    pub not_before: NumericDate,
    /// Valid until (`exp`); the lifetime is capped by `docs/protocol.md` §6.3.
    pub expires: NumericDate,
}

/// A doctor credential (`docs/protocol.md` §6.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorCredential {
    /// The issuing hospital's id in the trust list (`iss`).
    pub hospital_id: String,
    /// BMDC registration number (`sub`).
    pub bmdc_number: String,
    /// The doctor's name as the hospital registered it.
    pub name: String,
    /// The doctor's department, shown to patients beside the name.
    pub department: String,
    /// The doctor's key (`cnf`): the key the doctor signs with and proves possession of.
    #[serde(serialize_with = "ser::key")]
    pub doctor_key: Es256PublicKey,
    /// When the hospital signed it (`iat`).
    pub issued_at: NumericDate,
    /// Valid from (`nbf`).
    pub not_before: NumericDate,
    /// Valid until (`exp`); the lifetime is capped by `docs/protocol.md` §6.4.
    pub expires: NumericDate,
}

fn common(
    env: &mut Envelope,
    what: &'static str,
) -> Result<(String, String, Es256PublicKey), TokenError> {
    let iss = env.iss.take().ok_or(TokenError::MissingField("iss (1)"))?;
    let sub = env.sub.take().ok_or(TokenError::MissingField("sub (2)"))?;
    let key = match env.cnf.take() {
        Some(Cnf::Key(k)) => k,
        Some(Cnf::Kid(_)) => {
            return Err(TokenError::Invalid(
                "a credential's cnf holds a COSE_Key (1)",
            ));
        }
        None => return Err(TokenError::MissingField("cnf (8)")),
    };
    if env.cti.as_ref().is_some_and(|c| c.len() != 16) {
        return Err(TokenError::OutOfRange {
            field: "cti (7)",
            reason: format!("must be 16 bytes in {what}"),
        });
    }
    Ok((iss, sub, key))
}

fn dates(env: &Envelope) -> Result<(NumericDate, NumericDate, NumericDate), TokenError> {
    Ok((
        env.iat.ok_or(TokenError::MissingField("iat (6)"))?,
        env.nbf.ok_or(TokenError::MissingField("nbf (5)"))?,
        env.exp.ok_or(TokenError::MissingField("exp (4)"))?,
    ))
}

fn check_dates(
    iat: NumericDate,
    nbf: NumericDate,
    exp: NumericDate,
    max: i64,
) -> Result<(), TokenError> {
    claims::check_date(iat, "iat (6)")?;
    claims::check_date(nbf, "nbf (5)")?;
    claims::check_date(exp, "exp (4)")?;
    claims::check_lifetime(nbf, exp, max)
}

impl EnrollmentCredential {
    /// Checks every field against the format's limits (lengths, dates, lifetime), as signing and
    /// parsing both do; the first violation is the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        claims::check_text(&self.hospital_id, "iss (1)", claims::MAX_ID_LEN)?;
        claims::check_text(&self.health_id, "sub (2)", claims::MAX_ID_LEN)?;
        check_dates(
            self.issued_at,
            self.not_before,
            self.expires,
            MAX_ENROLLMENT_LIFETIME,
        )
    }

    /// Signs with the hospital's record-signing key (its kid goes in the protected header).
    pub fn sign(&self, hospital: &Es256KeyPair) -> Result<String, TokenError> {
        self.validate()?;
        let payload = ClaimsBuilder::new(TokenKind::Enrollment)
            .claim(claims::CLAIM_ISS, cbor::text(&self.hospital_id))
            .claim(claims::CLAIM_SUB, cbor::text(&self.health_id))
            .date(claims::CLAIM_EXP, self.expires)
            .date(claims::CLAIM_NBF, self.not_before)
            .date(claims::CLAIM_IAT, self.issued_at)
            .claim(
                claims::CLAIM_CNF,
                cbor::int_map(vec![(1, claims::cose_key(&self.patient_key))]),
            )
            .encode()?;
        super::sign_text(
            hospital,
            Some(&claims::kid_bytes(hospital.public_key())),
            payload,
            super::MAX_QR_TEXT,
        )
    }

    pub(crate) fn from_envelope(mut env: Envelope) -> Result<Self, TokenError> {
        let (hospital_id, health_id, patient_key) = common(&mut env, "an enrollment")?;
        let (issued_at, not_before, expires) = dates(&env)?;
        env.fields.deny_rest("the enrollment's Spondon claim")?;
        let c = EnrollmentCredential {
            hospital_id,
            health_id,
            patient_key,
            issued_at,
            not_before,
            expires,
        };
        c.validate()?;
        Ok(c)
    }
}

impl DoctorCredential {
    /// Checks every field against the format's limits (lengths, dates, lifetime), as signing and
    /// parsing both do; the first violation is the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        claims::check_text(&self.hospital_id, "iss (1)", claims::MAX_ID_LEN)?;
        claims::check_text(&self.bmdc_number, "sub (2)", claims::MAX_ID_LEN)?;
        claims::check_text(&self.name, "name (-65537 / 2)", claims::MAX_ID_LEN)?;
        claims::check_text(
            &self.department,
            "department (-65537 / 3)",
            claims::MAX_ID_LEN,
        )?;
        check_dates(
            self.issued_at,
            self.not_before,
            self.expires,
            MAX_DOCTOR_LIFETIME,
        )
    }

    /// Signs with the hospital's record-signing key.
    pub fn sign(&self, hospital: &Es256KeyPair) -> Result<String, TokenError> {
        self.validate()?;
        let payload = ClaimsBuilder::new(TokenKind::DoctorCredential)
            .claim(claims::CLAIM_ISS, cbor::text(&self.hospital_id))
            .claim(claims::CLAIM_SUB, cbor::text(&self.bmdc_number))
            .date(claims::CLAIM_EXP, self.expires)
            .date(claims::CLAIM_NBF, self.not_before)
            .date(claims::CLAIM_IAT, self.issued_at)
            .claim(
                claims::CLAIM_CNF,
                cbor::int_map(vec![(1, claims::cose_key(&self.doctor_key))]),
            )
            .field(F_NAME, cbor::text(&self.name))
            .field(F_DEPARTMENT, cbor::text(&self.department))
            .encode()?;
        super::sign_text(
            hospital,
            Some(&claims::kid_bytes(hospital.public_key())),
            payload,
            super::MAX_QR_TEXT,
        )
    }

    pub(crate) fn from_envelope(mut env: Envelope) -> Result<Self, TokenError> {
        let (hospital_id, bmdc_number, doctor_key) = common(&mut env, "a doctor credential")?;
        let (issued_at, not_before, expires) = dates(&env)?;
        let f = &mut env.fields;
        let name = cbor::as_text(
            f.require(F_NAME.into(), "name (-65537 / 2)")?,
            "name (-65537 / 2)",
            claims::MAX_ID_LEN,
        )?;
        let department = cbor::as_text(
            f.require(F_DEPARTMENT.into(), "department (-65537 / 3)")?,
            "department (-65537 / 3)",
            claims::MAX_ID_LEN,
        )?;
        f.deny_rest("the doctor credential's Spondon claim")?;
        let c = DoctorCredential {
            hospital_id,
            bmdc_number,
            name,
            department,
            doctor_key,
            issued_at,
            not_before,
            expires,
        };
        c.validate()?;
        Ok(c)
    }
}
