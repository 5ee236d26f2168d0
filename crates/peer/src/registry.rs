//! Staff operations on people: patients (Health ID, enrollment code) and doctors (credential).

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::keys::{Es256PublicKey, Jwk};
use spondon_core::token::DoctorCredential;

use crate::db;
use crate::error::{PeerError, Result};
use crate::peer::{Peer, token_hash};
use crate::write_keys::WriteKey;

pub use crate::db::doctors::DoctorName;

/// How long an enrollment code stays redeemable.
pub const ENROLLMENT_CODE_LIFETIME: i64 = 7 * 86_400;
/// Doctor credential lifetime (a year).
pub const DOCTOR_CREDENTIAL_LIFETIME: i64 = 365 * 86_400;

/// The 64 districts of Bangladesh.
pub const DISTRICTS: &[&str] = &[
    "Bagerhat",
    "Bandarban",
    "Barguna",
    "Barishal",
    "Bhola",
    "Bogura",
    "Brahmanbaria",
    "Chandpur",
    "Chapainawabganj",
    "Chattogram",
    "Chuadanga",
    "Cox's Bazar",
    "Cumilla",
    "Dhaka",
    "Dinajpur",
    "Faridpur",
    "Feni",
    "Gaibandha",
    "Gazipur",
    "Gopalganj",
    "Habiganj",
    "Jamalpur",
    "Jashore",
    "Jhalokati",
    "Jhenaidah",
    "Joypurhat",
    "Khagrachhari",
    "Khulna",
    "Kishoreganj",
    "Kurigram",
    "Kushtia",
    "Lakshmipur",
    "Lalmonirhat",
    "Madaripur",
    "Magura",
    "Manikganj",
    "Meherpur",
    "Moulvibazar",
    "Munshiganj",
    "Mymensingh",
    "Naogaon",
    "Narail",
    "Narayanganj",
    "Narsingdi",
    "Natore",
    "Netrokona",
    "Nilphamari",
    "Noakhali",
    "Pabna",
    "Panchagarh",
    "Patuakhali",
    "Pirojpur",
    "Rajbari",
    "Rajshahi",
    "Rangamati",
    "Rangpur",
    "Satkhira",
    "Shariatpur",
    "Sherpur",
    "Sirajganj",
    "Sunamganj",
    "Sylhet",
    "Tangail",
    "Thakurgaon",
];

/// A patient registration (after the staff's identity check).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewPatient {
    /// Full name as on the national ID.
    pub name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male`, `female`, `other` or `unknown` (FHIR `AdministrativeGender`).
    pub sex: String,
    /// NID (10 or 17 digits) or birth registration number (17 digits).
    pub national_id: String,
    /// Bangladeshi mobile number, `01XXXXXXXXX` or `+8801XXXXXXXXX`.
    pub phone: String,
    /// District of residence.
    pub district: String,
    /// Upazila of residence.
    pub upazila: String,
}

/// A stored patient.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Patient {
    /// The new patient's Health ID.
    pub health_id: String,
    #[serde(flatten)]
    /// The stored registration.
    pub details: NewPatient,
}

/// The answer to a patient registration.
#[derive(Debug, Clone, Serialize)]
pub struct PatientRegistered {
    /// The new patient's Health ID.
    pub health_id: String,
    /// One-time enrollment code (show once; stored hashed).
    pub enrollment_code: String,
    /// When the enrollment code expires (Unix seconds).
    pub enrollment_code_expires: i64,
    /// The text the wallet scans: `SPONDON-ENROLL:1:<code>:<health id>:<peer url>`.
    pub enrollment_text: String,
    /// The same text as an SVG QR code.
    pub enrollment_qr_svg: String,
}

/// A doctor registration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewDoctor {
    /// Bangladesh Medical and Dental Council registration number.
    pub bmdc_number: String,
    /// Full name.
    pub name: String,
    /// Department at this hospital.
    pub department: String,
    /// The doctor's ES256 public key as a JWK.
    pub public_key: Jwk,
}

/// The answer to a doctor registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoctorRegistered {
    /// The doctor's BMDC number.
    pub bmdc_number: String,
    /// The key id (RFC 7638 thumbprint) of the doctor's key.
    pub kid: String,
    /// The signed doctor credential (`SPONDON:1:…`).
    pub credential: String,
}

fn printable(field: &'static str, v: &str, max: usize) -> Result<String> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(PeerError::field(
            field,
            format!("must be 1–{max} printable characters"),
        ));
    }
    Ok(t.to_owned())
}

fn check_date(field: &'static str, v: &str) -> Result<String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(v, &fmt)
        .map_err(|_| PeerError::field(field, "must be a date YYYY-MM-DD"))?;
    let today = time::OffsetDateTime::now_utc().date();
    if d > today || d.year() < 1900 {
        return Err(PeerError::field(field, "must be between 1900 and today"));
    }
    Ok(v.to_owned())
}

/// Normalizes a Bangladeshi mobile number to `+8801XXXXXXXXX`.
pub fn normalize_phone(v: &str) -> Result<String> {
    let digits: String = v.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let local = digits
        .strip_prefix("+880")
        .map(|r| format!("0{r}"))
        .unwrap_or(digits);
    let ok = local.len() == 11
        && local.starts_with("01")
        && matches!(local.as_bytes()[2], b'3'..=b'9')
        && local.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(PeerError::field(
            "phone",
            "must be a Bangladeshi mobile number (01XXXXXXXXX)",
        ));
    }
    Ok(format!("+88{local}"))
}

impl NewPatient {
    /// Validates and normalizes every field.
    pub fn validated(&self) -> Result<NewPatient> {
        let sex = match self.sex.as_str() {
            s @ ("male" | "female" | "other" | "unknown") => s.to_owned(),
            _ => {
                return Err(PeerError::field(
                    "sex",
                    "must be male, female, other or unknown",
                ));
            }
        };
        let nid = self.national_id.trim();
        if !matches!(nid.len(), 10 | 13 | 17) || !nid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeerError::field(
                "national_id",
                "must be an NID (10, 13 or 17 digits) or a 17-digit birth registration number",
            ));
        }
        let district = DISTRICTS
            .iter()
            .find(|d| d.eq_ignore_ascii_case(self.district.trim()))
            .ok_or_else(|| PeerError::field("district", "is not a district of Bangladesh"))?;
        Ok(NewPatient {
            name: printable("name", &self.name, 100)?,
            birth_date: check_date("birth_date", &self.birth_date)?,
            sex,
            national_id: nid.to_owned(),
            phone: normalize_phone(&self.phone)?,
            district: (*district).to_owned(),
            upazila: printable("upazila", &self.upazila, 60)?,
        })
    }
}

/// A fresh Health ID: 13 random digits and a Luhn check digit, shown as `XXXX-XXXX-XXXX-XX`.
fn new_health_id() -> Result<String> {
    let raw: [u8; 16] = spondon_core::keys::random_bytes()?;
    let mut digits: Vec<u32> = raw.iter().take(13).map(|b| u32::from(*b) % 10).collect();
    if digits[0] == 0 {
        digits[0] = 1 + u32::from(raw[13]) % 9;
    }
    digits.push(luhn_check_digit(&digits));
    let s: String = digits
        .iter()
        .filter_map(|d| char::from_digit(*d, 10))
        .collect();
    Ok(format!(
        "{}-{}-{}-{}",
        &s[0..4],
        &s[4..8],
        &s[8..12],
        &s[12..14]
    ))
}

fn luhn_check_digit(digits: &[u32]) -> u32 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Whether `id` has the Health ID form with a valid check digit.
pub fn is_health_id(id: &str) -> bool {
    let digits: Vec<u32> = id
        .chars()
        .filter(|c| *c != '-')
        .filter_map(|c| c.to_digit(10))
        .collect();
    id.len() == 17
        && digits.len() == 14
        && id.chars().enumerate().all(|(i, c)| {
            if matches!(i, 4 | 9 | 14) {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
        && digits
            .split_last()
            .is_some_and(|(last, rest)| luhn_check_digit(rest) == *last)
}

const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time enrollment code: 10 Crockford base32 characters (50 bits), `XXXXX-XXXXX`.
fn new_enrollment_code() -> Result<String> {
    let raw: [u8; 10] = spondon_core::keys::random_bytes()?;
    let c: String = raw
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(format!("{}-{}", &c[..5], &c[5..]))
}

impl Peer {
    /// Registers a patient and issues a one-time enrollment code.
    pub async fn register_patient(&self, p: &NewPatient) -> Result<PatientRegistered> {
        self.register_patient_keyed(p, None).await
    }

    /// [`Peer::register_patient`] with a staff write's `Idempotency-Key`, stored (with the Health
    /// ID, never the code) in the registration's transaction; see docs/peer.md, "Retries: `Idempotency-Key`".
    pub async fn register_patient_keyed(
        &self,
        p: &NewPatient,
        key: Option<&WriteKey>,
    ) -> Result<PatientRegistered> {
        let p = p.validated()?;
        // A unique violation is either this NID (registered already, perhaps concurrently) or,
        // with odds of 1 in 10^13 per pair, a Health ID collision: then draw again.
        for _ in 0..3 {
            match self.try_register_patient(&p, key).await {
                Err(PeerError::DuplicatePatient)
                    if !self.nid_registered(&p.national_id).await? =>
                {
                    continue;
                }
                other => return other,
            }
        }
        Err(PeerError::Integrity(
            "could not draw a free Health ID".into(),
        ))
    }

    async fn nid_registered(&self, nid: &str) -> Result<bool> {
        db::patients::nid_registered(&self.db, nid).await
    }

    async fn try_register_patient(
        &self,
        p: &NewPatient,
        key: Option<&WriteKey>,
    ) -> Result<PatientRegistered> {
        let health_id = new_health_id()?;
        let code = new_enrollment_code()?;
        let now = NumericDate::now().seconds();
        let expires = now + ENROLLMENT_CODE_LIFETIME;
        let text = format!("SPONDON-ENROLL:1:{code}:{health_id}:{}", self.config.url);
        let qr = spondon_core::qr::encode(&text)
            .map_err(|e| PeerError::Integrity(format!("enrollment QR: {e}")))?;
        let row = db::patients::PatientRow {
            name: p.name.clone(),
            birth_date: p.birth_date.clone(),
            sex: p.sex.clone(),
            national_id: p.national_id.clone(),
            phone: p.phone.clone(),
            district: p.district.clone(),
            upazila: p.upazila.clone(),
        };
        let answer = serde_json::json!({"health_id": health_id});
        let res: std::result::Result<(), sqlx::Error> = async {
            let mut t = db::Transaction::begin(&self.db).await?;
            let mut tx = t.tx();
            db::patients::insert_patient(&mut tx, &health_id, &row, now).await?;
            db::patients::insert_code(&mut tx, &token_hash(&code), &health_id, expires).await?;
            db::staff::insert_write_key(&mut tx, key, &answer, now).await?;
            t.commit().await
        }
        .await;
        match res {
            Ok(()) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(PeerError::DuplicatePatient);
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!("patient registered");
        Ok(PatientRegistered {
            health_id,
            enrollment_code: code,
            enrollment_code_expires: expires,
            enrollment_text: text,
            enrollment_qr_svg: qr.to_svg(),
        })
    }

    /// A new one-time enrollment code for a registered patient (a new phone): earlier unused
    /// codes stop working; the old key binding is revoked when the new code is redeemed.
    pub async fn new_enrollment_code(&self, health_id: &str) -> Result<PatientRegistered> {
        self.new_enrollment_code_keyed(health_id, None).await
    }

    /// [`Peer::new_enrollment_code`] with a staff write's `Idempotency-Key`, stored (with the
    /// Health ID, never the code) in the same transaction; see docs/peer.md, "Retries: `Idempotency-Key`".
    pub async fn new_enrollment_code_keyed(
        &self,
        health_id: &str,
        key: Option<&WriteKey>,
    ) -> Result<PatientRegistered> {
        self.patient(health_id).await?;
        let code = new_enrollment_code()?;
        let now = NumericDate::now().seconds();
        let expires = now + ENROLLMENT_CODE_LIFETIME;
        let text = format!("SPONDON-ENROLL:1:{code}:{health_id}:{}", self.config.url);
        let qr = spondon_core::qr::encode(&text)
            .map_err(|e| PeerError::Integrity(format!("enrollment QR: {e}")))?;
        let mut t = db::Transaction::begin(&self.db).await?;
        let mut tx = t.tx();
        db::patients::retire_codes(&mut tx, health_id, now).await?;
        db::patients::insert_code(&mut tx, &token_hash(&code), health_id, expires).await?;
        let answer = serde_json::json!({"health_id": health_id});
        db::staff::insert_write_key(&mut tx, key, &answer, now).await?;
        t.commit().await?;
        Ok(PatientRegistered {
            health_id: health_id.to_owned(),
            enrollment_code: code,
            enrollment_code_expires: expires,
            enrollment_text: text,
            enrollment_qr_svg: qr.to_svg(),
        })
    }

    /// A registered patient.
    pub async fn patient(&self, health_id: &str) -> Result<Patient> {
        if !is_health_id(health_id) {
            return Err(PeerError::UnknownPatient);
        }
        let row = db::patients::patient(&self.db, health_id).await?;
        Ok(patient_from(
            health_id,
            row.ok_or(PeerError::UnknownPatient)?,
        ))
    }

    /// The registered patients among `health_ids`, read in one statement (an unknown one is
    /// left out: its record then reads it alone and is refused as before).
    pub(crate) async fn patients(
        &self,
        health_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, Patient>> {
        let ids: Vec<&str> = health_ids
            .iter()
            .copied()
            .filter(|h| is_health_id(h))
            .collect();
        Ok(db::patients::patients(&self.db, &ids)
            .await?
            .into_iter()
            .map(|r| (r.health_id.clone(), patient_from(&r.health_id, r.patient)))
            .collect())
    }

    /// A registered patient ([`Peer::patient`]) and, when `bmdc` is given, the registered doctor
    /// it names (`Err(UnknownDoctor)` inside when there is none, for the caller to report in its
    /// own order), read in one statement.
    pub(crate) async fn patient_and_doctor(
        &self,
        health_id: &str,
        bmdc: Option<&str>,
    ) -> Result<(Patient, Option<Result<DoctorName>>)> {
        let Some(bmdc) = bmdc else {
            return Ok((self.patient(health_id).await?, None));
        };
        if !is_health_id(health_id) {
            return Err(PeerError::UnknownPatient);
        }
        let row = db::patients::patient_and_doctor(&self.db, health_id, bmdc)
            .await?
            .ok_or(PeerError::UnknownPatient)?;
        let doctor = match (row.doctor_name, row.doctor_department) {
            (Some(name), Some(department)) => Ok(DoctorName { name, department }),
            _ => Err(PeerError::UnknownDoctor),
        };
        Ok((patient_from(health_id, row.patient), Some(doctor)))
    }

    /// Registers a doctor and signs their doctor credential.
    pub async fn register_doctor(&self, d: &NewDoctor) -> Result<DoctorRegistered> {
        self.register_doctor_keyed(d, None).await
    }

    /// [`Peer::register_doctor`] with a staff write's `Idempotency-Key`, stored with the answer
    /// in the registration's transaction; see docs/peer.md, "Retries: `Idempotency-Key`".
    pub async fn register_doctor_keyed(
        &self,
        d: &NewDoctor,
        key: Option<&WriteKey>,
    ) -> Result<DoctorRegistered> {
        let bmdc = d.bmdc_number.trim();
        let ok = (3..=12).contains(&bmdc.len())
            && bmdc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(PeerError::field(
                "bmdc_number",
                "must be 3–12 letters, digits or '-' (e.g. A-12345)",
            ));
        }
        let name = printable("name", &d.name, 100)?;
        let department = printable("department", &d.department, 100)?;
        if d.public_key.d.is_some() {
            return Err(PeerError::field(
                "public_key",
                "must not contain a private key",
            ));
        }
        let doctor_key = Es256PublicKey::from_jwk(&d.public_key)
            .map_err(|e| PeerError::field("public_key", e.to_string()))?;
        let now = NumericDate::now();
        let cred = DoctorCredential {
            hospital_id: self.config.url.clone(),
            bmdc_number: bmdc.to_owned(),
            name: name.clone(),
            department: department.clone(),
            doctor_key: doctor_key.clone(),
            issued_at: now,
            not_before: now,
            expires: now.saturating_add(DOCTOR_CREDENTIAL_LIFETIME),
        };
        let text = cred
            .sign(&self.keys.record)
            .map_err(|e| PeerError::field("doctor", e.to_string()))?;
        let jwk = serde_json::to_string(&doctor_key.to_jwk())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let answer = DoctorRegistered {
            bmdc_number: bmdc.to_owned(),
            kid: doctor_key.kid().to_owned(),
            credential: text.clone(),
        };
        let stored =
            serde_json::to_value(&answer).map_err(|e| PeerError::Integrity(e.to_string()))?;
        let res: std::result::Result<(), sqlx::Error> = async {
            let mut t = db::Transaction::begin(&self.db).await?;
            let mut tx = t.tx();
            db::doctors::insert(
                &mut tx,
                &db::doctors::NewDoctor {
                    bmdc_number: bmdc,
                    name: &name,
                    department: &department,
                    key_kid: doctor_key.kid(),
                    key_jwk: &jwk,
                    credential: &text,
                    created_at: now.seconds(),
                },
            )
            .await?;
            db::staff::insert_write_key(&mut tx, key, &stored, now.seconds()).await?;
            t.commit().await
        }
        .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(PeerError::DuplicateDoctor);
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!("doctor registered");
        Ok(answer)
    }

    /// A registered doctor's name and department.
    pub async fn doctor(&self, bmdc: &str) -> Result<DoctorName> {
        db::doctors::name(&self.db, bmdc)
            .await?
            .ok_or(PeerError::UnknownDoctor)
    }
}

fn patient_from(health_id: &str, r: db::patients::PatientRow) -> Patient {
    Patient {
        health_id: health_id.to_owned(),
        details: NewPatient {
            name: r.name,
            birth_date: r.birth_date,
            sex: r.sex,
            national_id: r.national_id,
            phone: r.phone,
            district: r.district,
            upazila: r.upazila,
        },
    }
}
