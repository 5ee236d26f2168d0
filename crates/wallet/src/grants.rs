//! Doctors (verified doctor credentials), grants, revocations and access receipts.

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;
use spondon_core::token::{
    Audience, Category, DoctorCredential, Grant, Purpose, Revocation, RevocationTarget,
    TokenClaims, TrustAnchors,
};

use crate::error::{Result, WalletError};
use crate::store::Table;
use crate::sync::{StoredReceipt, StoredRecord};
use crate::wallet::{Authorization, Wallet};

/// A doctor whose credential the wallet verified against the trust list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Doctor {
    /// The doctor's name, as their credential states it.
    pub name: String,
    /// The doctor's BMDC registration number (Bangladesh Medical and Dental Council).
    pub bmdc_number: String,
    /// The doctor's department at the issuing hospital.
    pub department: String,
    /// The id of the hospital that issued the credential, in the trust list.
    pub hospital_id: String,
    /// That hospital's display name, from the trust list.
    pub hospital_name: String,
    /// The doctor's key thumbprint (a grant's audience).
    pub kid: String,
    /// The doctor credential itself (a compact JWS), as verified.
    pub credential: String,
    /// When the credential expires (seconds since the epoch).
    pub expires: i64,
}

/// Who a new grant is for.
#[derive(Debug, Clone)]
pub enum GrantAudience {
    /// A doctor (their verified credential): bound to their key, proof of possession.
    Doctor(Doctor),
    /// Anyone with the passcode, once.
    Passcode(String),
}

/// How long a grant lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duration {
    /// One hour.
    Hour,
    /// One day (24 hours).
    Day,
    /// One week (7 days).
    Week,
    /// A month, counted as 30 days.
    Month,
    /// Any other length, in seconds (from [`Duration::parse`] with `m`, `h` or `d`).
    Seconds(i64),
}

impl Duration {
    /// The length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Duration::Hour => 3600,
            Duration::Day => 86_400,
            Duration::Week => 7 * 86_400,
            Duration::Month => 30 * 86_400,
            Duration::Seconds(s) => s,
        }
    }

    /// `1h`, `24h`, `7d`, `30d`, or a number with `m`/`h`/`d`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            WalletError::BadDuration(format!(
                "duration {s:?}: use 1h, 24h, 7d, 30d or e.g. 90m, 3d"
            ))
        };
        Ok(match s.trim() {
            "1h" => Duration::Hour,
            "24h" | "1d" => Duration::Day,
            "7d" => Duration::Week,
            "30d" => Duration::Month,
            other => {
                let (n, unit) = other.split_at(other.len().saturating_sub(1));
                let n: i64 = n.parse().map_err(|_| bad())?;
                let mul = match unit {
                    "m" => 60,
                    "h" => 3600,
                    "d" => 86_400,
                    _ => return Err(bad()),
                };
                if n <= 0 {
                    return Err(bad());
                }
                Duration::Seconds(n.checked_mul(mul).ok_or_else(bad)?)
            }
        })
    }
}

/// What to share.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Record categories to share: every record of these categories.
    pub categories: Vec<Category>,
    /// Record ids to share, in addition to the categories.
    pub record_ids: Vec<String>,
}

/// A new grant's parameters.
#[derive(Debug, Clone)]
pub struct GrantRequest {
    /// Who may use the grant.
    pub audience: GrantAudience,
    /// What it shares (categories and record ids).
    pub scope: Scope,
    /// Why it is shared; signed into the grant, shown to the peer and in receipts.
    pub purpose: Purpose,
    /// How long the grant lasts from now (at most the protocol's 400 days).
    pub duration: Duration,
    /// Peer URLs; empty = every enrolled peer.
    pub peers: Vec<String>,
    /// How many times the grant may be used; `None` = no limit. A passcode grant is always
    /// one use, whatever this says.
    pub use_limit: Option<u64>,
    /// Whether the doctor may add a prescription or note (a write-scoped grant; only for a
    /// doctor's key, never for a passcode).
    pub write: bool,
}

/// A grant as the wallet keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredGrant {
    /// base64url grant id.
    pub id: String,
    /// The signed grant (a compact JWS), as encoded in the QR code.
    pub text: String,
    /// Who the grant is for, in words: the doctor's name, BMDC number and hospital, or
    /// "anyone with the passcode (one use)".
    pub audience: String,
    /// The doctor's key id (the grant's audience); `None` for a passcode grant.
    pub audience_kid: Option<String>,
    /// Category names shared (`prescription`, `lab_report` …), sorted.
    pub categories: Vec<String>,
    /// Record ids shared in addition to the categories.
    pub record_ids: Vec<String>,
    /// The purpose's name (snake_case), as signed.
    pub purpose: String,
    /// When the wallet issued it (seconds since the epoch).
    pub issued_at: i64,
    /// From when it is valid (seconds since the epoch; the issue time).
    pub not_before: i64,
    /// When it expires (seconds since the epoch).
    pub expires: i64,
    /// The peer URLs where it can be used.
    pub peers: Vec<String>,
    /// When the wallet revoked it (seconds since the epoch); `None` while not revoked.
    pub revoked_at: Option<i64>,
    /// Write-scoped: the doctor may add a prescription or note.
    #[serde(default)]
    pub write: bool,
}

/// The state of a grant now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// Not revoked, not yet expired.
    Active,
    /// Its expiry time has passed.
    Expired,
    /// The patient revoked it.
    Revoked,
}

impl StoredGrant {
    /// The grant's status at `now` (seconds since the epoch): revoked before expired.
    pub fn status(&self, now: i64) -> GrantStatus {
        if self.revoked_at.is_some() {
            GrantStatus::Revoked
        } else if now >= self.expires {
            GrantStatus::Expired
        } else {
            GrantStatus::Active
        }
    }
}

/// Per-peer result of a revocation.
#[derive(Debug, Clone, Serialize)]
pub struct RevocationResult {
    /// The peer's URL.
    pub peer: String,
    /// Whether the peer accepted the revocation.
    pub ok: bool,
    /// Why the peer did not, in words for people; `None` when `ok`.
    pub error: Option<String>,
    /// The stable code of `error` ([`WalletError::code`]).
    pub error_code: Option<&'static str>,
}

/// A receipt in words.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptView {
    /// When the access happened (seconds since the epoch).
    pub at: i64,
    /// The URL of the peer where it happened.
    pub peer: String,
    /// Whether the peer allowed it.
    pub allowed: bool,
    /// The refusal's code, for a refused access.
    pub reason: Option<String>,
    /// Who asked, in words (a known doctor's name and BMDC number, "someone with a passcode",
    /// your delegate …).
    pub who: String,
    /// What was accessed, in words (record titles such as "prescription and lab report").
    pub what: String,
    /// The record ids the access read or wrote.
    pub records: Vec<String>,
    /// `true` when a doctor added a record under a write grant, `false` when records were read.
    pub wrote: bool,
    /// The access downloaded a document's file (`"action": "download"`).
    #[serde(default)]
    pub downloaded: bool,
    /// The id of the grant used (base64url), if any.
    pub grant_id: Option<String>,
    /// The whole receipt as one sentence for people (who, what, where, when, under which grant).
    pub text: String,
    /// An emergency (break-glass) access without a grant: shown prominently.
    pub emergency: Option<crate::sync::EmergencyInfo>,
    /// The key id of the delegate who acted for you (`docs/protocol.md` §16), if one did.
    pub delegate: Option<String>,
}

/// Renders a grant (or any Spondon token) as QR: PNG bytes, SVG text, or terminal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrFormat {
    /// PNG image bytes.
    Png,
    /// SVG document text.
    Svg,
    /// Block characters with explicit black-on-white colours (ANSI), so the code reads on a
    /// light and on a dark terminal alike.
    Terminal,
    /// Block characters without colours, for output that is not a terminal: light modules are
    /// drawn, dark ones left blank (reads on a dark background).
    TerminalPlain,
}

/// The QR rendering of `text` in `format`.
pub fn render_qr(text: &str, format: QrFormat) -> Result<Vec<u8>> {
    Ok(match format {
        QrFormat::Png => spondon_core::qr::encode(text)?.to_png(6)?,
        QrFormat::Svg => spondon_core::qr::encode(text)?.to_svg().into_bytes(),
        QrFormat::Terminal => terminal_qr(text, true)?.into_bytes(),
        QrFormat::TerminalPlain => terminal_qr(text, false)?.into_bytes(),
    })
}

/// Quiet zone of a terminal QR, in modules: two (not the standard four) so that more codes fit
/// an 80×24 terminal; phone scanners read it, the colours making the zone light.
const TERMINAL_QUIET: usize = 2;

/// Two modules per character cell (upper and lower half blocks), with the lowest error
/// correction, so that a grant fits an 80×24 terminal where its length allows.
fn terminal_qr(text: &str, colors: bool) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|e| WalletError::Internal(format!("cannot draw the QR code: {e}")))?;
    let n = code.width();
    let modules = code.to_colors();
    let size = n + 2 * TERMINAL_QUIET;
    // Dark at (row, col) of the code with its quiet zone.
    let dark = |r: usize, c: usize| {
        r >= TERMINAL_QUIET
            && c >= TERMINAL_QUIET
            && r < n + TERMINAL_QUIET
            && c < n + TERMINAL_QUIET
            && modules.get((r - TERMINAL_QUIET) * n + (c - TERMINAL_QUIET))
                == Some(&qrcode::Color::Dark)
    };
    let mut out = String::with_capacity(size * size);
    for r in (0..size).step_by(2) {
        if colors {
            out.push_str("\x1b[30;107m");
        }
        for c in 0..size {
            let (top, bottom) = (dark(r, c), r + 1 < size && dark(r + 1, c));
            // With colours, blocks are the dark modules; without, the light ones.
            let (top, bottom) = if colors {
                (top, bottom)
            } else {
                (!top, r + 1 < size && !bottom)
            };
            out.push(match (top, bottom) {
                (true, true) => '\u{2588}',
                (true, false) => '\u{2580}',
                (false, true) => '\u{2584}',
                (false, false) => ' ',
            });
        }
        if colors {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    Ok(out)
}

/// A human word for a record kind.
pub fn kind_words(kind: &str) -> &'static str {
    match kind {
        "prescription" => "prescription",
        "lab_report" => "test report",
        "diagnosis" => "diagnosis",
        "immunization" => "immunization record",
        "encounter" => "visit record",
        "payment" => "payment slip",
        "document" => "document",
        _ => "record",
    }
}

/// The grant category of a stored record: its kind's, or for a document (whose kind says
/// nothing of what it is) the category its card names (`docs/protocol.md` §18.1).
pub fn record_category(r: &crate::sync::StoredRecord) -> Option<Category> {
    if r.kind != crate::documents::DOCUMENT_KIND {
        return kind_category(&r.kind);
    }
    use serde_json::Value;
    let card = spondon_core::shc::ParsedCard::parse(&r.jws).ok()?;
    let doc = card
        .fhir_bundle()
        .get("entry")?
        .as_array()?
        .iter()
        .filter_map(|e| e.get("resource"))
        .find(|x| x.get("resourceType").and_then(Value::as_str) == Some("DocumentReference"))?;
    let code = spondon_document::category_of(doc).ok()?;
    kind_category(code)
}

/// The grant category of a record kind.
pub fn kind_category(kind: &str) -> Option<Category> {
    Some(match kind {
        "prescription" => Category::Prescription,
        "lab_report" | "lab_result" => Category::LabResult,
        "diagnosis" => Category::Diagnosis,
        "immunization" => Category::Immunization,
        "encounter" => Category::Encounter,
        "payment" => Category::Payment,
        "note" => Category::Note,
        _ => return None,
    })
}

/// Parses a category name (`prescription`, `lab_result`/`lab_report`, …).
pub fn parse_category(s: &str) -> Result<Category> {
    kind_category(s).ok_or_else(|| WalletError::UnknownWord {
        what: "category",
        value: s.to_owned(),
        allowed: "prescription, lab_result, diagnosis, immunization, encounter, payment, note",
    })
}

/// Parses a purpose name.
pub fn parse_purpose(s: &str) -> Result<Purpose> {
    Ok(match s {
        "treatment" => Purpose::Treatment,
        "visa_medical" | "visa-medical" => Purpose::VisaMedical,
        "emergency" => Purpose::Emergency,
        "referral" => Purpose::Referral,
        "insurance" => Purpose::Insurance,
        _ => {
            return Err(WalletError::UnknownWord {
                what: "purpose",
                value: s.to_owned(),
                allowed: "treatment, visa_medical, emergency, referral, insurance",
            });
        }
    })
}

fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Formats a UNIX time for people, in their time zone: `2026-11-01 14:30 +06` ([`spondon_core::time::local`]).
pub fn fmt_time(t: i64) -> String {
    spondon_core::time::local(t)
}

impl Wallet {
    /// Reads and verifies a doctor credential (`SPONDON:1:…` text or a QR image) against the
    /// trust list, and remembers the doctor.
    pub async fn add_doctor(&self, input: &[u8]) -> Result<Doctor> {
        let text = match std::str::from_utf8(input) {
            Ok(t) if spondon_core::token::is_spondon_text(t.trim()) => t.trim().to_owned(),
            _ => crate::sync::decode_qr(input)
                .await?
                .into_iter()
                .find(|t| spondon_core::token::is_spondon_text(t))
                .ok_or_else(|| {
                    WalletError::NotADoctorCredential(
                        "no Spondon doctor credential in the input".into(),
                    )
                })?,
        };
        let list = self.trust_list().await?;
        let parsed = spondon_core::token::decode_any(&text)?;
        parsed.verify(
            &TrustAnchors {
                trust_list: Some(&list),
                ..Default::default()
            },
            NumericDate::now(),
        )?;
        let TokenClaims::DoctorCredential(DoctorCredential {
            hospital_id,
            bmdc_number,
            name,
            department,
            doctor_key,
            expires,
            ..
        }) = parsed.claims
        else {
            return Err(WalletError::NotADoctorCredential(format!(
                "this is a {}, not a doctor credential",
                parsed.kind.name()
            )));
        };
        let hospital_name = list
            .hospital(&hospital_id)
            .map(|h| h.name.clone())
            .unwrap_or_else(|| hospital_id.clone());
        let d = Doctor {
            name,
            bmdc_number,
            department,
            hospital_id,
            hospital_name,
            kid: doctor_key.kid().to_owned(),
            credential: text,
            expires: expires.seconds(),
        };
        self.store.put(Table::Doctors, &d.kid, &d).await?;
        Ok(d)
    }

    /// A doctor the wallet knows, by key id or BMDC number.
    pub async fn doctor(&self, kid_or_bmdc: &str) -> Result<Doctor> {
        self.doctors()
            .await?
            .into_iter()
            .find(|d| d.kid == kid_or_bmdc || d.bmdc_number == kid_or_bmdc)
            .ok_or_else(|| WalletError::UnknownDoctor(kid_or_bmdc.to_owned()))
    }

    /// Doctors the wallet knows.
    pub async fn doctors(&self) -> Result<Vec<Doctor>> {
        let mut v: Vec<Doctor> = self.store.all(Table::Doctors).await?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    /// Creates and stores a grant, signed by the patient key. Needs a fresh [`Authorization`].
    pub async fn create_grant(
        &self,
        auth: &Authorization,
        req: &GrantRequest,
    ) -> Result<StoredGrant> {
        self.check_auth(auth)?;
        let peers: Vec<String> = if req.peers.is_empty() {
            self.peers().await?.into_iter().map(|p| p.url).collect()
        } else {
            let known: Vec<String> = self.peers().await?.into_iter().map(|p| p.url).collect();
            for p in &req.peers {
                if !known.contains(p) {
                    return Err(WalletError::NotEnrolled(p.clone()));
                }
            }
            req.peers.clone()
        };
        if peers.is_empty() {
            return Err(WalletError::NoHospitals);
        }
        let secs = req.duration.seconds();
        if secs <= 0 || secs > spondon_core::token::MAX_GRANT_LIFETIME {
            return Err(WalletError::BadDuration(
                "a grant lasts from 1 second to 400 days".into(),
            ));
        }
        let mut categories = req.scope.categories.clone();
        categories.sort();
        categories.dedup();
        let id = Grant::new_id()?;
        let (audience, label, aud_kid, use_limit) = match &req.audience {
            GrantAudience::Doctor(d) => (
                Audience::Key { kid: d.kid.clone() },
                format!("{} (BMDC {}, {})", d.name, d.bmdc_number, d.hospital_name),
                Some(d.kid.clone()),
                req.use_limit,
            ),
            GrantAudience::Passcode(p) => {
                if req.write {
                    return Err(WalletError::BadGrant(
                        "only a doctor's key can be given a grant to add records".into(),
                    ));
                }
                if p.chars().count() < spondon_core::token::MIN_PASSCODE_CHARS {
                    return Err(WalletError::BadGrant(
                        "a passcode has at least 6 characters".into(),
                    ));
                }
                (
                    Audience::Bearer,
                    "anyone with the passcode (one use)".to_owned(),
                    None,
                    Some(1),
                )
            }
        };
        let now = NumericDate::now();
        let g = Grant {
            id,
            patient_key: self.signing.public_key().clone(),
            audience,
            categories: categories.clone(),
            record_ids: req.scope.record_ids.clone(),
            write: req.write,
            purpose: req.purpose,
            issued_at: now,
            not_before: now,
            expires: now.saturating_add(secs),
            use_limit,
            peers: peers.clone(),
        };
        let text = g.sign(&self.signing)?;
        if let GrantAudience::Passcode(p) = &req.audience {
            // The grant carries no trace of the passcode: each peer holds its verifier.
            let body = spondon_protocol::PasscodeRegistration {
                grant: text.clone(),
                verifier: spondon_core::b64::encode(Grant::passcode_verifier(&id, p)),
            };
            for peer in &peers {
                let _: spondon_protocol::PasscodeRegistered = self
                    .net
                    .signed_post(&self.signing, peer, "/patient/grant-passcodes", &body)
                    .await?;
            }
        }
        let stored = StoredGrant {
            id: spondon_core::b64::encode(id),
            text,
            audience: label,
            audience_kid: aud_kid,
            categories: categories.iter().map(name_of).collect(),
            record_ids: req.scope.record_ids.clone(),
            purpose: name_of(&req.purpose),
            issued_at: now.seconds(),
            not_before: now.seconds(),
            expires: g.expires.seconds(),
            peers,
            revoked_at: None,
            write: req.write,
        };
        self.store.put(Table::Grants, &stored.id, &stored).await?;
        Ok(stored)
    }

    /// Every grant, newest first.
    pub async fn grants(&self) -> Result<Vec<StoredGrant>> {
        let mut v: Vec<StoredGrant> = self.store.all(Table::Grants).await?;
        v.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(b.id.cmp(&a.id)));
        Ok(v)
    }

    /// One grant by id (or a unique prefix of it).
    pub async fn grant(&self, id: &str) -> Result<StoredGrant> {
        let all = self.grants().await?;
        let m: Vec<_> = all.into_iter().filter(|g| g.id.starts_with(id)).collect();
        match m.len() {
            1 => Ok(m
                .into_iter()
                .next()
                .ok_or_else(|| WalletError::NotFound(id.into()))?),
            0 => Err(WalletError::NotFound(format!("grant {id}"))),
            _ => Err(WalletError::Ambiguous {
                prefix: id.to_owned(),
                what: "grant",
            }),
        }
    }

    pub(crate) async fn send_revocation(
        &self,
        text: &str,
        peers: &[String],
        on_answer: &(dyn Fn(&RevocationResult, u64, u64) + Send + Sync),
    ) -> Vec<RevocationResult> {
        let mut set = tokio::task::JoinSet::new();
        for p in peers {
            let net = self.net.clone();
            let key = self.signing.clone();
            let p = p.clone();
            let body = spondon_protocol::RevokeRequest {
                revocation: text.to_owned(),
            };
            set.spawn(async move {
                let r: Result<serde_json::Value> = net
                    .signed_post(&key, &p, "/patient/revocations", &body)
                    .await;
                match r {
                    Ok(_) => RevocationResult {
                        peer: p,
                        ok: true,
                        error: None,
                        error_code: None,
                    },
                    Err(WalletError::PeerRefused { code, .. })
                        if code == "duplicate_revocation" =>
                    {
                        RevocationResult {
                            peer: p,
                            ok: true,
                            error: None,
                            error_code: None,
                        }
                    }
                    Err(e) => RevocationResult {
                        peer: p,
                        ok: false,
                        error: Some(e.to_string()),
                        error_code: Some(e.code()),
                    },
                }
            });
        }
        let mut out = Vec::new();
        let total = peers.len() as u64;
        while let Some(r) = set.join_next().await {
            if let Ok(r) = r {
                on_answer(&r, out.len() as u64 + 1, total);
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.peer.cmp(&b.peer));
        out
    }

    /// Revokes one grant at every peer it names; reports each peer. The grant is marked revoked
    /// when at least one peer registered it (run again to retry the others).
    pub async fn revoke(&self, auth: &Authorization, id: &str) -> Result<Vec<RevocationResult>> {
        self.check_auth(auth)?;
        let mut g = self.grant(id).await?;
        let gid: [u8; 16] = spondon_core::b64::decode_array(&g.id)
            .ok_or_else(|| WalletError::Internal("stored grant id".into()))?;
        let r = Revocation {
            id: Grant::new_id()?,
            patient_key: self.signing.public_key().clone(),
            target: RevocationTarget::Grant { grant_id: gid },
            issued_at: NumericDate::now(),
        };
        let text = r.sign(&self.signing)?;
        let results = self.send_revocation(&text, &g.peers, &|_, _, _| {}).await;
        if results.iter().any(|r| r.ok) {
            g.revoked_at = Some(NumericDate::now().seconds());
            self.store.put(Table::Grants, &g.id, &g).await?;
        }
        Ok(results)
    }

    /// Revokes every grant this key issued up to now, at every enrolled peer (for a lost phone:
    /// run it from the restored wallet).
    pub async fn revoke_all(&self, auth: &Authorization) -> Result<Vec<RevocationResult>> {
        self.revoke_all_with_progress(auth, &|_, _, _| {}).await
    }

    /// [`Wallet::revoke_all`], calling `on_answer(answer, answers so far, peers)` as each peer
    /// answers.
    pub async fn revoke_all_with_progress(
        &self,
        auth: &Authorization,
        on_answer: &(dyn Fn(&RevocationResult, u64, u64) + Send + Sync),
    ) -> Result<Vec<RevocationResult>> {
        self.check_auth(auth)?;
        let now = NumericDate::now();
        let r = Revocation {
            id: Grant::new_id()?,
            patient_key: self.signing.public_key().clone(),
            // Grants issued in this very second are included.
            target: RevocationTarget::IssuedBefore {
                before: now.saturating_add(1),
            },
            issued_at: now,
        };
        let text = r.sign(&self.signing)?;
        let peers: Vec<String> = self.peers().await?.into_iter().map(|p| p.url).collect();
        let results = self.send_revocation(&text, &peers, on_answer).await;
        for mut g in self.grants().await? {
            if g.revoked_at.is_none()
                && g.issued_at <= now.seconds()
                && g.peers
                    .iter()
                    .any(|p| results.iter().any(|r| r.ok && &r.peer == p))
            {
                g.revoked_at = Some(now.seconds());
                self.store.put(Table::Grants, &g.id, &g).await?;
            }
        }
        Ok(results)
    }

    /// Access receipts in words, newest first.
    pub async fn receipts(&self) -> Result<Vec<ReceiptView>> {
        let mut receipts: Vec<StoredReceipt> = self.store.all(Table::Receipts).await?;
        receipts.sort_by(|a, b| b.at.cmp(&a.at).then(b.log_index.cmp(&a.log_index)));
        let doctors = self.doctors().await?;
        let grants = self.grants().await?;
        let records: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let peers = self.peers().await?;
        let delegate_names = self.delegations().await?;
        let mut out = Vec::with_capacity(receipts.len());
        for r in receipts {
            let grant = r
                .grant_id
                .as_ref()
                .and_then(|id| grants.iter().find(|g| &g.id == id));
            let who = match r.audience.as_ref() {
                // The doctor signed the emergency request with their registered key.
                _ if r.emergency.is_some() => r
                    .emergency
                    .as_ref()
                    .map(|e| format!("{} (BMDC {})", titled(&e.doctor_name), e.doctor_bmdc))
                    .unwrap_or_default(),
                Some(_) if !audience_proven(&r) => "someone holding this grant".to_owned(),
                Some(kid) => match doctors.iter().find(|d| &d.kid == kid) {
                    Some(d) => format!("{} (BMDC {}, {})", d.name, d.bmdc_number, d.hospital_name),
                    None => grant
                        .map(|g| g.audience.clone())
                        .unwrap_or_else(|| format!("an unknown key ({kid})")),
                },
                None => "someone with a passcode".to_owned(),
            };
            let mut kinds: Vec<String> = Vec::new();
            for id in &r.records {
                let k = records
                    .iter()
                    .find(|x| &x.id == id && x.peer.as_deref() == Some(r.peer.as_str()))
                    .map(|x| x.jws.as_str())
                    .map(crate::browse::title_of_jws)
                    .unwrap_or_else(|| "a record".to_owned());
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            let what = match kinds.len() {
                0 => "nothing".to_owned(),
                1 => kinds[0].clone(),
                _ => {
                    let (last, rest) = kinds
                        .split_last()
                        .map(|(l, r)| (l.clone(), r.join(", ")))
                        .unwrap_or_default();
                    format!("{rest} and {last}")
                }
            };
            let hospital = peers
                .iter()
                .find(|p| p.url == r.peer)
                .map(|p| p.hospital_name.clone())
                .unwrap_or_else(|| r.peer.clone());
            let under = r
                .grant_id
                .as_deref()
                .map(|g| format!(", under grant {}", short(g)))
                .unwrap_or_default();
            let allowed = r.outcome == "allowed";
            let wrote = r.action.as_deref() == Some("write");
            let downloaded = r.action.as_deref() == Some("download");
            // A delegate's pull names the delegate as its audience; a delegate's grant names
            // the doctor, and the delegate who signed it.
            let by = match &r.delegate {
                Some(kid) if r.audience.as_deref() == Some(kid.as_str()) => {
                    let name = delegate_names
                        .iter()
                        .find(|d| &d.delegate_kid == kid)
                        .map(|d| d.label.clone())
                        .unwrap_or_else(|| format!("a delegate ({})", short(kid)));
                    Some(format!("your delegate {name}"))
                }
                Some(kid) => {
                    let name = delegate_names
                        .iter()
                        .find(|d| &d.delegate_kid == kid)
                        .map(|d| d.label.clone())
                        .unwrap_or_else(|| short(kid).to_owned());
                    Some(format!("{who}, shared by your delegate {name},"))
                }
                None => None,
            };
            let who = by.unwrap_or(who);
            let rotation = (r.action.as_deref() == Some("key_rotation"))
                .then(|| {
                    r.event_json
                        .as_deref()
                        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                })
                .flatten();
            let text = if let Some(ev) = &rotation {
                let s = |k: &str| ev.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_owned();
                let how = if s("via") == "identity_check" {
                    "after an identity check at the registration desk"
                } else {
                    "on a rotation statement signed by the old key"
                };
                format!(
                    "KEY REPLACED at {hospital} on {}: the key {} was retired and {} bound {how}; every grant made with the old key stops working there. Not you? Contact {hospital} at once.",
                    fmt_time(r.at),
                    short(&s("old_kid")),
                    short(&s("new_kid")),
                )
            } else if let Some(e) = &r.emergency {
                let why = if e.details.is_empty() {
                    e.reason.clone()
                } else {
                    format!("{} — \"{}\"", e.reason, e.details)
                };
                let opened = if r.records.is_empty() {
                    "no records held there".to_owned()
                } else {
                    what.clone()
                };
                if allowed {
                    let until = e
                        .expires_at
                        .map(|t| format!(", open until {}", fmt_time(t)))
                        .unwrap_or_default();
                    format!(
                        "EMERGENCY ACCESS by {} (BMDC {}, {}) at {hospital} on {}: reason {why}; \
                         your emergency summary ({opened}), without a grant, confirmed by a second staff member{until}. \
                         Not you, or not an emergency? Dispute it: spondon emergency dispute {}",
                        titled(&e.doctor_name),
                        e.doctor_bmdc,
                        e.department,
                        fmt_time(r.at),
                        short(&e.id)
                    )
                } else {
                    format!(
                        "Emergency access by {} (BMDC {}) was refused ({}) at {hospital} on {}: reason {why}",
                        titled(&e.doctor_name),
                        e.doctor_bmdc,
                        r.reason.as_deref().unwrap_or("denied"),
                        fmt_time(r.at)
                    )
                }
            } else if allowed && wrote {
                format!(
                    "{who} added a {what} to your records at {hospital} on {}{under}",
                    fmt_time(r.at)
                )
            } else if allowed && downloaded {
                format!(
                    "{who} downloaded the file of your {what} at {hospital} on {}{under}",
                    fmt_time(r.at)
                )
            } else if allowed {
                format!(
                    "{who} viewed your {what} at {hospital} on {}{under}",
                    fmt_time(r.at)
                )
            } else {
                format!(
                    "{who} was refused ({}) at {hospital} on {}{under}",
                    r.reason.as_deref().unwrap_or("denied"),
                    fmt_time(r.at)
                )
            };
            out.push(ReceiptView {
                at: r.at,
                peer: r.peer,
                allowed,
                reason: r.reason,
                who,
                what,
                records: r.records,
                wrote,
                downloaded,
                grant_id: r.grant_id,
                text,
                emergency: r.emergency,
                delegate: r.delegate,
            });
        }
        Ok(out)
    }
}

/// Refusals a peer records only after the grant's audience key proved possession of the request
/// (`docs/protocol.md`, the order of the grant checks): only for these, and for allowed access, is
/// the doctor named in the grant the one who asked. Any other refusal (a missing or bad proof of
/// possession, an expired grant) may come from anyone holding the QR.
const REFUSED_AFTER_POSSESSION: [&str; 5] = [
    "wrong_peer",
    "patient_not_enrolled",
    "revoked",
    "use_limit_exceeded",
    "out_of_scope",
];

/// Whether a receipt's audience key proved it made the request.
pub(crate) fn audience_proven(r: &StoredReceipt) -> bool {
    r.outcome == "allowed"
        || r.reason
            .as_deref()
            .is_some_and(|c| REFUSED_AFTER_POSSESSION.contains(&c))
}

/// The first 8 characters of an id.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A doctor's name with one "Dr" before it: hospitals register names with or without the title
/// ("Dr. Nasrin Akter", "Nasrin Akter").
pub fn titled(name: &str) -> String {
    let lower = name.trim_start().to_lowercase();
    if lower.starts_with("dr.") || lower.starts_with("dr ") || lower.starts_with("prof") {
        name.trim().to_owned()
    } else {
        format!("Dr {}", name.trim())
    }
}

#[cfg(test)]
mod titled_tests {
    #[test]
    fn a_doctor_gets_one_title() {
        assert_eq!(super::titled("Dr. Rafiqul Islam"), "Dr. Rafiqul Islam");
        assert_eq!(super::titled("Rafiqul Islam"), "Dr Rafiqul Islam");
        assert_eq!(super::titled("Prof. Dr. A. Karim"), "Prof. Dr. A. Karim");
        assert_eq!(super::titled("Drishti Das"), "Dr Drishti Das");
    }
}
