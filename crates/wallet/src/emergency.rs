//! Emergency (break-glass) access, the patient's side: the policy sent to every hospital
//! (allow, opt out, or only named hospitals) — signed requests, re-sent at sync to hospitals
//! that have not acknowledged it yet — and disputes of an emergency access shown in the receipts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use spondon_core::NumericDate;

use crate::error::{Result, WalletError};
use crate::store::Table;
use crate::sync::StoredReceipt;
use crate::wallet::{Authorization, Wallet};

/// Settings key of the policy.
const POLICY_SETTING: &str = "emergency_policy";
/// Settings key of the disputes this wallet sent: access id → when the hospital registered it.
const DISPUTES_SETTING: &str = "emergency_disputes";
pub use spondon_core::emergency::MAX_DISPUTE_CHARS;

/// The patient's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmergencyMode {
    /// Any member hospital may open the emergency summary (the default).
    Allow,
    /// No hospital may.
    OptOut,
    /// Only the hospitals named.
    Only,
}

/// The policy as the wallet keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmergencyPolicy {
    /// Who may open the emergency summary: any member hospital, none, or only `hospitals`.
    pub mode: EmergencyMode,
    /// Peer URLs of the allowed hospitals (mode `only`).
    pub hospitals: Vec<String>,
    /// When the patient chose it; peers keep the newest.
    pub set_at: i64,
    /// Peers that have acknowledged this policy.
    #[serde(default)]
    pub acknowledged: Vec<String>,
}

/// One hospital's answer to the policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    /// The URL of the peer that answered.
    pub peer: String,
    /// Whether it accepted the policy.
    pub ok: bool,
    /// Whether the hospital says emergency access is possible there now.
    pub allowed_here: Option<bool>,
    /// Why it did not, in words for people; `None` when `ok`.
    pub error: Option<String>,
    /// The stable code of `error` ([`WalletError::code`]).
    pub error_code: Option<&'static str>,
}

/// The answer to a dispute.
#[derive(Debug, Clone, Serialize)]
pub struct DisputeResult {
    /// The URL of the peer where the access happened and the dispute was registered.
    pub peer: String,
    /// The emergency access's id, as its receipt gives it.
    pub access_id: String,
    /// When the hospital registered the dispute (seconds since the epoch).
    pub disputed_at: i64,
}

impl Wallet {
    /// The emergency accesses this wallet disputed: access id → when the hospital registered
    /// the dispute.
    pub async fn emergency_disputes(&self) -> Result<BTreeMap<String, i64>> {
        Ok(self
            .store
            .get(Table::Settings, DISPUTES_SETTING)
            .await?
            .unwrap_or_default())
    }

    /// The policy last set, if any.
    pub async fn emergency_policy(&self) -> Result<Option<EmergencyPolicy>> {
        self.store.get(Table::Settings, POLICY_SETTING).await
    }

    /// Sets the emergency access policy and sends it to every enrolled hospital (a signed
    /// request each). `hospitals` (mode `only`) are hospital ids, names or peer URLs of the
    /// trust list. Hospitals that do not answer get it again at the next sync.
    pub async fn set_emergency_policy(
        &self,
        auth: &Authorization,
        mode: EmergencyMode,
        hospitals: &[String],
    ) -> Result<Vec<PolicyResult>> {
        self.check_auth(auth)?;
        let urls = match mode {
            EmergencyMode::Only => {
                if hospitals.is_empty() {
                    return Err(WalletError::BadSetting(
                        "name at least one hospital that may open your emergency summary".into(),
                    ));
                }
                let list = self.trust_list().await?;
                let mut urls = Vec::new();
                for h in hospitals {
                    let needle = h.trim().to_lowercase();
                    let found: Vec<_> = list
                        .hospitals
                        .iter()
                        .filter(|x| {
                            x.id.to_lowercase() == needle
                                || x.peer_url.to_lowercase() == needle
                                || x.name.to_lowercase().contains(&needle)
                        })
                        .collect();
                    match found.as_slice() {
                        [one] => {
                            if !urls.contains(&one.peer_url) {
                                urls.push(one.peer_url.clone());
                            }
                        }
                        [] => {
                            return Err(WalletError::NotFound(format!(
                                "hospital {h} in the trust list"
                            )));
                        }
                        _ => {
                            return Err(WalletError::Ambiguous {
                                prefix: h.clone(),
                                what: "hospital",
                            });
                        }
                    }
                }
                urls
            }
            EmergencyMode::Allow | EmergencyMode::OptOut => {
                if !hospitals.is_empty() {
                    return Err(WalletError::BadSetting(
                        "hospitals are named only to limit emergency access to them".into(),
                    ));
                }
                Vec::new()
            }
        };
        let policy = EmergencyPolicy {
            mode,
            hospitals: urls,
            set_at: NumericDate::now().seconds(),
            acknowledged: Vec::new(),
        };
        self.store
            .put(Table::Settings, POLICY_SETTING, &policy)
            .await?;
        self.push_emergency_policy().await
    }

    /// Sends the policy to every enrolled hospital that has not acknowledged it yet (at sync).
    pub async fn push_emergency_policy(&self) -> Result<Vec<PolicyResult>> {
        let Some(policy) = self.emergency_policy().await? else {
            return Ok(Vec::new());
        };
        let body = serde_json::json!({
            "mode": policy.mode,
            "hospitals": policy.hospitals,
            "set_at": policy.set_at,
        });
        let mut set = tokio::task::JoinSet::new();
        for p in self.peers().await? {
            if policy.acknowledged.contains(&p.url) {
                continue;
            }
            let net = self.net.clone();
            let key = self.signing.clone();
            let body = body.clone();
            set.spawn(async move {
                let r: Result<spondon_protocol::PolicyRegistered> = net
                    .signed_post(&key, &p.url, "/patient/emergency-policy", &body)
                    .await;
                match r {
                    Ok(a) => PolicyResult {
                        peer: p.url,
                        ok: true,
                        allowed_here: Some(a.allowed_here),
                        error: None,
                        error_code: None,
                    },
                    Err(e) => PolicyResult {
                        peer: p.url,
                        ok: false,
                        allowed_here: None,
                        error: Some(e.to_string()),
                        error_code: Some(e.code()),
                    },
                }
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(r) = r {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.peer.cmp(&b.peer));
        let newly: Vec<String> = out
            .iter()
            .filter(|r| r.ok)
            .map(|r| r.peer.clone())
            .collect();
        if !newly.is_empty() {
            // Another policy may have been set meanwhile: acknowledge only this one.
            if let Some(mut current) = self.emergency_policy().await?
                && current.set_at == policy.set_at
            {
                current.acknowledged.extend(newly);
                self.store
                    .put(Table::Settings, POLICY_SETTING, &current)
                    .await?;
            }
        }
        Ok(out)
    }

    /// Disputes an emergency access shown in the receipts (its id or the start of it): a signed
    /// request to the hospital that logged it, where its admin sees the dispute.
    pub async fn dispute_emergency(
        &self,
        auth: &Authorization,
        access_id: &str,
        text: &str,
    ) -> Result<DisputeResult> {
        self.check_auth(auth)?;
        let dispute = spondon_core::emergency::DisputeRequest {
            access_id: access_id.to_owned(),
            text: text.to_owned(),
        };
        let text = dispute.validate().map_err(|_| {
            WalletError::BadText(format!(
                "say why in 1–{MAX_DISPUTE_CHARS} characters, without control characters"
            ))
        })?;
        let receipts: Vec<StoredReceipt> = self.store.all(Table::Receipts).await?;
        let mut found: Vec<&StoredReceipt> = receipts
            .iter()
            .filter(|r| {
                r.outcome == "allowed"
                    && r.emergency
                        .as_ref()
                        .is_some_and(|e| !access_id.is_empty() && e.id.starts_with(access_id))
            })
            .collect();
        found.dedup_by(|a, b| {
            a.emergency.as_ref().map(|e| &e.id) == b.emergency.as_ref().map(|e| &e.id)
        });
        let r = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(WalletError::NotFound(format!(
                    "emergency access {access_id} among your receipts"
                )));
            }
            _ => {
                return Err(WalletError::Ambiguous {
                    prefix: access_id.to_owned(),
                    what: "emergency access",
                });
            }
        };
        let id = r
            .emergency
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_default();
        let body = serde_json::json!({"access_id": id, "text": text});
        let a: spondon_protocol::Disputed = self
            .net
            .signed_post(&self.signing, &r.peer, "/patient/emergency-disputes", &body)
            .await?;
        let mut disputes = self.emergency_disputes().await?;
        disputes.insert(a.access_id.clone(), a.disputed_at);
        self.store
            .put(Table::Settings, DISPUTES_SETTING, &disputes)
            .await?;
        Ok(DisputeResult {
            peer: r.peer.clone(),
            access_id: a.access_id,
            disputed_at: a.disputed_at,
        })
    }
}
