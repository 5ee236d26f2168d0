//! De-identified statistics for the health authority (`docs/peer.md`, "Statistics").
//!
//! Issuing a diagnosis adds one row per counted condition group to `peer_stat_cases`: the
//! patient's district, upazila, sex and age band, and the **report week** — the ISO week
//! (Bangladesh time) of issuance, or the first week after the last week already reported if
//! that is later. So a week, once it is in an aggregate, never changes, and two aggregates that
//! both cover it show it identically (no differencing between reports).
//!
//! `POST /authority/stats`, signed by a key in `stats_authority_keys`, counts the rows of a
//! period in SQL, suppresses small cells ([`spondon_core::stats::tabulate`], k = 10), signs the
//! aggregate with the record key, commits it to the log (entry kind 6) and answers with the
//! aggregate, the commitment's salt and a proof bundle. Only `serve` writes (single writer).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use spondon_core::NumericDate;
use spondon_core::keys::Es256PublicKey;
use spondon_core::stats::{self, Aggregate, CaseCount, IsoWeek, K};
use spondon_ledger::{EntryKind, LogEntry, Opening};

use crate::db;
use crate::error::{PeerError, Result};
use crate::patient::RequestParts;
use crate::peer::{Peer, to_i64, to_u64};
use crate::records::RecordKind;

/// The condition groups counted for a record (diagnoses only; each group once).
pub fn condition_groups(kind: RecordKind, resources: &[Value]) -> Vec<&'static str> {
    if kind != RecordKind::Diagnosis {
        return Vec::new();
    }
    let mut groups = Vec::new();
    for r in resources {
        let codings = r
            .pointer("/code/coding")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for c in codings {
            if c.get("system").and_then(Value::as_str) != Some("http://hl7.org/fhir/sid/icd-10") {
                continue;
            }
            if let Some(g) = c
                .get("code")
                .and_then(Value::as_str)
                .and_then(stats::condition_group)
                && !groups.contains(&g)
            {
                groups.push(g);
            }
        }
    }
    groups
}

/// A statistics row about to be stored with its record.
#[derive(Debug, Clone)]
pub(crate) struct StatCase {
    pub condition: &'static str,
    pub week: IsoWeek,
    pub district: String,
    pub upazila: String,
    pub age_band: &'static str,
    pub sex: &'static str,
}

/// `POST /authority/stats` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsRequest {
    /// First and last ISO week (`2026-W01`), at most 106 weeks, not after the current week.
    pub from: IsoWeek,
    /// Last ISO week (inclusive).
    pub to: IsoWeek,
    /// 16–64 random bytes, base64url: echoed in the signed aggregate.
    pub challenge: String,
}

/// The answer: the signed aggregate, the salt of its log commitment and a proof bundle
/// (`c2sp.org/tlog-proof@v1`) of that commitment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsResponse {
    /// Compact JWS (ES256, the record key) of a [`stats::Aggregate`].
    pub aggregate: String,
    /// Base64url of the 32-byte salt: `commitment = SHA-256(label ‖ 6 ‖ salt ‖ aggregate)`.
    pub salt: String,
    /// Index of the commitment's entry in the transparency log.
    pub log_index: u64,
    /// The proof bundle text.
    pub proof: String,
}

impl Peer {
    /// The rows a diagnosis adds (read-only; called under the issue lock).
    pub(crate) async fn stat_cases(
        &self,
        health_id: &str,
        groups: &[&'static str],
        now: NumericDate,
    ) -> Result<Vec<StatCase>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let patient = self.patient(health_id).await?;
        let mut week = IsoWeek::from_unix(now.seconds());
        if let Some(reported) = self.last_reported_week().await?
            && reported >= week
        {
            week = reported.next();
        }
        let day = (now.seconds() + stats::week::BST_OFFSET).div_euclid(86_400);
        let d = &patient.details;
        Ok(groups
            .iter()
            .map(|g| StatCase {
                condition: g,
                week,
                district: d.district.clone(),
                upazila: d.upazila.clone(),
                age_band: stats::age_band(&d.birth_date, day),
                sex: stats::sex_category(&d.sex),
            })
            .collect())
    }

    /// The last week any aggregate covered.
    async fn last_reported_week(&self) -> Result<Option<IsoWeek>> {
        let key = db::stats::last_reported_week(&self.db).await?;
        key.map(|k| {
            IsoWeek::from_key(k)
                .ok_or_else(|| PeerError::Integrity("stored report week is invalid".into()))
        })
        .transpose()
    }

    /// Patients counted per condition group, week, district, upazila, age band and sex.
    pub async fn stat_counts(&self, from: IsoWeek, to: IsoWeek) -> Result<Vec<CaseCount>> {
        db::stats::counts(&self.db, from.key(), to.key())
            .await?
            .into_iter()
            .map(|r| {
                let db::stats::CaseCount {
                    condition,
                    week,
                    district,
                    upazila,
                    age_band,
                    sex,
                    patients: n,
                } = r;
                Ok(CaseCount {
                    condition,
                    week: IsoWeek::from_key(week).ok_or_else(|| {
                        PeerError::Integrity("stored case week is invalid".into())
                    })?,
                    district,
                    upazila,
                    age_band,
                    sex,
                    count: to_u64(n)?,
                })
            })
            .collect()
    }

    /// Checks that a signed request comes from the health authority.
    pub async fn check_authority(&self, parts: &RequestParts<'_>) -> Result<Es256PublicKey> {
        let signer = self.check_signed(parts).await?;
        let allowed = self
            .config
            .stats_authority_keys
            .iter()
            .filter_map(|j| Es256PublicKey::from_jwk(j).ok())
            .any(|k| k == signer);
        if !allowed {
            tracing::warn!(
                kid = signer.kid(),
                "statistics refused: not an authority key"
            );
            return Err(PeerError::NotAuthority);
        }
        Ok(signer)
    }

    /// `POST /authority/stats`: checks the signature, then [`Peer::publish_stats`].
    pub async fn authority_stats(
        &self,
        parts: &RequestParts<'_>,
        req: &StatsRequest,
    ) -> Result<StatsResponse> {
        self.check_authority(parts).await?;
        self.publish_stats(req, NumericDate::now()).await
    }

    /// Counts, suppresses, signs and logs an aggregate for `req`'s period at `now`.
    pub async fn publish_stats(
        &self,
        req: &StatsRequest,
        now: NumericDate,
    ) -> Result<StatsResponse> {
        stats::check_period(req.from, req.to).map_err(|e| PeerError::field("to", e))?;
        let current = IsoWeek::from_unix(now.seconds());
        if req.to > current {
            return Err(PeerError::field(
                "to",
                format!("{} has not started yet (this week is {current})", req.to),
            ));
        }
        let challenge = spondon_core::b64::decode(&req.challenge)
            .map_err(|_| PeerError::field("challenge", "must be base64url"))?;
        if !(16..=64).contains(&challenge.len()) {
            return Err(PeerError::field("challenge", "must be 16–64 bytes"));
        }
        // Counting, freezing the weeks (the report row) and new diagnoses are serialized.
        let _guard = self.write_lock().await?;
        let started = std::time::Instant::now();
        let counts = self.stat_counts(req.from, req.to).await?;
        let cells = stats::tabulate(&counts, K);
        let sequence = db::stats::last_sequence(&self.db).await?;
        let sequence = to_u64(sequence)? + 1;
        let aggregate = Aggregate {
            format: stats::FORMAT.into(),
            issuer: self.config.url.clone(),
            sequence,
            from: req.from,
            to: req.to,
            generated_at: now.seconds(),
            challenge: req.challenge.clone(),
            k: K,
            cells,
        };
        let jws = aggregate.sign(&self.keys.record)?;
        let opening = Opening::new(jws.clone().into_bytes())
            .map_err(|e| PeerError::Integrity(e.to_string()))?;
        let entry = LogEntry::commit(EntryKind::StatsPublished, now, &opening);
        // The entry and the report's row commit together (one transaction).
        let report = db::stats::NewReport {
            sequence: to_i64(sequence)?,
            from_week: req.from.key(),
            to_week: req.to.key(),
            jws: jws.clone(),
            salt: opening.salt,
            generated_at: now.seconds(),
        };
        let rows: spondon_ledger::ExtraRows = Box::new(move |mut tx, first| {
            Box::pin(async move {
                let log_index =
                    i64::try_from(first).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                db::stats::insert_report(&mut tx, &report, log_index).await
            })
        });
        // The entry, its rows and the checkpoint over them in one commit.
        let log_index = self
            .append_signed(&[entry.encode()], rows)
            .await?
            .first_index;
        let proof = self.log.proof_bundle(log_index).await?.to_text();
        tracing::info!(
            sequence,
            log_index,
            cells = aggregate.cells.len(),
            millis = started.elapsed().as_millis() as u64,
            "statistics aggregate signed for the authority"
        );
        Ok(StatsResponse {
            aggregate: jws,
            salt: spondon_core::b64::encode(opening.salt),
            log_index,
            proof,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_from_conditions() {
        let r = vec![
            json!({"resourceType": "Condition", "code": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "A97.0"},
                {"system": "http://snomed.info/sct", "code": "38362002"}]}}),
            json!({"resourceType": "Condition", "code": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "A91"}]}}),
            json!({"resourceType": "Condition", "code": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11.9"}]}}),
            json!({"resourceType": "Condition", "code": {"coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J45"}]}}),
        ];
        assert_eq!(
            condition_groups(RecordKind::Diagnosis, &r),
            vec!["dengue", "diabetes"]
        );
        assert!(condition_groups(RecordKind::Prescription, &r).is_empty());
    }
}
