//! Request and response types of every screen.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

// ---------------------------------------------------------------- shared pieces

/// A passphrase on its way from the UI to the shell. Serializes as a plain string; its `Debug`
/// prints nothing of it. The shell never sends one back.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Passphrase(pub String);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

impl From<&str> for Passphrase {
    fn from(s: &str) -> Self {
        Passphrase(s.to_owned())
    }
}

/// Text pasted by the user, or an image (PNG/JPEG, e.g. a photo or screenshot of a QR code)
/// opened or dropped on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextOrImage {
    /// Pasted text.
    Text {
        /// The text as pasted (surrounding white space is ignored).
        text: String,
    },
    /// An image holding a QR code.
    Image {
        /// The image file, base64.
        image_base64: String,
    },
}

/// The UI language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Bangla.
    Bn,
}

/// A kind of record as hospitals issue them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A prescription.
    Prescription,
    /// A test report (lab results).
    LabReport,
    /// A diagnosis.
    Diagnosis,
    /// An immunization record.
    Immunization,
    /// A visit record.
    Encounter,
    /// A payment slip.
    Payment,
    /// A doctor's note.
    Note,
    /// A document: a file (PDF, JPEG or PNG) the hospital signed, such as a lab system's report
    /// or an X-ray image.
    Document,
    /// Anything else.
    #[serde(other)]
    Other,
}

/// What a grant shares: a category of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Prescriptions.
    Prescription,
    /// Lab results and test reports.
    LabResult,
    /// Diagnoses.
    Diagnosis,
    /// Immunizations.
    Immunization,
    /// Visits.
    Encounter,
    /// Payment slips.
    Payment,
    /// Doctors' notes.
    Note,
}

/// Why a record is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Treatment.
    Treatment,
    /// A visa medical.
    VisaMedical,
    /// An emergency.
    Emergency,
    /// A referral.
    Referral,
    /// Insurance.
    Insurance,
}

/// How far a record is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustLevel {
    /// Pulled from an enrolled hospital: signature, log entry and log consistency checked
    /// (show the "verified" badge).
    Verified,
    /// Imported; the issuer is trusted and the signature valid.
    ImportedTrusted,
    /// Imported; the signature is valid but the issuer is not trusted.
    IssuerNotTrusted,
    /// Imported; the issuer's keys could not be fetched: the signature was not checked.
    SignatureNotChecked,
}

/// How a hospital broke its promises (a security alert; show it loudly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Violation {
    /// A checkpoint not signed by the hospital's log key.
    BadCheckpoint {
        /// Technical reason (English).
        reason: String,
    },
    /// An old checkpoint replayed (the log shrank).
    Rollback {
        /// Tree size already accepted.
        known: u64,
        /// Tree size now shown.
        got: u64,
    },
    /// The log was rewritten (no consistency proof).
    Fork {
        /// From this accepted size.
        from: u64,
        /// To this size.
        to: u64,
        /// Technical reason (English).
        reason: String,
    },
    /// A tampered record.
    TamperedRecord {
        /// Its log index.
        log_index: u64,
        /// Technical reason (English).
        reason: String,
    },
    /// A tampered access receipt.
    TamperedReceipt {
        /// Its log index.
        log_index: u64,
        /// Technical reason (English).
        reason: String,
    },
    /// The authority's published trust list is older than the pinned one (refused).
    TrustListRollback {
        /// Sequence of the pinned list.
        pinned: u64,
        /// Sequence of the list published.
        published: u64,
    },
}

// ---------------------------------------------------------------- status, first run, unlock

/// Whether there is a wallet and whether it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletState {
    /// No wallet yet: first run (create or restore).
    NoWallet,
    /// A wallet, locked: ask for the passphrase.
    Locked,
    /// Open.
    Unlocked,
}

/// Where the wallet's keys are kept between sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KeyProtection {
    /// The OS keychain is available (the user may keep the key there).
    Keychain {
        /// Its name, e.g. "Secret Service (GNOME Keyring)".
        name: String,
    },
    /// No keychain on this machine: the wallet opens with the passphrase only. Say so plainly.
    PassphraseOnly {
        /// Why there is no keychain (English).
        reason: String,
    },
}

/// A hospital of the consortium trust list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedHospital {
    /// Its id in the trust list.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its peer URL.
    pub peer_url: String,
}

/// The consortium trust list in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustListSummary {
    /// Who signed it: the health authority's name as the list gives it.
    pub signer: String,
    /// The key id (JWK thumbprint) of the root key it is signed with.
    pub signer_kid: String,
    /// Its sequence number (a newer list has a larger one).
    pub sequence: u64,
    /// When it was issued.
    pub issued_at: i64,
    /// When it expires, if it does.
    pub expires: Option<i64>,
    /// The hospitals it names.
    pub hospitals: Vec<TrustedHospital>,
}

/// What the app is and how it stands: the first call the UI makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    /// No wallet / locked / unlocked.
    pub state: WalletState,
    /// Whether the wallet's key is in the OS keychain (when unlocked or locked: as it was
    /// created); for a new wallet, what this machine offers.
    pub keys: KeyProtection,
    /// For an existing wallet: whether it opens from the keychain without the passphrase.
    pub key_in_keychain: bool,
    /// The UI language.
    pub language: Language,
    /// Inactivity before the wallet locks itself, in seconds (0 = never).
    pub lock_after_secs: u64,
    /// Whether the app comes configured for a consortium (trust list and root key); when not,
    /// the first-run screen asks for them.
    pub consortium_configured: bool,
    /// The trust list in use (the configured one, or the wallet's own when unlocked).
    pub trust_list: Option<TrustListSummary>,
    /// What the app runs on: phones scan with the camera and confirm with biometrics.
    #[serde(default)]
    pub platform: Platform,
    /// A `spondon:` / `spondon-enroll:` link the app was opened with and the page has not
    /// seen yet (given once); later links arrive as [`crate::event::DEEP_LINK`] events.
    #[serde(default)]
    pub opened_with: Option<String>,
}

/// The kind of device the app runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Linux, macOS or Windows.
    #[default]
    Desktop,
    /// An Android phone or tablet.
    Android,
    /// An iPhone or iPad.
    Ios,
}

impl Platform {
    /// A phone (camera scanning, biometrics, the app locks when sent to the background).
    pub fn is_mobile(self) -> bool {
        matches!(self, Platform::Android | Platform::Ios)
    }
}

/// Asks how strong a passphrase is (as the user types).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassphraseStrengthRequest {
    /// The passphrase typed so far.
    pub passphrase: Passphrase,
}

/// What to tell the user about a passphrase (closed set, for translation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrengthHint {
    /// Shorter than the minimum ([`PassphraseStrength::min_length`]): refused.
    TooShort,
    /// A well-known or easily guessed passphrase.
    Common,
    /// Mostly one character repeated, or a simple sequence (1234, abcd).
    Repetitive,
    /// Add more words.
    AddWords,
    /// Mix in digits, capitals or symbols, or add words.
    AddVariety,
    /// Good.
    Good,
    /// Strong.
    Strong,
}

/// A passphrase's strength (computed in the shell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassphraseStrength {
    /// 0 (very weak) to 4 (strong).
    pub score: u8,
    /// What to say.
    pub hint: StrengthHint,
    /// Whether the wallet accepts it (long enough).
    pub acceptable: bool,
    /// The shortest passphrase accepted, in characters.
    pub min_length: u32,
}

/// Creates the wallet (first run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWalletRequest {
    /// The new passphrase.
    pub passphrase: Passphrase,
    /// Keep the key in the OS keychain (when one is available) so the wallet opens without
    /// the passphrase on this device.
    pub keep_in_keychain: bool,
    /// The consortium trust list text, when the app has none configured.
    pub trust_list: Option<String>,
    /// The health authority's root key (JWK JSON text), with `trust_list`.
    pub root_key: Option<String>,
}

/// Restores a wallet from a backup file (first run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRequest {
    /// The backup file, base64.
    pub backup_base64: String,
    /// The passphrase the backup was made with.
    pub backup_passphrase: Passphrase,
    /// The passphrase of the restored wallet (may be the same).
    pub new_passphrase: Passphrase,
    /// Keep the key in the OS keychain.
    pub keep_in_keychain: bool,
}

/// What a restore brought back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreResult {
    /// Hospitals.
    pub hospitals: u64,
    /// Records.
    pub records: u64,
    /// Grants.
    pub grants: u64,
    /// Access receipts.
    pub receipts: u64,
    /// The app's state now (unlocked).
    pub status: AppStatus,
}

/// Opens the wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    /// The passphrase (may be empty with `biometric`).
    pub passphrase: Passphrase,
    /// On a phone that keeps the key in the platform keystore: unlock after the phone's
    /// biometric check (run by the shell) instead of the passphrase.
    #[serde(default)]
    pub biometric: bool,
}

// ---------------------------------------------------------------- hospitals and sync

/// Enrolls at a hospital with the code it gave (pasted, or its QR image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// `SPONDON-ENROLL:1:…` text, or an image of its QR code.
    pub input: TextOrImage,
}

/// A security alert about a hospital.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// When it was found.
    pub at: i64,
    /// What happened.
    pub violation: Violation,
}

/// A hospital the wallet is enrolled at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hospital {
    /// Its peer URL (its identity in the wallet).
    pub peer_url: String,
    /// Its id in the trust list.
    pub hospital_id: String,
    /// Its name.
    pub name: String,
    /// The patient's Health ID there.
    pub health_id: String,
    /// When the wallet enrolled.
    pub enrolled_at: i64,
    /// The last successful sync.
    pub last_sync: Option<i64>,
    /// Records from it in the wallet.
    pub records: u64,
    /// Security alerts (a hospital that rewrote history): show loudly when not empty.
    pub alerts: Vec<Alert>,
}

/// One hospital's result of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSyncResult {
    /// The peer URL.
    pub peer: String,
    /// The hospital's name.
    pub hospital_name: String,
    /// New records.
    pub new_records: u64,
    /// New access receipts.
    pub new_receipts: u64,
    /// Why it failed (nothing from it was kept).
    pub error: Option<ApiError>,
    /// SECURITY: the history violation found (nothing from it was kept).
    pub violation: Option<Violation>,
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSummary {
    /// One per hospital.
    pub peers: Vec<PeerSyncResult>,
}

// ---------------------------------------------------------------- records

/// The timeline's filter. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFilter {
    /// Only this kind.
    pub kind: Option<RecordKind>,
    /// Hospital name or peer URL (a case-insensitive part of it).
    pub hospital: Option<String>,
    /// Issued at or after (UNIX seconds).
    pub from: Option<i64>,
    /// Issued at or before (UNIX seconds).
    pub to: Option<i64>,
    /// Words that must all appear in the title or details (case-insensitive).
    pub text: Option<String>,
}

/// A record in the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSummary {
    /// Its id (give it to `get_record`, grants and exports).
    pub id: String,
    /// Its kind.
    pub kind: RecordKind,
    /// A short English title ("CBC report"); the UI may title by `kind` instead.
    pub title: String,
    /// When it was issued.
    pub issued_at: i64,
    /// The hospital's name (or the issuer URL).
    pub hospital: String,
    /// The issuer URL (the card's `iss`).
    pub issuer: String,
    /// How far it is trusted.
    pub trust: TrustLevel,
    /// The doctor named in it.
    pub doctor: Option<String>,
    /// The id of the record this one corrects, if any.
    pub supersedes: Option<String>,
}

/// Opens one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRequest {
    /// The record id.
    pub id: String,
}

/// A lab result outside its reference range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Abnormal {
    /// Above the range.
    High,
    /// Below the range.
    Low,
    /// Flagged abnormal by the lab.
    Abnormal,
}

/// One line of a record, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordItem {
    /// A medication.
    Medication {
        /// The drug.
        drug: String,
        /// The dose ("500 mg"), when stated apart.
        dose: Option<String>,
        /// How often ("3 times a day"), when stated apart.
        schedule: Option<String>,
        /// The full instructions as written.
        instructions: Option<String>,
    },
    /// A lab result.
    LabResult {
        /// The test.
        test: String,
        /// The value.
        value: Option<String>,
        /// The unit as written ("mg/dL").
        unit: Option<String>,
        /// The unit in words ("milligrams per decilitre"), when known.
        unit_words: Option<String>,
        /// The reference range ("4.0–11.0").
        reference_range: Option<String>,
        /// Outside the range.
        abnormal: Option<Abnormal>,
    },
    /// A diagnosis.
    Diagnosis {
        /// In words.
        text: String,
        /// Its code (ICD-10 …).
        code: Option<String>,
    },
    /// An immunization.
    Immunization {
        /// The vaccine.
        vaccine: String,
        /// When (as written, ISO 8601).
        date: Option<String>,
    },
    /// A visit.
    Visit {
        /// Outpatient, inpatient, emergency …
        class: String,
        /// When (as written, ISO 8601).
        date: Option<String>,
    },
    /// A payment.
    Payment {
        /// Amount and currency.
        total: String,
        /// When (as written).
        date: Option<String>,
    },
    /// A document's file, as the signed card describes it (the bytes: [`crate::cmd::SAVE_DOCUMENT`],
    /// [`crate::cmd::DOCUMENT_PREVIEW`]).
    Document {
        /// What kind of document ("Complete blood count", "Chest X-ray").
        kind: Option<String>,
        /// The file's title (a name to show, never a path).
        title: Option<String>,
        /// The hospital's description.
        description: Option<String>,
        /// `application/pdf`, `image/jpeg` or `image/png`.
        content_type: String,
        /// Bytes.
        size: u64,
        /// SHA-256 of the file (hex), as signed.
        sha256: String,
        /// The file is in the wallet, checked against the card (else the next sync fetches it).
        kept: bool,
    },
    /// Anything else.
    Other {
        /// The FHIR resource type.
        resource_type: String,
        /// Its text, if any.
        text: Option<String>,
    },
}

/// A document's file, checked against its signed card, for showing: images inline, other
/// files only described (the app never renders a PDF itself; save it and open it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentPreview {
    /// The record id.
    pub record_id: String,
    /// `application/pdf`, `image/jpeg` or `image/png`.
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// `data:image/…;base64,…` for an image; `None` for a PDF.
    pub image_data_url: Option<String>,
    /// "This file is the one Labaid signed on …": who signed the card naming it, and when.
    pub signed_by: String,
    /// When the card was issued.
    pub signed_at: i64,
}

/// Where a document's file was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedDocument {
    /// The record id.
    pub record_id: String,
    /// Where (absolute path).
    pub path: String,
}

/// The record's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    /// `ES256`.
    pub alg: String,
    /// The signing key's id (in the hospital's published keys).
    pub kid: String,
    /// The issuer URL.
    pub issuer: String,
}

/// A transparency-log checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// The log's origin line.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash, base64.
    pub root: String,
}

/// A witness that cosigned the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessInfo {
    /// The witness's key name.
    pub name: String,
    /// Whether it is a witness of the trust list whose cosignature verifies.
    pub verified: bool,
}

/// Why a record is "verified": what was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordProof {
    /// The hospital's signature.
    pub signature: SignatureInfo,
    /// The record's entry in the hospital's log.
    pub log_index: u64,
    /// The checkpoint it is included in.
    pub checkpoint: CheckpointInfo,
    /// The witnesses that cosigned that checkpoint.
    pub witnesses: Vec<WitnessInfo>,
}

/// One record, in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDetail {
    /// The timeline fields.
    pub summary: RecordSummary,
    /// Medications, results, diagnoses … in order.
    pub items: Vec<RecordItem>,
    /// The proof (records pulled from a hospital); `None` for imported cards.
    pub proof: Option<RecordProof>,
}

// ---------------------------------------------------------------- doctors and grants

/// Adds a doctor from their credential (pasted `SPONDON:1:…` text or its QR image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddDoctorRequest {
    /// The credential.
    pub input: TextOrImage,
}

/// A doctor whose credential the wallet verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorInfo {
    /// Their key id (what `create_grant` takes).
    pub kid: String,
    /// Name.
    pub name: String,
    /// BMDC registration number.
    pub bmdc_number: String,
    /// Department.
    pub department: String,
    /// The hospital that vouches for them: id.
    pub hospital_id: String,
    /// The hospital's name.
    pub hospital_name: String,
    /// When the credential expires.
    pub expires: i64,
}

/// Shares records with a doctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGrantRequest {
    /// The doctor (from `list_doctors` / `add_doctor`).
    pub doctor_kid: String,
    /// Categories shared (may be empty when `record_ids` is not).
    pub categories: Vec<Category>,
    /// Single records shared.
    pub record_ids: Vec<String>,
    /// Why.
    pub purpose: Purpose,
    /// How long, in seconds (60 to 400 days).
    pub duration_secs: u64,
    /// Whether the doctor may add a prescription or note.
    pub write: bool,
    /// The passphrase, asked before signing (may be empty with `confirm_with_biometrics`).
    pub passphrase: Passphrase,
    /// On a phone whose wallet key is in the platform keystore: confirm with the phone's
    /// biometric check (done by the app's shell, not the page) instead of the passphrase.
    #[serde(default)]
    pub confirm_with_biometrics: bool,
}

/// The state of a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    /// In force.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// A grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInfo {
    /// Its id.
    pub id: String,
    /// The doctor's name (or who it is for, in English).
    pub doctor_name: String,
    /// The doctor's key id.
    pub doctor_kid: Option<String>,
    /// Categories shared.
    pub categories: Vec<Category>,
    /// Single records shared.
    pub record_ids: Vec<String>,
    /// Why.
    pub purpose: Purpose,
    /// Whether the doctor may add a prescription or note.
    pub write: bool,
    /// When it was made.
    pub issued_at: i64,
    /// When it ends (the UI counts down to it).
    pub expires: i64,
    /// The hospitals it is valid at (peer URLs).
    pub peers: Vec<String>,
    /// Its state now.
    pub status: GrantStatus,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// A new grant, to show as a large QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantCreated {
    /// The grant.
    pub grant: GrantInfo,
    /// The QR code, an SVG document (insert as an image or inline).
    pub qr_svg: String,
    /// The grant's text (what the QR holds), for copying.
    pub text: String,
}

/// Lists grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListGrantsRequest {
    /// Only grants in force.
    pub active_only: bool,
}

/// Revokes one grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// The grant id.
    pub grant_id: String,
    /// The passphrase.
    pub passphrase: Passphrase,
}

/// Revokes every grant (lost phone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeAllRequest {
    /// The passphrase.
    pub passphrase: Passphrase,
}

/// One hospital's answer to a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAnswer {
    /// The peer URL.
    pub peer: String,
    /// The hospital's name.
    pub hospital_name: String,
    /// Whether it registered the revocation.
    pub ok: bool,
    /// Why not.
    pub error: Option<ApiError>,
}

/// What a revocation did. A grant counts as revoked once one hospital registered it; run it
/// again to retry the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeResult {
    /// One answer per hospital.
    pub answers: Vec<PeerAnswer>,
}

// ---------------------------------------------------------------- access log

/// Who accessed records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Accessor {
    /// A doctor the wallet knows.
    Doctor {
        /// Name.
        name: String,
        /// BMDC number.
        bmdc_number: String,
        /// Their hospital.
        hospital_name: String,
    },
    /// A key the wallet does not know.
    UnknownKey {
        /// Its key id.
        kid: String,
    },
    /// Someone with a passcode.
    Passcode,
    /// Someone holding a grant who was refused before proving they hold its doctor's key (a
    /// photographed QR, say): the doctor named in the grant is not said to have asked.
    GrantHolder,
}

/// A record named in a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    /// The record id.
    pub id: String,
    /// Its kind, when the record is in the wallet.
    pub kind: Option<RecordKind>,
    /// Its English title, when the record is in the wallet.
    pub title: Option<String>,
}

/// An access receipt, structured for translation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// When.
    pub at: i64,
    /// Where: the peer URL.
    pub peer: String,
    /// Where: the hospital's name.
    pub hospital_name: String,
    /// Who.
    pub who: Accessor,
    /// What.
    pub records: Vec<ReceiptRecord>,
    /// Whether access was allowed.
    pub allowed: bool,
    /// `true` when the doctor added a record under a write grant (the records are what was
    /// added), `false` when records were read.
    #[serde(default)]
    pub wrote: bool,
    /// The access downloaded a document's file (not set by peers older than documents).
    #[serde(default)]
    pub downloaded: bool,
    /// Why it was refused (the peer's code, e.g. `grant_revoked`).
    pub reason: Option<String>,
    /// Under which grant.
    pub grant_id: Option<String>,
    /// The whole sentence in English ("Dr. … viewed your CBC report at … on …").
    pub text: String,
    /// Set for an emergency (break-glass) access: opened without a grant, so the app shows it
    /// first and prominently, with a way to dispute it.
    #[serde(default)]
    pub emergency: Option<EmergencyReceipt>,
}

/// An emergency (break-glass) access, as the hospital logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyReceipt {
    /// The access id (what a dispute names).
    pub access_id: String,
    /// The doctor's name, as the hospital registered them.
    pub doctor_name: String,
    /// The doctor's BMDC number.
    pub doctor_bmdc: String,
    /// The doctor's department.
    pub department: String,
    /// The stated reason.
    pub reason: EmergencyReason,
    /// The doctor's own words.
    pub details: String,
    /// Until when the access lasted.
    pub expires_at: Option<i64>,
    /// When the patient disputed it from this wallet, if they did.
    pub disputed_at: Option<i64>,
}

/// Why a doctor opened the emergency summary (the fixed list of `docs/protocol.md` §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmergencyReason {
    /// The patient was unconscious.
    Unconscious,
    /// The patient could not communicate.
    CannotCommunicate,
    /// A life-threatening condition.
    LifeThreatening,
    /// The patient's wallet was not available.
    NoWalletAvailable,
    /// Another reason (the details say which).
    Other,
}

// ---------------------------------------------------------------- emergency access setting

/// Who may open the patient's emergency summary without a grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmergencyMode {
    /// A registered doctor at any member hospital (the default).
    #[default]
    Allow,
    /// Nobody.
    OptOut,
    /// Only doctors of the hospitals named.
    Only,
}

/// The emergency access setting and where it is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyPolicyInfo {
    /// The choice.
    pub mode: EmergencyMode,
    /// The hospitals allowed (mode `only`): peer URLs.
    pub hospitals: Vec<String>,
    /// When it was chosen; `None` when never set (every hospital then allows it).
    pub set_at: Option<i64>,
    /// Enrolled hospitals that have not confirmed this setting yet (it is sent again at every
    /// sync until they do): their names.
    pub pending: Vec<String>,
}

/// Sets the emergency access setting and sends it to every enrolled hospital.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetEmergencyPolicyRequest {
    /// The choice.
    pub mode: EmergencyMode,
    /// The hospitals allowed (mode `only`, at least one): peer URLs from the trust list.
    pub hospitals: Vec<String>,
    /// The passphrase.
    pub passphrase: Passphrase,
}

/// What setting the emergency access policy did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetEmergencyPolicyResult {
    /// The setting now.
    pub policy: EmergencyPolicyInfo,
    /// One answer per enrolled hospital (those not reached get it at the next sync).
    pub answers: Vec<PeerAnswer>,
}

/// Disputes an emergency access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeEmergencyRequest {
    /// The access id ([`EmergencyReceipt::access_id`]).
    pub access_id: String,
    /// Why, in the patient's words (1–1000 characters).
    pub text: String,
    /// The passphrase.
    pub passphrase: Passphrase,
}

/// A dispute the hospital registered (its admin sees it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeEmergencyResult {
    /// The hospital's name.
    pub hospital_name: String,
    /// The access id.
    pub access_id: String,
    /// When the hospital registered the dispute.
    pub disputed_at: i64,
}

// ---------------------------------------------------------------- export and import

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// A printable PDF whose QR lets the receiver verify it.
    Pdf,
    /// A `.smart-health-card` file with the log proofs, verifiable offline.
    Shc,
    /// A SMART Health Link (needs `link_url`).
    Shl,
}

/// Exports records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    /// Records to export; empty: every verified record (narrowed by the fields below).
    pub record_ids: Vec<String>,
    /// Only these categories (`prescription`, `lab_result`, `diagnosis`, `immunization`,
    /// `encounter`, `payment`, `note`); empty: all but payment slips.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Only records issued on or after this day (`YYYY-MM-DD`, in the user's time zone).
    #[serde(default)]
    pub since: Option<String>,
    /// Only records issued on or before this day (`YYYY-MM-DD`, in the user's time zone).
    #[serde(default)]
    pub until: Option<String>,
    /// Include payment slips.
    #[serde(default)]
    pub include_payments: bool,
    /// Passport number printed on the PDF's cover as self-declared (not signed, not in the file).
    #[serde(default)]
    pub passport: Option<String>,
    /// National ID (NID) number printed on the PDF's cover as self-declared.
    #[serde(default)]
    pub national_id: Option<String>,
    /// The verification page printed on the PDF's cover (e.g. a clinic's document check).
    #[serde(default)]
    pub verify_url: Option<String>,
    /// The formats wanted (at least one).
    pub formats: Vec<ExportFormat>,
    /// Include the share receipts of these records.
    pub include_receipts: bool,
    /// For [`ExportFormat::Shl`]: the https URL where the encrypted file will be hosted.
    pub link_url: Option<String>,
    /// The passphrase.
    pub passphrase: Passphrase,
}

/// A file the app saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFile {
    /// Which format.
    pub format: ExportFormat,
    /// Where (absolute path).
    pub path: String,
}

/// One card's verification in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardVerdict {
    /// The issuer URL.
    pub issuer: String,
    /// The issuer's name.
    pub issuer_name: Option<String>,
    /// Whether it verified (signature, issuer, log proof).
    pub valid: bool,
    /// Problems found (English).
    pub problems: Vec<String>,
}

/// The offline verification of an export, as the receiving office would run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportVerdict {
    /// Everything verifies.
    pub valid: bool,
    /// Per card.
    pub cards: Vec<CardVerdict>,
    /// Problems that belong to no single card (English).
    pub problems: Vec<String>,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportResult {
    /// The saved files.
    pub files: Vec<SavedFile>,
    /// The verification (files are saved only when it is valid).
    pub verdict: ExportVerdict,
    /// Records exported.
    pub records: u64,
    /// Receipts exported.
    pub receipts: u64,
    /// The SMART Health Link (`shlink:/…`, holds the decryption key) when asked for.
    pub link: Option<String>,
    /// The link as a QR code (SVG).
    pub link_qr_svg: Option<String>,
}

/// What to import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImportInput {
    /// A `.smart-health-card` (or any JSON/text) file.
    File {
        /// The file, base64.
        file_base64: String,
    },
    /// A QR image.
    Image {
        /// The image, base64.
        image_base64: String,
    },
    /// Pasted `shc:/…` text (or a JWS).
    Text {
        /// The text.
        text: String,
    },
}

/// Imports SMART Health Cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The input.
    pub input: ImportInput,
    /// Fetch an untrusted issuer's published keys to check the signature.
    pub fetch_keys: bool,
}

/// One imported card's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedCard {
    /// Its record id.
    pub id: String,
    /// The issuer URL.
    pub issuer: String,
    /// The verdict.
    pub trust: TrustLevel,
    /// The verdict in English.
    pub status: String,
    /// Already in the wallet.
    pub already_present: bool,
}

/// What an import did (all or nothing: a card that fails verification refuses the whole import
/// with `bad_card`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResult {
    /// One per card.
    pub cards: Vec<ImportedCard>,
}

// ---------------------------------------------------------------- settings

/// The settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The UI language.
    pub language: Language,
    /// Inactivity before the wallet locks itself, in seconds (0 = never).
    pub lock_after_secs: u64,
    /// The trust list (when unlocked, or configured).
    pub trust_list: Option<TrustListSummary>,
    /// Where exports and backups are saved.
    pub export_dir: String,
    /// Where the wallet lives.
    pub wallet_dir: String,
    /// Where the key is kept.
    pub keys: KeyProtection,
}

/// Changes settings (fields left `None` stay).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateSettingsRequest {
    /// The UI language.
    pub language: Option<Language>,
    /// Inactivity lock in seconds (0 = never, else 30 to 86 400).
    pub lock_after_secs: Option<u64>,
}

/// Installs a newer trust list (signed by the pinned root key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateTrustListRequest {
    /// The trust list text.
    pub trust_list: String,
}

/// Makes a backup now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRequest {
    /// The wallet passphrase (the backup is sealed with it).
    pub passphrase: Passphrase,
}

/// Where the backup went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupResult {
    /// Absolute path of the backup file.
    pub path: String,
}

/// Changes the passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePassphraseRequest {
    /// The current passphrase.
    pub old: Passphrase,
    /// The new one.
    pub new: Passphrase,
}

/// About the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct About {
    /// The app's version.
    pub version: String,
    /// The IPC contract's version (this crate's).
    pub api_version: String,
    /// Where the wallet lives.
    pub wallet_dir: String,
}

/// The version of this contract.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes_are_as_documented() {
        let r = EnrollRequest {
            input: TextOrImage::Text { text: "x".into() },
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"input":{"type":"text","text":"x"}}"#
        );
        let k: RecordKind = serde_json::from_str(r#""something_new""#).unwrap();
        assert_eq!(k, RecordKind::Other);
        assert_eq!(
            serde_json::to_string(&Category::LabResult).unwrap(),
            r#""lab_result""#
        );
        let p = Passphrase("secret words".into());
        assert!(!format!("{p:?}").contains("secret"));
        assert_eq!(serde_json::to_string(&p).unwrap(), r#""secret words""#);
    }

    #[test]
    fn command_names_are_unique_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in crate::cmd::ALL {
            assert!(
                c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{c}"
            );
            assert!(seen.insert(c), "{c} twice");
        }
    }
}

// ---------------------------------------------------------------- lost phone

/// Lost or stolen phone: from this (restored) wallet, revoke everything the old key signed at
/// every hospital and move the wallet to a new key. Run again until `complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostPhoneRequest {
    /// The passphrase (the new key is sealed with it).
    pub passphrase: Passphrase,
}

/// How one hospital ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostPhoneStatus {
    /// Every grant revoked and the new key bound there, now.
    Rotated,
    /// Done on an earlier run.
    AlreadyDone,
    /// The old key was already retired there by someone else: only a new enrollment code from
    /// the hospital's registration desk (after an identity check) can bind the new key.
    IdentityCheckNeeded,
    /// Not done (unreachable or refused): run again.
    Failed,
}

/// One hospital's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostPhoneHospital {
    /// The peer URL.
    pub peer: String,
    /// The hospital's name.
    pub hospital_name: String,
    /// How it ended.
    pub status: LostPhoneStatus,
    /// Why, when not done.
    pub error: Option<ApiError>,
}

/// What the lost-phone procedure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostPhoneResult {
    /// One line per enrolled hospital.
    pub hospitals: Vec<LostPhoneHospital>,
    /// Grants marked revoked in this wallet.
    pub grants_revoked: u64,
    /// Every hospital is done: the old key is refused everywhere.
    pub complete: bool,
}

/// A key change in progress or finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotationInfo {
    /// When it started.
    pub started_at: i64,
    /// When every hospital was done.
    pub completed_at: Option<i64>,
    /// Hospitals done (names).
    pub done: Vec<String>,
    /// Hospitals still to do (names).
    pub pending: Vec<String>,
}

/// Binds the wallet's new key at a hospital with a new enrollment code from its registration
/// desk (after an identity check), when the old key cannot sign there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebindRequest {
    /// The new code (text or its QR image).
    pub input: TextOrImage,
    /// The passphrase.
    pub passphrase: Passphrase,
}

// ---------------------------------------------------------------- family (delegates)

/// What a delegate may do for the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelegateScope {
    /// See the records and the access log.
    View,
    /// Share records with a doctor.
    Share,
    /// Manage shares (revoke them).
    Manage,
}

/// This wallet's key as a family member gives it to the patient who delegates to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegateKey {
    /// The text to give (a public key; nothing secret).
    pub text: String,
    /// The same as a QR code, an SVG document.
    pub qr_svg: String,
}

/// Lets a family member's wallet act for the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDelegationRequest {
    /// The family member's key text ([`DelegateKey::text`] of their wallet).
    pub delegate_key: String,
    /// A name for them ("Amma").
    pub label: String,
    /// What they may do.
    pub scopes: Vec<DelegateScope>,
    /// The categories they may see and share; empty: all.
    pub categories: Vec<Category>,
    /// For how long, in days (1 to 400).
    pub days: u32,
    /// The patient is a child and the family member a guardian.
    pub minor: bool,
    /// The passphrase.
    pub passphrase: Passphrase,
}

/// A delegation this wallet gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationInfo {
    /// Its id.
    pub id: String,
    /// The family member's name.
    pub label: String,
    /// What they may do.
    pub scopes: Vec<DelegateScope>,
    /// The categories; empty: all.
    pub categories: Vec<Category>,
    /// When it was given.
    pub issued_at: i64,
    /// When it ends.
    pub expires: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// The text to give the family member (their wallet adds it).
    pub text: String,
    /// The same as a QR code, an SVG document.
    pub qr_svg: String,
}

/// Revokes a delegation at every hospital.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeDelegationRequest {
    /// Its id.
    pub id: String,
    /// The passphrase.
    pub passphrase: Passphrase,
}

/// Adds a delegation a patient gave this wallet (pasted text or its QR image).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddDelegationRequest {
    /// The delegation.
    pub input: TextOrImage,
    /// A name for the patient, for this wallet's lists ("Abba").
    pub label: String,
}

/// A patient this wallet may act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedPatientInfo {
    /// The delegation id.
    pub id: String,
    /// The name this wallet gave the patient.
    pub label: String,
    /// What this wallet may do.
    pub scopes: Vec<DelegateScope>,
    /// The categories; empty: all.
    pub categories: Vec<Category>,
    /// The patient is a child (this wallet's owner is a guardian).
    pub minor: bool,
    /// When it ends.
    pub expires: i64,
    /// The hospitals (names).
    pub hospitals: Vec<String>,
}

/// Names a delegated patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRequest {
    /// The delegation id.
    pub id: String,
}

/// A record of a delegated patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRecord {
    /// The record id.
    pub id: String,
    /// Its kind.
    pub kind: RecordKind,
    /// Its title in English.
    pub title: String,
    /// When it was issued.
    pub issued_at: i64,
    /// The hospital's name.
    pub hospital_name: String,
}

/// A delegated patient's records and receipts, verified against the hospitals' logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegateSyncResult {
    /// The records (newest first).
    pub records: Vec<DelegatedRecord>,
    /// How many access receipts.
    pub receipts: u64,
    /// Hospitals that could not be read.
    pub failures: Vec<PeerAnswer>,
}

/// Shares a delegated patient's records with a doctor: a grant signed by this wallet that
/// carries the patient's delegation (both signatures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareAsDelegateRequest {
    /// The delegation id.
    pub id: String,
    /// The doctor (from `list_doctors`).
    pub doctor_kid: String,
    /// The categories (within the delegation's).
    pub categories: Vec<Category>,
    /// How long, in seconds (within the delegation's lifetime).
    pub duration_secs: u64,
    /// The passphrase.
    pub passphrase: Passphrase,
}
