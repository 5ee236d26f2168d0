//! De-identified statistics: counts of patients by condition group × ISO week × district (and,
//! within a district, by upazila, age band and sex), with small cells suppressed, signed by the
//! hospital peer as a compact JWS (`docs/protocol.md` §13).
//!
//! - [`tabulate`] turns fine-grained case counts into the published cells of one report;
//! - [`suppress()`] is the pure suppression function it uses;
//! - [`Aggregate`] is the signed document; [`merge`] combines several hospitals' aggregates
//!   and suppresses again.
//!
//! Every relation between published numbers lives inside one **block** (one condition group,
//! week and district): the district count is the sum of its upazila cells, of its age-band
//! cells and of its sex cells. No total across weeks, districts or hospitals is ever published
//! except as a sum of published cells, so cells of one block can only be combined with cells of
//! the same block, and [`suppress()`] makes sure that is not enough.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::keys::{Es256KeyPair, Es256PublicKey};

mod suppress;
pub mod week;

pub use suppress::{Relation, recoverable, suppress};
pub use week::{AGE_BANDS, IsoWeek, SEXES, age_band, sex_category};

/// The suppression threshold: no published count is smaller (except 0).
pub const K: u64 = 10;
/// The format name in every aggregate.
pub const FORMAT: &str = "spondon-stats/v1";
/// The JWS `typ` of a signed aggregate.
pub const JWS_TYP: &str = "spondon-stats+jws";
/// Longest period of one aggregate, in weeks.
pub const MAX_WEEKS: i64 = 106;
/// Most cells in one aggregate.
pub const MAX_CELLS: usize = 500_000;
/// Largest signed aggregate accepted (bytes of JWS text).
pub const MAX_JWS_BYTES: usize = 96 * 1024 * 1024;

/// Condition groups counted, each a set of ICD-10 categories.
pub const CONDITION_GROUPS: &[(&str, &str, &[&str])] = &[
    ("dengue", "Dengue", &["A90", "A91", "A97"]),
    ("covid19", "COVID-19", &["U07"]),
    ("typhoid", "Typhoid and paratyphoid", &["A01"]),
    ("cholera", "Cholera", &["A00"]),
    (
        "tuberculosis",
        "Tuberculosis",
        &["A15", "A16", "A17", "A18", "A19"],
    ),
    ("malaria", "Malaria", &["B50", "B51", "B52", "B53", "B54"]),
    (
        "diabetes",
        "Diabetes mellitus",
        &["E10", "E11", "E12", "E13", "E14"],
    ),
    (
        "hypertension",
        "Hypertensive diseases",
        &["I10", "I11", "I12", "I13", "I15"],
    ),
];

/// The condition group of an ICD-10 code (`A97.0` → `dengue`); `None` if not counted.
/// COVID-19 is only U07.1 (virus identified) and U07.2 (not identified).
pub fn condition_group(icd10: &str) -> Option<&'static str> {
    let category = icd10.get(..3)?;
    if category == "U07" && !matches!(icd10, "U07.1" | "U07.2") {
        return None;
    }
    CONDITION_GROUPS
        .iter()
        .find(|(_, _, cats)| cats.contains(&category))
        .map(|(code, _, _)| *code)
}

/// The display name of a condition group code.
pub fn condition_label(code: &str) -> Option<&'static str> {
    CONDITION_GROUPS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, label, _)| *label)
}

/// Errors about aggregates, each with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// The signed aggregate is not the expected JSON or JWS shape.
    #[error("the signed aggregate is malformed: {0}")]
    Malformed(String),
    /// The aggregate's `kid` is not one of the hospital's record-signing keys in the trust list.
    #[error("the aggregate is signed by key {0:?}, which is not one of the hospital's record keys")]
    UnknownKey(String),
    /// The signature does not verify: the aggregate was altered or signed by another key.
    #[error("the aggregate's signature does not verify (tampered or wrong key)")]
    BadSignature,
    /// The aggregate is well formed but breaks a rule (week order, a cell below `k`, a duplicate cell).
    #[error("the aggregate is invalid: {0}")]
    Invalid(String),
    /// Signing failed on the peer's side.
    #[error("signing failed: {0}")]
    Signing(String),
}

impl StatsError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            StatsError::Malformed(_) => "stats_malformed",
            StatsError::UnknownKey(_) => "stats_unknown_key",
            StatsError::BadSignature => "stats_bad_signature",
            StatsError::Invalid(_) => "stats_invalid",
            StatsError::Signing(_) => "stats_signing_failed",
        }
    }
}

/// Where a cell sits: a district count (`upazila`, `age_band` and `sex` all absent) or one
/// breakdown of it (exactly one of them present).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellKey {
    /// The condition group, from [`condition_group`].
    pub condition: String,
    /// The week counted (weeks run Monday to Sunday in Bangladesh Standard Time).
    pub week: IsoWeek,
    /// The patient's district.
    pub district: String,
    /// The upazila, for an upazila breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upazila: Option<String>,
    /// The age band, for an age breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<String>,
    /// The sex, for a sex breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
}

impl CellKey {
    /// Whether this is a district count (no breakdown).
    pub fn is_district(&self) -> bool {
        self.upazila.is_none() && self.age_band.is_none() && self.sex.is_none()
    }
    fn block(&self) -> (String, IsoWeek, String) {
        (self.condition.clone(), self.week, self.district.clone())
    }
}

/// A published cell: `count` is `None` when suppressed. Cells not listed are 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// Which count this is.
    #[serde(flatten)]
    pub key: CellKey,
    /// The count of distinct patients; `None` when suppressed (fewer than `k`, or revealing one).
    pub count: Option<u64>,
}

/// Patients counted at the finest level (one condition group, week, district, upazila, age
/// band and sex). Each patient is counted once per condition group and week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseCount {
    /// The condition group, from [`condition_group`].
    pub condition: String,
    /// The week counted.
    pub week: IsoWeek,
    /// The patient's district.
    pub district: String,
    /// The patient's upazila.
    pub upazila: String,
    /// The patient's age band.
    pub age_band: String,
    /// The patient's sex.
    pub sex: String,
    /// Distinct patients with these values.
    pub count: u64,
}

/// One block's cells before suppression: index 0 the district, then upazilas, age bands, sexes.
struct Block {
    keys: Vec<CellKey>,
    values: Vec<u64>,
    /// Cells to hide whatever their value (merge: no published contribution).
    forced: Vec<bool>,
    relations: Vec<Relation>,
}

fn block_of(
    (condition, week, district): &(String, IsoWeek, String),
    upazilas: &BTreeMap<String, (u64, bool)>,
    ages: &BTreeMap<String, (u64, bool)>,
    sexes: &BTreeMap<String, (u64, bool)>,
    total: (u64, bool),
) -> Block {
    let base = CellKey {
        condition: condition.clone(),
        week: *week,
        district: district.clone(),
        upazila: None,
        age_band: None,
        sex: None,
    };
    let mut keys = vec![base.clone()];
    let mut values = vec![total.0];
    let mut forced = vec![total.1];
    let mut relations = Vec::new();
    let mut add = |map: &BTreeMap<String, (u64, bool)>, set: &dyn Fn(&mut CellKey, String)| {
        let mut parts = Vec::new();
        for (name, (v, f)) in map {
            let mut k = base.clone();
            set(&mut k, name.clone());
            parts.push(keys.len());
            keys.push(k);
            values.push(*v);
            forced.push(*f);
        }
        if !parts.is_empty() {
            relations.push(Relation { total: 0, parts });
        }
    };
    add(upazilas, &|k, v| k.upazila = Some(v));
    add(ages, &|k, v| k.age_band = Some(v));
    add(sexes, &|k, v| k.sex = Some(v));
    Block {
        keys,
        values,
        forced,
        relations,
    }
}

fn publish(block: Block, k: u64, out: &mut Vec<Cell>) {
    let hidden = suppress::suppress_forced(&block.values, &block.relations, k, &block.forced);
    for ((key, value), hide) in block.keys.into_iter().zip(block.values).zip(hidden) {
        if hide {
            out.push(Cell { key, count: None });
        } else if value > 0 {
            out.push(Cell {
                key,
                count: Some(value),
            });
        }
    }
}

type Breakdown = BTreeMap<String, (u64, bool)>;

/// The published cells of one hospital's report from its fine-grained counts, suppressed with
/// threshold `k`. Deterministic: the same counts give the same cells, in a fixed order.
pub fn tabulate(rows: &[CaseCount], k: u64) -> Vec<Cell> {
    let mut blocks: BTreeMap<(String, IsoWeek, String), [Breakdown; 3]> = BTreeMap::new();
    for r in rows {
        if r.count == 0 {
            continue;
        }
        let b = blocks
            .entry((r.condition.clone(), r.week, r.district.clone()))
            .or_insert_with(|| {
                [
                    Breakdown::new(),
                    AGE_BANDS
                        .iter()
                        .map(|a| ((*a).to_owned(), (0, false)))
                        .collect(),
                    SEXES
                        .iter()
                        .map(|s| ((*s).to_owned(), (0, false)))
                        .collect(),
                ]
            });
        b[0].entry(r.upazila.clone()).or_insert((0, false)).0 += r.count;
        b[1].entry(r.age_band.clone()).or_insert((0, false)).0 += r.count;
        b[2].entry(r.sex.clone()).or_insert((0, false)).0 += r.count;
    }
    let mut out = Vec::new();
    for (key, [ups, ages, sexes]) in blocks {
        let total: u64 = ups.values().map(|v| v.0).sum();
        publish(
            block_of(&key, &ups, &ages, &sexes, (total, false)),
            k,
            &mut out,
        );
    }
    out
}

/// The document a hospital signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// [`FORMAT`].
    pub format: String,
    /// The hospital peer's URL (its SMART Health Card `iss`, its trust-list `peer_url`).
    pub issuer: String,
    /// Raised by one for every aggregate the peer signs.
    pub sequence: u64,
    /// First and last week counted.
    pub from: IsoWeek,
    /// Last week counted (inclusive).
    pub to: IsoWeek,
    /// When it was made (POSIX seconds); also the time of its log entry.
    pub generated_at: i64,
    /// The requester's random challenge (base64url), echoed so a response cannot be replayed.
    pub challenge: String,
    /// The suppression threshold applied.
    pub k: u64,
    /// The published cells; cells not listed are 0.
    pub cells: Vec<Cell>,
}

fn check_name(what: &str, s: &str) -> Result<(), StatsError> {
    if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) {
        return Err(StatsError::Invalid(format!(
            "{what} must be 1–64 printable characters"
        )));
    }
    Ok(())
}

impl Aggregate {
    /// Checks everything that does not need the signature: format, period, threshold, cells.
    pub fn validate(&self) -> Result<(), StatsError> {
        if self.format != FORMAT {
            return Err(StatsError::Invalid(format!("format must be {FORMAT}")));
        }
        if self.k < K {
            return Err(StatsError::Invalid(format!(
                "threshold k = {} is below {K}",
                self.k
            )));
        }
        check_period(self.from, self.to).map_err(StatsError::Invalid)?;
        let challenge = crate::b64::decode(&self.challenge)
            .map_err(|_| StatsError::Invalid("challenge is not base64url".into()))?;
        if !(16..=64).contains(&challenge.len()) {
            return Err(StatsError::Invalid("challenge must be 16–64 bytes".into()));
        }
        if self.cells.len() > MAX_CELLS {
            return Err(StatsError::Invalid(format!("more than {MAX_CELLS} cells")));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.cells {
            let key = &c.key;
            if condition_label(&key.condition).is_none() {
                return Err(StatsError::Invalid(format!(
                    "unknown condition group {:?}",
                    key.condition
                )));
            }
            if key.week < self.from || key.week > self.to {
                return Err(StatsError::Invalid(format!(
                    "cell week {} is outside the period",
                    key.week
                )));
            }
            check_name("district", &key.district)?;
            let breakdowns = [&key.upazila, &key.age_band, &key.sex]
                .iter()
                .filter(|b| b.is_some())
                .count();
            if breakdowns > 1 {
                return Err(StatsError::Invalid(
                    "a cell has at most one of upazila, age_band, sex".into(),
                ));
            }
            if let Some(u) = &key.upazila {
                check_name("upazila", u)?;
            }
            if let Some(a) = &key.age_band
                && !AGE_BANDS.contains(&a.as_str())
            {
                return Err(StatsError::Invalid(format!("unknown age band {a:?}")));
            }
            if let Some(s) = &key.sex
                && !SEXES.contains(&s.as_str())
            {
                return Err(StatsError::Invalid(format!("unknown sex category {s:?}")));
            }
            if c.count == Some(0) {
                return Err(StatsError::Invalid("a zero cell is listed".into()));
            }
            if !seen.insert(key) {
                return Err(StatsError::Invalid("a cell is listed twice".into()));
            }
        }
        Ok(())
    }

    /// Signs as a compact JWS (ES256, `typ` [`JWS_TYP`], `kid` the key's thumbprint).
    pub fn sign(&self, key: &Es256KeyPair) -> Result<String, StatsError> {
        self.validate()?;
        let header = serde_json::json!({"alg": "ES256", "kid": key.kid(), "typ": JWS_TYP});
        let header = serde_json::to_vec(&header).map_err(|e| StatsError::Signing(e.to_string()))?;
        let payload = serde_json::to_vec(self).map_err(|e| StatsError::Signing(e.to_string()))?;
        let input = format!(
            "{}.{}",
            crate::b64::encode(header),
            crate::b64::encode(payload)
        );
        let sig = key
            .sign(input.as_bytes())
            .map_err(|e| StatsError::Signing(e.to_string()))?;
        Ok(format!("{input}.{}", crate::b64::encode(sig)))
    }

    /// Verifies a signed aggregate against the hospital's record keys and validates it.
    pub fn verify(jws: &str, keys: &[Es256PublicKey]) -> Result<Aggregate, StatsError> {
        if jws.len() > MAX_JWS_BYTES {
            return Err(StatsError::Malformed("larger than the limit".into()));
        }
        let mut parts = jws.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StatsError::Malformed(
                "not a compact JWS (three parts)".into(),
            ));
        };
        let header = crate::b64::decode(h)
            .map_err(|_| StatsError::Malformed("header is not base64url".into()))?;
        #[derive(Deserialize)]
        struct Header {
            alg: String,
            kid: String,
            typ: String,
        }
        let header: Header = serde_json::from_slice(&header)
            .map_err(|e| StatsError::Malformed(format!("header: {e}")))?;
        if header.alg != "ES256" || header.typ != JWS_TYP {
            return Err(StatsError::Malformed(format!(
                "header must have alg ES256 and typ {JWS_TYP}"
            )));
        }
        let key = keys
            .iter()
            .find(|k| k.kid() == header.kid)
            .ok_or_else(|| StatsError::UnknownKey(header.kid.chars().take(64).collect()))?;
        let sig = crate::b64::decode(s)
            .map_err(|_| StatsError::Malformed("signature is not base64url".into()))?;
        key.verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| StatsError::BadSignature)?;
        let payload = crate::b64::decode(p)
            .map_err(|_| StatsError::Malformed("payload is not base64url".into()))?;
        let agg: Aggregate = serde_json::from_slice(&payload)
            .map_err(|e| StatsError::Malformed(format!("payload: {e}")))?;
        agg.validate()?;
        Ok(agg)
    }
}

/// Checks a requested period: `from ≤ to`, at most [`MAX_WEEKS`] weeks.
pub fn check_period(from: IsoWeek, to: IsoWeek) -> Result<(), String> {
    if from > to {
        return Err(format!("the period starts ({from}) after it ends ({to})"));
    }
    if from.weeks_until(to) > MAX_WEEKS {
        return Err(format!("the period is longer than {MAX_WEEKS} weeks"));
    }
    Ok(())
}

/// A cell of a merged report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergedCell {
    /// Which count this is.
    #[serde(flatten)]
    pub key: CellKey,
    /// The sum of the hospitals' published counts; `None` when suppressed.
    pub count: Option<u64>,
    /// Some hospital suppressed its count here, so the true count is higher ("at least").
    pub partial: bool,
    /// Hospitals that reported this cell (shown or suppressed).
    pub hospitals: u32,
}

/// Merges hospitals' aggregates and suppresses again (threshold `k`): each merged count is the
/// sum of the published counts (a suppressed count contributes nothing and marks the cell
/// partial), a cell no hospital published is suppressed, and the block rules of
/// [`tabulate`] are applied to the merged counts, so a hospital that published small cells
/// (a bug, an old version) is corrected here.
pub fn merge(aggregates: &[&Aggregate], k: u64) -> Vec<MergedCell> {
    // Per key: (sum of published, any suppressed, any published, hospitals).
    type Acc = (u64, bool, bool, u32);
    let mut acc: BTreeMap<CellKey, Acc> = BTreeMap::new();
    for a in aggregates {
        for c in &a.cells {
            let e = acc.entry(c.key.clone()).or_insert((0, false, false, 0));
            match c.count {
                Some(n) => {
                    e.0 = e.0.saturating_add(n);
                    e.2 = true;
                }
                None => e.1 = true,
            }
            e.3 += 1;
        }
    }
    let mut blocks: BTreeMap<(String, IsoWeek, String), Vec<(CellKey, Acc)>> = BTreeMap::new();
    for (key, v) in acc {
        blocks.entry(key.block()).or_default().push((key, v));
    }
    let mut out = Vec::new();
    for (bkey, cells) in blocks {
        let info: BTreeMap<CellKey, (bool, u32)> =
            cells.iter().map(|(k, v)| (k.clone(), (v.1, v.3))).collect();
        let mut total = (0, true);
        let (mut ups, mut ages, mut sexes) = (Breakdown::new(), Breakdown::new(), Breakdown::new());
        for (key, (sum, _, published, _)) in &cells {
            let v = (*sum, !published);
            if key.is_district() {
                total = v;
            } else if let Some(u) = &key.upazila {
                ups.insert(u.clone(), v);
            } else if let Some(a) = &key.age_band {
                ages.insert(a.clone(), v);
            } else if let Some(s) = &key.sex {
                sexes.insert(s.clone(), v);
            }
        }
        let mut published = Vec::new();
        publish(
            block_of(&bkey, &ups, &ages, &sexes, total),
            k,
            &mut published,
        );
        for c in published {
            let (partial, hospitals) = info.get(&c.key).copied().unwrap_or((false, 0));
            out.push(MergedCell {
                key: c.key,
                partial: partial && c.count.is_some(),
                count: c.count,
                hospitals,
            });
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn case(d: &str, u: &str, a: &str, s: &str, n: u64) -> CaseCount {
        CaseCount {
            condition: "dengue".into(),
            week: IsoWeek::parse("2026-W23").unwrap(),
            district: d.into(),
            upazila: u.into(),
            age_band: a.into(),
            sex: s.into(),
            count: n,
        }
    }

    fn district(cells: &[Cell], d: &str) -> Option<Option<u64>> {
        cells
            .iter()
            .find(|c| c.key.is_district() && c.key.district == d)
            .map(|c| c.count)
    }

    #[test]
    fn groups() {
        assert_eq!(condition_group("A97.0"), Some("dengue"));
        assert_eq!(condition_group("A90"), Some("dengue"));
        assert_eq!(condition_group("U07.1"), Some("covid19"));
        assert_eq!(condition_group("U07.3"), None);
        assert_eq!(condition_group("A15.0"), Some("tuberculosis"));
        assert_eq!(condition_group("I10"), Some("hypertension"));
        assert_eq!(condition_group("J45"), None);
        assert_eq!(condition_group("A"), None);
    }

    #[test]
    fn three_suppressed_forty_shown() {
        let mut rows = vec![case("Sylhet", "Beanibazar", "25-44", "male", 3)];
        rows.push(case("Dhaka", "Savar", "25-44", "female", 22));
        rows.push(case("Dhaka", "Savar", "15-24", "male", 12));
        rows.push(case("Dhaka", "Dhamrai", "25-44", "male", 6));
        let cells = tabulate(&rows, K);
        assert_eq!(district(&cells, "Sylhet"), Some(None));
        assert_eq!(district(&cells, "Dhaka"), Some(Some(40)));
        // No shown cell below k; Dhamrai (6) hidden with a complement.
        assert!(cells.iter().all(|c| c.count.is_none_or(|n| n >= K)));
        let dhamrai = cells
            .iter()
            .find(|c| c.key.upazila.as_deref() == Some("Dhamrai"))
            .unwrap();
        assert_eq!(dhamrai.count, None);
        let savar = cells
            .iter()
            .find(|c| c.key.upazila.as_deref() == Some("Savar"))
            .unwrap();
        assert_eq!(savar.count, None, "the complement of Dhamrai");
    }

    #[test]
    fn sign_verify_tamper() {
        let key = Es256KeyPair::generate().unwrap();
        let agg = Aggregate {
            format: FORMAT.into(),
            issuer: "https://dmch.example".into(),
            sequence: 1,
            from: IsoWeek::parse("2026-W20").unwrap(),
            to: IsoWeek::parse("2026-W23").unwrap(),
            generated_at: 1_780_000_000,
            challenge: crate::b64::encode([7u8; 16]),
            k: K,
            cells: tabulate(&[case("Dhaka", "Savar", "25-44", "male", 40)], K),
        };
        let jws = agg.sign(&key).unwrap();
        let keys = [key.public_key().clone()];
        assert_eq!(Aggregate::verify(&jws, &keys).unwrap(), agg);
        // Change one count in the payload, keep the signature.
        let (h, rest) = jws.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let text = String::from_utf8(crate::b64::decode(p).unwrap()).unwrap();
        let forged = text.replacen("\"count\":40", "\"count\":41", 1);
        assert_ne!(forged, text);
        let forged = format!("{h}.{}.{s}", crate::b64::encode(forged));
        assert_eq!(
            Aggregate::verify(&forged, &keys),
            Err(StatsError::BadSignature)
        );
        let other = Es256KeyPair::generate().unwrap();
        assert!(matches!(
            Aggregate::verify(&jws, &[other.public_key().clone()]),
            Err(StatsError::UnknownKey(_))
        ));
        assert!(matches!(
            Aggregate::verify("a.b", &keys),
            Err(StatsError::Malformed(_))
        ));
    }

    #[test]
    fn merge_sums_published_and_keeps_suppressed_unknown() {
        let w = IsoWeek::parse("2026-W23").unwrap();
        let mk = |rows: &[CaseCount]| Aggregate {
            format: FORMAT.into(),
            issuer: "https://x.example".into(),
            sequence: 1,
            from: w,
            to: w,
            generated_at: 0,
            challenge: crate::b64::encode([1u8; 16]),
            k: K,
            cells: tabulate(rows, K),
        };
        let a = mk(&[case("Sylhet", "Beanibazar", "25-44", "male", 3)]);
        let b = mk(&[
            case("Sylhet", "Beanibazar", "25-44", "male", 25),
            case("Dhaka", "Savar", "25-44", "male", 40),
        ]);
        let merged = merge(&[&a, &b], K);
        let sylhet = merged
            .iter()
            .find(|c| c.key.is_district() && c.key.district == "Sylhet")
            .unwrap();
        // 25 shown by b plus an unknown 1–9 from a: "at least 25", never 28.
        assert_eq!(sylhet.count, Some(25));
        assert!(sylhet.partial);
        assert_eq!(sylhet.hospitals, 2);
        let only_a = merge(&[&a], K);
        assert!(only_a.iter().all(|c| c.count.is_none()));
    }
}
