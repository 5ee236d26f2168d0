//! The wallet seen through the app's IPC types (`spondon-app-api`): conversions from the
//! engine's types, and the few queries that assemble a screen's data in one call, so that each
//! Tauri command stays one line.

use std::collections::BTreeMap;

use spondon_app_api as api;
use spondon_core::token::{Category, Purpose, Scope as DelegationScope, TrustList};

use crate::browse::{Item, ProofView, RecordView};
use crate::delegates::{DelegatedPatient, StoredDelegation};
use crate::emergency::EmergencyMode;
use crate::error::{Violation, WalletError};
use crate::grants::{Doctor, GrantStatus, RevocationResult, StoredGrant};
use crate::import::ImportOutcome;
use crate::lost_phone::{HospitalOutcome, HospitalResult};
use crate::passphrase_strength::{Hint, Strength};
use crate::progress::{Progress, Step};
use crate::store::Table;
use crate::sync::{
    Alert, EmergencyInfo, PeerState, StoredReceipt, StoredRecord, SyncEvent, SyncReport, Trust,
};
use crate::wallet::{Authorization, Wallet};
use crate::{Result, grants};

impl From<&WalletError> for api::ApiError {
    fn from(e: &WalletError) -> Self {
        api::ApiError::new(e.code(), e.to_string())
    }
}

impl From<WalletError> for api::ApiError {
    fn from(e: WalletError) -> Self {
        api::ApiError::from(&e)
    }
}

impl From<&Trust> for api::TrustLevel {
    fn from(t: &Trust) -> Self {
        match t {
            Trust::Verified => api::TrustLevel::Verified,
            Trust::ImportedTrusted => api::TrustLevel::ImportedTrusted,
            Trust::IssuerNotTrusted => api::TrustLevel::IssuerNotTrusted,
            Trust::SignatureNotChecked => api::TrustLevel::SignatureNotChecked,
        }
    }
}

impl From<&Violation> for api::Violation {
    fn from(v: &Violation) -> Self {
        match v.clone() {
            Violation::BadCheckpoint { reason } => api::Violation::BadCheckpoint { reason },
            Violation::Rollback { known, got } => api::Violation::Rollback { known, got },
            Violation::Fork { from, to, reason } => api::Violation::Fork { from, to, reason },
            Violation::TamperedRecord { log_index, reason } => {
                api::Violation::TamperedRecord { log_index, reason }
            }
            Violation::TamperedReceipt { log_index, reason } => {
                api::Violation::TamperedReceipt { log_index, reason }
            }
            Violation::TrustListRollback { pinned, published } => {
                api::Violation::TrustListRollback { pinned, published }
            }
        }
    }
}

/// The app's kind for a wallet record kind.
pub fn record_kind(kind: &str) -> api::RecordKind {
    match kind {
        "prescription" => api::RecordKind::Prescription,
        "lab_report" | "lab_result" => api::RecordKind::LabReport,
        "diagnosis" => api::RecordKind::Diagnosis,
        "immunization" => api::RecordKind::Immunization,
        "encounter" => api::RecordKind::Encounter,
        "payment" => api::RecordKind::Payment,
        "note" => api::RecordKind::Note,
        "document" => api::RecordKind::Document,
        _ => api::RecordKind::Other,
    }
}

/// The wallet's kind name for the app's kind (for filters).
pub fn kind_name(kind: api::RecordKind) -> &'static str {
    match kind {
        api::RecordKind::Prescription => "prescription",
        api::RecordKind::LabReport => "lab_report",
        api::RecordKind::Diagnosis => "diagnosis",
        api::RecordKind::Immunization => "immunization",
        api::RecordKind::Encounter => "encounter",
        api::RecordKind::Payment => "payment",
        api::RecordKind::Note => "note",
        api::RecordKind::Document => "document",
        api::RecordKind::Other => "record",
    }
}

/// The grant category of the app's category.
pub fn category(c: api::Category) -> Category {
    {
        match c {
            api::Category::Prescription => Category::Prescription,
            api::Category::LabResult => Category::LabResult,
            api::Category::Diagnosis => Category::Diagnosis,
            api::Category::Immunization => Category::Immunization,
            api::Category::Encounter => Category::Encounter,
            api::Category::Payment => Category::Payment,
            api::Category::Note => Category::Note,
        }
    }
}

fn api_category(name: &str) -> Option<api::Category> {
    Some(match grants::kind_category(name)? {
        Category::Prescription => api::Category::Prescription,
        Category::LabResult => api::Category::LabResult,
        Category::Diagnosis => api::Category::Diagnosis,
        Category::Immunization => api::Category::Immunization,
        Category::Encounter => api::Category::Encounter,
        Category::Payment => api::Category::Payment,
        Category::Note => api::Category::Note,
    })
}

/// The grant purpose of the app's purpose.
pub fn purpose(p: api::Purpose) -> Purpose {
    {
        match p {
            api::Purpose::Treatment => Purpose::Treatment,
            api::Purpose::VisaMedical => Purpose::VisaMedical,
            api::Purpose::Emergency => Purpose::Emergency,
            api::Purpose::Referral => Purpose::Referral,
            api::Purpose::Insurance => Purpose::Insurance,
        }
    }
}

fn api_purpose(name: &str) -> api::Purpose {
    match name {
        "visa_medical" => api::Purpose::VisaMedical,
        "emergency" => api::Purpose::Emergency,
        "referral" => api::Purpose::Referral,
        "insurance" => api::Purpose::Insurance,
        _ => api::Purpose::Treatment,
    }
}

impl From<&RecordView> for api::RecordSummary {
    fn from(v: &RecordView) -> Self {
        api::RecordSummary {
            id: v.id.clone(),
            kind: record_kind(&v.kind),
            title: v.title.clone(),
            issued_at: v.issued_at,
            hospital: v.hospital.clone(),
            issuer: v.issuer.clone(),
            trust: (&v.trust).into(),
            doctor: v.doctor.clone(),
            supersedes: v.supersedes.clone(),
        }
    }
}

/// A UCUM unit (as labs write it) in English words, for the common ones.
pub fn unit_words(unit: &str) -> Option<&'static str> {
    spondon_core::shc::units::words(unit)
}

impl From<&Item> for api::RecordItem {
    fn from(i: &Item) -> Self {
        match i.clone() {
            Item::Medication {
                drug,
                dosage,
                dose,
                schedule,
            } => api::RecordItem::Medication {
                drug,
                dose,
                schedule,
                instructions: dosage,
            },
            Item::Result {
                test,
                value,
                unit,
                reference_range,
                abnormal,
            } => api::RecordItem::LabResult {
                test,
                value,
                unit_words: unit.as_deref().and_then(unit_words).map(str::to_owned),
                unit,
                reference_range,
                abnormal: abnormal.as_deref().map(|a| match a {
                    "high" => api::Abnormal::High,
                    "low" => api::Abnormal::Low,
                    _ => api::Abnormal::Abnormal,
                }),
            },
            Item::Condition { text, code } => api::RecordItem::Diagnosis { text, code },
            Item::Immunization { vaccine, date } => api::RecordItem::Immunization { vaccine, date },
            Item::Visit { class, date } => api::RecordItem::Visit { class, date },
            Item::Payment { total, date } => api::RecordItem::Payment { total, date },
            Item::Document {
                kind,
                title,
                description,
                content_type,
                size,
                sha256,
            } => api::RecordItem::Document {
                kind,
                title,
                description,
                content_type,
                size,
                sha256,
                kept: false,
            },
            Item::Other {
                resource_type,
                text,
            } => api::RecordItem::Other {
                resource_type,
                text,
            },
        }
    }
}

impl From<&ProofView> for api::RecordProof {
    fn from(p: &ProofView) -> Self {
        api::RecordProof {
            signature: api::SignatureInfo {
                alg: "ES256".into(),
                kid: p.kid.clone(),
                issuer: p.issuer.clone(),
            },
            log_index: p.log_index,
            checkpoint: api::CheckpointInfo {
                origin: p.origin.clone(),
                size: p.size,
                root: p.root.clone(),
            },
            witnesses: p
                .witnesses
                .iter()
                .map(|(name, verified)| api::WitnessInfo {
                    name: name.clone(),
                    verified: *verified,
                })
                .collect(),
        }
    }
}

/// A record with its proof, for the detail screen.
pub fn record_detail(v: &RecordView, proof: Option<&ProofView>) -> api::RecordDetail {
    api::RecordDetail {
        summary: v.into(),
        items: v
            .items
            .iter()
            .map(|i| {
                let mut item = api::RecordItem::from(i);
                if let api::RecordItem::Document { kept, .. } = &mut item {
                    *kept = v.file_kept == Some(true);
                }
                item
            })
            .collect(),
        proof: proof.map(Into::into),
    }
}

impl From<&Doctor> for api::DoctorInfo {
    fn from(d: &Doctor) -> Self {
        api::DoctorInfo {
            kid: d.kid.clone(),
            name: d.name.clone(),
            bmdc_number: d.bmdc_number.clone(),
            department: d.department.clone(),
            hospital_id: d.hospital_id.clone(),
            hospital_name: d.hospital_name.clone(),
            expires: d.expires,
        }
    }
}

/// A grant for the app, its status taken at `now` (UNIX seconds); `doctor_name` is the
/// doctor's name when known (else the grant's audience label).
pub fn grant_info(g: &StoredGrant, now: i64, doctor_name: Option<&str>) -> api::GrantInfo {
    api::GrantInfo {
        id: g.id.clone(),
        doctor_name: doctor_name
            .map(str::to_owned)
            .unwrap_or_else(|| g.audience.clone()),
        doctor_kid: g.audience_kid.clone(),
        categories: g
            .categories
            .iter()
            .filter_map(|c| api_category(c))
            .collect(),
        record_ids: g.record_ids.clone(),
        purpose: api_purpose(&g.purpose),
        write: g.write,
        issued_at: g.issued_at,
        expires: g.expires,
        peers: g.peers.clone(),
        status: match g.status(now) {
            GrantStatus::Active => api::GrantStatus::Active,
            GrantStatus::Expired => api::GrantStatus::Expired,
            GrantStatus::Revoked => api::GrantStatus::Revoked,
        },
        revoked_at: g.revoked_at,
    }
}

/// A peer's answer to a revocation; `names` maps peer URLs to hospital names.
pub fn peer_answer(r: &RevocationResult, names: &BTreeMap<String, String>) -> api::PeerAnswer {
    api::PeerAnswer {
        peer: r.peer.clone(),
        hospital_name: names
            .get(&r.peer)
            .cloned()
            .unwrap_or_else(|| r.peer.clone()),
        ok: r.ok,
        error: r
            .error
            .as_ref()
            .map(|e| api::ApiError::new(r.error_code.unwrap_or("peer_refused"), e.clone())),
    }
}

impl From<&ImportOutcome> for api::ImportedCard {
    fn from(o: &ImportOutcome) -> Self {
        api::ImportedCard {
            id: o.id.clone(),
            issuer: o.issuer.clone(),
            trust: (&o.trust).into(),
            status: o.status.clone(),
            already_present: o.already_present,
        }
    }
}

/// The export's offline verification for the app.
pub fn export_verdict(r: &spondon_export::ExportReport) -> api::ExportVerdict {
    {
        api::ExportVerdict {
            valid: r.valid,
            cards: r
                .cards
                .iter()
                .map(|c| api::CardVerdict {
                    issuer: c.issuer.clone().unwrap_or_default(),
                    issuer_name: c.issuer_name.clone(),
                    valid: c.valid,
                    problems: c.errors.iter().map(|p| p.message.clone()).collect(),
                })
                .collect(),
            problems: r.errors.iter().map(|p| p.message.clone()).collect(),
        }
    }
}

/// The summary of a trust list, signed with the root key `signer_kid`.
pub fn trust_list_summary(l: &TrustList, signer_kid: &str) -> api::TrustListSummary {
    api::TrustListSummary {
        signer: l.authority.clone(),
        signer_kid: signer_kid.to_owned(),
        sequence: l.sequence,
        issued_at: l.issued_at.seconds(),
        expires: Some(l.expires.seconds()),
        hospitals: l
            .hospitals
            .iter()
            .map(|h| api::TrustedHospital {
                id: h.id.clone(),
                name: h.name.clone(),
                peer_url: h.peer_url.clone(),
            })
            .collect(),
    }
}

impl From<Step> for api::event::TaskStep {
    fn from(s: Step) -> Self {
        match s {
            Step::CheckingPassphrase => api::event::TaskStep::CheckingPassphrase,
            Step::Reading => api::event::TaskStep::Reading,
            Step::Decrypting => api::event::TaskStep::Decrypting,
            Step::Collecting => api::event::TaskStep::Collecting,
            Step::Building => api::event::TaskStep::Building,
            Step::Verifying => api::event::TaskStep::Verifying,
            Step::Saving => api::event::TaskStep::Saving,
            Step::Done => api::event::TaskStep::Done,
        }
    }
}

impl From<Progress> for api::event::TaskProgress {
    fn from(p: Progress) -> Self {
        api::event::TaskProgress {
            step: p.step.into(),
            done: p.done,
            total: p.total,
        }
    }
}

impl From<Strength> for api::PassphraseStrength {
    fn from(s: Strength) -> Self {
        api::PassphraseStrength {
            score: s.score,
            hint: match s.hint {
                Hint::TooShort => api::StrengthHint::TooShort,
                Hint::Common => api::StrengthHint::Common,
                Hint::Repetitive => api::StrengthHint::Repetitive,
                Hint::AddWords => api::StrengthHint::AddWords,
                Hint::AddVariety => api::StrengthHint::AddVariety,
                Hint::Good => api::StrengthHint::Good,
                Hint::Strong => api::StrengthHint::Strong,
            },
            acceptable: s.acceptable,
            min_length: crate::wallet::MIN_PASSPHRASE as u32,
        }
    }
}

/// Turns the engine's [`SyncEvent`]s into the app's progress snapshots.
#[derive(Debug, Default)]
pub struct SyncTracker {
    names: BTreeMap<String, String>,
    peers: Vec<api::event::PeerSyncProgress>,
}

impl SyncTracker {
    /// A tracker for a sync of these peers (URL, hospital name).
    pub fn new(peers: &[PeerState]) -> Self {
        let names = peers
            .iter()
            .map(|p| (p.url.clone(), p.hospital_name.clone()))
            .collect();
        let mut t = SyncTracker {
            names,
            peers: Vec::new(),
        };
        for p in peers {
            t.peer(&p.url);
        }
        t
    }

    fn peer(&mut self, url: &str) -> &mut api::event::PeerSyncProgress {
        let i = match self.peers.iter().position(|p| p.peer == url) {
            Some(i) => i,
            None => {
                self.peers.push(api::event::PeerSyncProgress {
                    peer: url.to_owned(),
                    hospital_name: self
                        .names
                        .get(url)
                        .cloned()
                        .unwrap_or_else(|| url.to_owned()),
                    state: api::event::PeerSyncState::Waiting,
                    records_done: 0,
                    records_total: None,
                    receipts: 0,
                    error: None,
                    violation: None,
                    file: None,
                    files_kept: 0,
                });
                self.peers.len() - 1
            }
        };
        &mut self.peers[i]
    }

    /// Takes one event in and returns the snapshot after it.
    pub fn update(&mut self, e: &SyncEvent) -> api::event::SyncProgress {
        use api::event::PeerSyncState as S;
        match e {
            SyncEvent::Started { .. }
            | SyncEvent::Witnessed { .. }
            | SyncEvent::TrustList { .. } => {}
            SyncEvent::Records { peer, done, more } => {
                let p = self.peer(peer);
                p.state = S::Running;
                p.records_done = *done;
                p.records_total = (!more).then_some(*done);
            }
            SyncEvent::Receipts { peer, new } => {
                let p = self.peer(peer);
                p.state = S::Running;
                p.receipts = *new;
            }
            SyncEvent::PeerDone {
                peer,
                records,
                receipts,
            } => {
                let p = self.peer(peer);
                p.state = S::Done;
                p.records_done = *records;
                p.records_total = Some(*records);
                p.receipts = *receipts;
            }
            SyncEvent::PeerFailed { peer, error, code } => {
                let p = self.peer(peer);
                if p.state != S::Violation {
                    p.state = S::Failed;
                    p.error = Some(api::ApiError::new(*code, error.clone()));
                }
            }
            SyncEvent::Violation { peer, violation } => {
                let p = self.peer(peer);
                p.state = S::Violation;
                p.violation = Some(violation.into());
            }
            SyncEvent::File {
                peer, done, total, ..
            } => {
                self.peer(peer).file = Some(api::event::FileProgress {
                    done: *done,
                    total: *total,
                });
            }
            SyncEvent::FileKept { peer, .. } => {
                let p = self.peer(peer);
                p.file = None;
                p.files_kept += 1;
            }
            SyncEvent::FileFailed { peer, .. } => self.peer(peer).file = None,
        }
        self.snapshot(false)
    }

    /// The current snapshot (`finished` when the sync is over).
    pub fn snapshot(&self, finished: bool) -> api::event::SyncProgress {
        use api::event::PeerSyncState as S;
        api::event::SyncProgress {
            done: self
                .peers
                .iter()
                .filter(|p| matches!(p.state, S::Done | S::Failed | S::Violation))
                .count() as u64,
            total: self.peers.len() as u64,
            finished,
            peers: self.peers.clone(),
        }
    }
}

/// The sync's result for the app.
pub fn sync_summary(r: &SyncReport, names: &BTreeMap<String, String>) -> api::SyncSummary {
    api::SyncSummary {
        peers: r
            .peers
            .iter()
            .map(|p| api::PeerSyncResult {
                peer: p.peer.clone(),
                hospital_name: names
                    .get(&p.peer)
                    .cloned()
                    .unwrap_or_else(|| p.peer.clone()),
                new_records: p.new_records,
                new_receipts: p.new_receipts,
                error: p
                    .error
                    .as_ref()
                    .map(|e| api::ApiError::new(p.error_code.unwrap_or("internal"), e.clone())),
                violation: p.violation.as_ref().map(Into::into),
            })
            .collect(),
    }
}

impl Wallet {
    /// Peer URL → hospital name, for every enrolled peer.
    pub async fn hospital_names(&self) -> Result<BTreeMap<String, String>> {
        Ok(self
            .peers()
            .await?
            .into_iter()
            .map(|p| (p.url, p.hospital_name))
            .collect())
    }

    /// The hospitals screen: every enrolled hospital with its last sync, record count and
    /// security alerts.
    pub async fn app_hospitals(&self) -> Result<Vec<api::Hospital>> {
        let peers = self.peers().await?;
        let alerts: Vec<Alert> = self.alerts().await?;
        let records: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        Ok(peers
            .into_iter()
            .map(|p| api::Hospital {
                records: records
                    .iter()
                    .filter(|r| r.peer.as_deref() == Some(p.url.as_str()))
                    .count() as u64,
                alerts: alerts
                    .iter()
                    .filter(|a| a.peer == p.url)
                    .map(|a| api::Alert {
                        at: a.at,
                        violation: (&a.violation).into(),
                    })
                    .collect(),
                peer_url: p.url,
                hospital_id: p.hospital_id,
                name: p.hospital_name,
                health_id: p.health_id,
                enrolled_at: p.enrolled_at,
                last_sync: p.last_sync,
            })
            .collect())
    }

    /// The pinned trust list's summary (`None` when there is none).
    pub async fn app_trust_list(&self) -> Result<Option<api::TrustListSummary>> {
        let Some(t) = self
            .store
            .get::<crate::wallet::TrustSettings>(Table::Settings, "trust")
            .await?
        else {
            return Ok(None);
        };
        let list = self.trust_list().await?;
        let kid = spondon_core::keys::Es256PublicKey::from_jwk(&t.root_key)
            .map(|k| k.kid().to_owned())
            .unwrap_or_default();
        Ok(Some(trust_list_summary(&list, &kid)))
    }

    /// The grants screen (newest first).
    pub async fn app_grants(&self, active_only: bool) -> Result<Vec<api::GrantInfo>> {
        let now = spondon_core::NumericDate::now().seconds();
        let doctors = self.doctors().await?;
        Ok(self
            .grants()
            .await?
            .iter()
            .map(|g| {
                let name = g
                    .audience_kid
                    .as_ref()
                    .and_then(|k| doctors.iter().find(|d| &d.kid == k))
                    .map(|d| d.name.as_str());
                grant_info(g, now, name)
            })
            .filter(|g| !active_only || g.status == api::GrantStatus::Active)
            .collect())
    }

    /// The access log, structured for translation (newest first).
    pub async fn app_receipts(&self) -> Result<Vec<api::Receipt>> {
        let views = self.receipts().await?;
        let mut stored: Vec<StoredReceipt> = self.store.all(Table::Receipts).await?;
        stored.sort_by(|a, b| b.at.cmp(&a.at).then(b.log_index.cmp(&a.log_index)));
        let doctors = self.doctors().await?;
        let records: Vec<StoredRecord> = self.store.all(Table::Records).await?;
        let names = self.hospital_names().await?;
        let disputes = self.emergency_disputes().await?;
        Ok(views
            .into_iter()
            .zip(stored)
            .map(|(v, r)| {
                let who = match r.audience.as_ref() {
                    Some(_) if !crate::grants::audience_proven(&r) => api::Accessor::GrantHolder,
                    Some(kid) => match doctors.iter().find(|d| &d.kid == kid) {
                        Some(d) => api::Accessor::Doctor {
                            name: d.name.clone(),
                            bmdc_number: d.bmdc_number.clone(),
                            hospital_name: d.hospital_name.clone(),
                        },
                        None => api::Accessor::UnknownKey { kid: kid.clone() },
                    },
                    None => api::Accessor::Passcode,
                };
                let recs = r
                    .records
                    .iter()
                    .map(|id| {
                        let found = records
                            .iter()
                            .find(|x| &x.id == id && x.peer.as_deref() == Some(r.peer.as_str()));
                        api::ReceiptRecord {
                            id: id.clone(),
                            kind: found.map(|x| record_kind(&x.kind)),
                            title: found.map(|x| crate::browse::title_of_jws(&x.jws)),
                        }
                    })
                    .collect();
                api::Receipt {
                    at: r.at,
                    hospital_name: names
                        .get(&r.peer)
                        .cloned()
                        .unwrap_or_else(|| r.peer.clone()),
                    peer: r.peer,
                    who,
                    records: recs,
                    allowed: v.allowed,
                    wrote: v.wrote,
                    downloaded: v.downloaded,
                    reason: v.reason,
                    grant_id: v.grant_id,
                    text: v.text,
                    emergency: r
                        .emergency
                        .as_ref()
                        .filter(|_| v.allowed)
                        .map(|e| emergency_receipt(e, disputes.get(&e.id).copied())),
                }
            })
            .collect())
    }

    /// The emergency access setting, with the enrolled hospitals that have not confirmed it.
    pub async fn app_emergency_policy(&self) -> Result<api::EmergencyPolicyInfo> {
        let policy = self.emergency_policy().await?;
        let peers = self.peers().await?;
        Ok(match policy {
            None => api::EmergencyPolicyInfo {
                mode: api::EmergencyMode::Allow,
                hospitals: Vec::new(),
                set_at: None,
                pending: Vec::new(),
            },
            Some(p) => api::EmergencyPolicyInfo {
                mode: match p.mode {
                    EmergencyMode::Allow => api::EmergencyMode::Allow,
                    EmergencyMode::OptOut => api::EmergencyMode::OptOut,
                    EmergencyMode::Only => api::EmergencyMode::Only,
                },
                pending: peers
                    .iter()
                    .filter(|x| !p.acknowledged.contains(&x.url))
                    .map(|x| x.hospital_name.clone())
                    .collect(),
                hospitals: p.hospitals,
                set_at: Some(p.set_at),
            },
        })
    }

    /// Sets the emergency access setting and sends it to every enrolled hospital.
    pub async fn app_set_emergency_policy(
        &self,
        auth: &Authorization,
        mode: api::EmergencyMode,
        hospitals: &[String],
    ) -> Result<api::SetEmergencyPolicyResult> {
        let mode = match mode {
            api::EmergencyMode::Allow => EmergencyMode::Allow,
            api::EmergencyMode::OptOut => EmergencyMode::OptOut,
            api::EmergencyMode::Only => EmergencyMode::Only,
        };
        let results = self.set_emergency_policy(auth, mode, hospitals).await?;
        let names = self.hospital_names().await?;
        let answers = results
            .iter()
            .map(|r| api::PeerAnswer {
                hospital_name: names
                    .get(&r.peer)
                    .cloned()
                    .unwrap_or_else(|| r.peer.clone()),
                peer: r.peer.clone(),
                ok: r.ok,
                error: match (r.error_code, r.error.as_ref()) {
                    (Some(code), Some(message)) => Some(api::ApiError {
                        code: code.to_owned(),
                        message: message.clone(),
                    }),
                    _ => None,
                },
            })
            .collect();
        Ok(api::SetEmergencyPolicyResult {
            policy: self.app_emergency_policy().await?,
            answers,
        })
    }

    /// Disputes an emergency access (the whole access id, as the receipt gives it).
    pub async fn app_dispute_emergency(
        &self,
        auth: &Authorization,
        access_id: &str,
        text: &str,
    ) -> Result<api::DisputeEmergencyResult> {
        let r = self.dispute_emergency(auth, access_id, text).await?;
        let names = self.hospital_names().await?;
        Ok(api::DisputeEmergencyResult {
            hospital_name: names
                .get(&r.peer)
                .cloned()
                .unwrap_or_else(|| r.peer.clone()),
            access_id: r.access_id,
            disputed_at: r.disputed_at,
        })
    }
}

/// An emergency access for the app; `disputed_at` from the wallet's own list of disputes.
pub fn emergency_receipt(e: &EmergencyInfo, disputed_at: Option<i64>) -> api::EmergencyReceipt {
    api::EmergencyReceipt {
        access_id: e.id.clone(),
        doctor_name: e.doctor_name.clone(),
        doctor_bmdc: e.doctor_bmdc.clone(),
        department: e.department.clone(),
        reason: match e.reason.as_str() {
            "unconscious" => api::EmergencyReason::Unconscious,
            "cannot_communicate" => api::EmergencyReason::CannotCommunicate,
            "life_threatening" => api::EmergencyReason::LifeThreatening,
            "no_wallet_available" => api::EmergencyReason::NoWalletAvailable,
            // `EmergencyInfo::from_event` admits only the fixed list; "other" is the rest.
            _ => api::EmergencyReason::Other,
        },
        details: e.details.clone(),
        expires_at: e.expires_at,
        disputed_at,
    }
}

// ---------------------------------------------------------------- lost phone

/// How one hospital ended a lost-phone run, for the app.
pub fn lost_phone_hospital(r: &HospitalResult) -> api::LostPhoneHospital {
    let (status, error) = match &r.outcome {
        HospitalOutcome::Rotated => (api::LostPhoneStatus::Rotated, None),
        HospitalOutcome::AlreadyDone => (api::LostPhoneStatus::AlreadyDone, None),
        HospitalOutcome::IdentityCheckNeeded { code, message } => (
            api::LostPhoneStatus::IdentityCheckNeeded,
            Some(api::ApiError {
                code: code.clone(),
                message: message.clone(),
            }),
        ),
        HospitalOutcome::Failed { code, message } => (
            api::LostPhoneStatus::Failed,
            Some(api::ApiError {
                code: code.clone(),
                message: message.clone(),
            }),
        ),
    };
    api::LostPhoneHospital {
        peer: r.peer.clone(),
        hospital_name: r.hospital_name.clone(),
        status,
        error,
    }
}

impl Wallet {
    /// The key change in progress or finished, for the app (hospitals by name).
    pub async fn app_key_rotation(&self) -> Result<Option<api::KeyRotationInfo>> {
        let Some(s) = self.key_rotation_status().await? else {
            return Ok(None);
        };
        let names = self.hospital_names().await?;
        let name = |u: &String| names.get(u).cloned().unwrap_or_else(|| u.clone());
        Ok(Some(api::KeyRotationInfo {
            started_at: s.started_at,
            completed_at: s.completed_at,
            done: s.done.keys().map(name).collect(),
            pending: s.pending.iter().map(name).collect(),
        }))
    }
}

// ---------------------------------------------------------------- family (delegates)

fn delegate_scope_api(name: &str) -> Option<api::DelegateScope> {
    match name {
        "view" => Some(api::DelegateScope::View),
        "share" => Some(api::DelegateScope::Share),
        "manage" => Some(api::DelegateScope::Manage),
        _ => None,
    }
}

/// A delegate scope for the engine.
pub fn delegate_scope(s: api::DelegateScope) -> DelegationScope {
    match s {
        api::DelegateScope::View => DelegationScope::View,
        api::DelegateScope::Share => DelegationScope::Share,
        api::DelegateScope::Manage => DelegationScope::Manage,
    }
}

fn categories_api(names: &[String]) -> Vec<api::Category> {
    names.iter().filter_map(|c| api_category(c)).collect()
}

/// A delegation this wallet gave, for the app (`qr_svg`: its text as a QR code).
pub fn delegation_info(d: &StoredDelegation, qr_svg: String) -> api::DelegationInfo {
    let mut scopes: Vec<api::DelegateScope> = d
        .scopes
        .iter()
        .filter_map(|s| delegate_scope_api(s))
        .collect();
    scopes.sort();
    api::DelegationInfo {
        id: d.id.clone(),
        label: d.label.clone(),
        scopes,
        categories: categories_api(&d.categories),
        issued_at: d.issued_at,
        expires: d.expires,
        revoked_at: d.revoked_at,
        text: d.text.clone(),
        qr_svg,
    }
}

impl Wallet {
    /// A delegated patient, for the app; hospitals by name.
    pub async fn app_delegated_patient(
        &self,
        p: &DelegatedPatient,
    ) -> Result<api::DelegatedPatientInfo> {
        let names = self.hospital_names().await?;
        let mut scopes: Vec<api::DelegateScope> = p
            .scopes
            .iter()
            .filter_map(|s| delegate_scope_api(s))
            .collect();
        scopes.sort();
        Ok(api::DelegatedPatientInfo {
            id: p.id.clone(),
            label: p.label.clone(),
            scopes,
            categories: categories_api(&p.categories),
            minor: p.minor,
            expires: p.expires,
            hospitals: p
                .peers
                .iter()
                .map(|u| names.get(u).cloned().unwrap_or_else(|| u.clone()))
                .collect(),
        })
    }

    /// A delegated patient's records and receipts, verified, for the app (newest first).
    pub async fn app_delegate_sync(&self, id: &str) -> Result<api::DelegateSyncResult> {
        let r = self.delegate_sync(id).await?;
        let names = self.hospital_names().await?;
        let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_owned());
        let mut records: Vec<api::DelegatedRecord> = r
            .records
            .iter()
            .map(|x| api::DelegatedRecord {
                id: x.id.clone(),
                kind: record_kind(&x.kind),
                title: crate::browse::title_of_jws(&x.jws),
                issued_at: x.issued_at,
                hospital_name: x
                    .peer
                    .as_deref()
                    .map(name)
                    .or_else(|| x.issuer_name.clone())
                    .unwrap_or_else(|| x.issuer.clone()),
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.issued_at));
        Ok(api::DelegateSyncResult {
            records,
            receipts: r.receipts.len() as u64,
            failures: r
                .failures
                .iter()
                .map(|(peer, code)| api::PeerAnswer {
                    peer: peer.clone(),
                    hospital_name: name(peer),
                    ok: false,
                    error: Some(api::ApiError {
                        code: code.clone(),
                        message: code.clone(),
                    }),
                })
                .collect(),
        })
    }
}
