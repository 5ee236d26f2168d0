//! Synthetic, realistic Bangladeshi demo data: patients, doctors and their records (dengue,
//! typhoid, diabetes, hypertension, TB; common drugs; CBC, glucose, NS1). All made up.

use serde::Serialize;
use serde_json::{Value, json};
use spondon_core::keys::Es256KeyPair;

use crate::error::Result;
use crate::peer::Peer;
use crate::records::{IssueRequest, RecordKind};
use crate::registry::{DISTRICTS, NewDoctor, NewPatient};

/// A small deterministic generator (SplitMix64), so a seed reproduces a data set.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed` (the same seed gives the same data).
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// The next 64 random bits (SplitMix64).
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// One of `items`, uniformly (`items` must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|i| {
                let d = if i == 0 {
                    1 + self.below(9)
                } else {
                    self.below(10)
                };
                char::from(b'0' + d as u8)
            })
            .collect()
    }
}

const MALE: &[&str] = &[
    "Abdul Karim",
    "Mohammad Rahim",
    "Md. Shafiqul Islam",
    "Rafiqul Hasan",
    "Kamal Hossain",
    "Jamal Uddin",
    "Sohel Rana",
    "Tanvir Ahmed",
    "Arif Chowdhury",
    "Nazmul Haque",
    "Habibur Rahman",
    "Mizanur Rahman",
    "Sajib Das",
    "Pritom Saha",
    "Anwar Hossain",
];
const FEMALE: &[&str] = &[
    "Fatema Begum",
    "Nasrin Akter",
    "Shirin Sultana",
    "Rokeya Khatun",
    "Taslima Akhter",
    "Ayesha Siddiqua",
    "Nusrat Jahan",
    "Sharmin Akter",
    "Mousumi Rani Das",
    "Farzana Yasmin",
    "Jannatul Ferdous",
    "Sumaiya Islam",
    "Rupa Chakraborty",
    "Mahmuda Khanam",
    "Laila Arjumand",
];
const UPAZILAS: &[(&str, &[&str])] = &[
    (
        "Dhaka",
        &["Savar", "Dhamrai", "Keraniganj", "Nawabganj", "Dohar"],
    ),
    (
        "Chattogram",
        &["Hathazari", "Patiya", "Sitakunda", "Raozan", "Boalkhali"],
    ),
    (
        "Mymensingh",
        &["Trishal", "Bhaluka", "Muktagachha", "Gaffargaon", "Phulpur"],
    ),
    (
        "Sylhet",
        &[
            "Beanibazar",
            "Golapganj",
            "Companiganj",
            "Jaintiapur",
            "Balaganj",
        ],
    ),
    (
        "Rajshahi",
        &["Paba", "Godagari", "Bagha", "Charghat", "Puthia"],
    ),
    (
        "Khulna",
        &["Dumuria", "Batiaghata", "Dacope", "Paikgachha", "Rupsha"],
    ),
    (
        "Barishal",
        &["Bakerganj", "Babuganj", "Gaurnadi", "Muladi", "Wazirpur"],
    ),
    (
        "Rangpur",
        &["Mithapukur", "Pirganj", "Badarganj", "Gangachara", "Kaunia"],
    ),
];
const DOCTORS: &[(&str, &str, &str)] = &[
    ("A-31245", "Dr. Abul Kalam Azad", "Medicine"),
    ("A-42871", "Dr. Shahana Parvin", "Gynaecology & Obstetrics"),
    ("A-28764", "Dr. Md. Moinul Islam", "Paediatrics"),
    ("A-51209", "Dr. Tahmina Haque", "Endocrinology"),
    ("A-39984", "Dr. Subrata Kumar Sen", "Chest Diseases"),
];
const UCUM: &str = "http://unitsofmeasure.org";

fn qty(v: f64, unit: &str) -> Value {
    json!({"value": v, "unit": unit, "system": UCUM, "code": unit})
}

fn obs(loinc: &str, display: &str, value: f64, unit: &str, low: f64, high: f64) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
        "valueQuantity": qty(value, unit),
        "referenceRange": [{"low": qty(low, unit), "high": qty(high, unit)}]})
}

fn report(loinc: &str, display: &str, date: &str, observations: Vec<Value>) -> Vec<Value> {
    let mut v = vec![
        json!({"resourceType": "DiagnosticReport", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
        "effectiveDateTime": date}),
    ];
    v.extend(observations);
    v
}

fn medication(text: &str, dosage: &str, date: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "authoredOn": date, "medicationCodeableConcept": {"text": text},
        "dosageInstruction": [{"text": dosage}]})
}

fn condition(icd: &str, display: &str, date: &str) -> Value {
    json!({"resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": icd, "display": display}]},
        "onsetDateTime": date})
}

/// One illness episode's records for a patient.
fn episode(rng: &mut Rng, date: &str) -> Vec<(RecordKind, bool, Vec<Value>)> {
    let f = |rng: &mut Rng, lo: f64, hi: f64| lo + (hi - lo) * (rng.below(1000) as f64 / 1000.0);
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    match rng.below(5) {
        0 => vec![
            (
                RecordKind::LabReport,
                false,
                report(
                    "58410-2",
                    "CBC panel",
                    date,
                    vec![
                        obs(
                            "777-3",
                            "Platelets",
                            round1(f(rng, 35.0, 140.0)),
                            "10*3/uL",
                            150.0,
                            450.0,
                        ),
                        obs(
                            "718-7",
                            "Hemoglobin",
                            round1(f(rng, 10.5, 15.5)),
                            "g/dL",
                            12.0,
                            16.0,
                        ),
                        obs(
                            "6690-2",
                            "Leukocytes",
                            round1(f(rng, 2.5, 6.0)),
                            "10*3/uL",
                            4.0,
                            11.0,
                        ),
                    ],
                ),
            ),
            (
                RecordKind::LabReport,
                false,
                vec![
                    json!({"resourceType": "DiagnosticReport", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "75377-2", "display": "Dengue virus NS1 Ag"}]},
                    "effectiveDateTime": date}),
                    json!({"resourceType": "Observation", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "75377-2", "display": "Dengue virus NS1 Ag [Presence] in Serum or Plasma"}]},
                    "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "10828004", "display": "Positive"}]}}),
                ],
            ),
            (
                RecordKind::Diagnosis,
                true,
                vec![condition("A97.0", "Dengue without warning signs", date)],
            ),
            (
                RecordKind::Prescription,
                true,
                vec![medication(
                    "Paracetamol 500 mg tablet",
                    "1 tablet every 6 hours when feverish, at most 4 a day",
                    date,
                )],
            ),
        ],
        1 => vec![
            (
                RecordKind::Diagnosis,
                true,
                vec![condition("A01.0", "Typhoid fever", date)],
            ),
            (
                RecordKind::Prescription,
                true,
                vec![medication(
                    "Cefixime 200 mg capsule",
                    "1 capsule twice daily for 14 days",
                    date,
                )],
            ),
        ],
        2 => vec![
            (
                RecordKind::LabReport,
                false,
                report(
                    "1558-6",
                    "Fasting glucose",
                    date,
                    vec![
                        obs(
                            "1558-6",
                            "Fasting glucose [Mass/volume] in Serum or Plasma",
                            f(rng, 126.0, 220.0).round(),
                            "mg/dL",
                            70.0,
                            100.0,
                        ),
                        obs(
                            "4548-4",
                            "Hemoglobin A1c/Hemoglobin.total in Blood",
                            round1(f(rng, 6.5, 10.5)),
                            "%",
                            4.0,
                            5.6,
                        ),
                    ],
                ),
            ),
            (
                RecordKind::Diagnosis,
                true,
                vec![condition(
                    "E11.9",
                    "Type 2 diabetes mellitus without complications",
                    date,
                )],
            ),
            (
                RecordKind::Prescription,
                true,
                vec![medication(
                    "Metformin 500 mg tablet",
                    "1 tablet twice daily with meals",
                    date,
                )],
            ),
        ],
        3 => vec![
            (
                RecordKind::Diagnosis,
                true,
                vec![condition("I10", "Essential (primary) hypertension", date)],
            ),
            (
                RecordKind::Prescription,
                true,
                vec![medication(
                    "Amlodipine 5 mg tablet",
                    "1 tablet every morning",
                    date,
                )],
            ),
        ],
        _ => vec![
            (
                RecordKind::Diagnosis,
                true,
                vec![condition(
                    "A15.0",
                    "Tuberculosis of lung, confirmed by sputum microscopy",
                    date,
                )],
            ),
            (
                RecordKind::Prescription,
                true,
                vec![medication(
                    "Rifampicin/Isoniazid/Pyrazinamide/Ethambutol (RHZE) FDC tablet",
                    "4 tablets daily before breakfast for 2 months (DOTS)",
                    date,
                )],
            ),
        ],
    }
}

/// What `seed` made.
#[derive(Debug, Clone, Serialize)]
pub struct SeedSummary {
    /// Patients registered.
    pub patients: u64,
    /// Doctors registered.
    pub doctors: u64,
    /// Records issued.
    pub records: u64,
    /// Wall-clock seconds taken.
    pub seconds: f64,
    /// Records issued per second.
    pub records_per_second: f64,
}

/// Registers `DOCTORS` (if missing) and up to `patients` patients (a generated NID that is
/// already registered is skipped), each with one illness episode, an encounter and a payment
/// slip. Returns what was made and the issuance rate (sign + validate + log + store).
pub async fn seed(peer: &Peer, patients: u64, rng_seed: u64) -> Result<SeedSummary> {
    let mut rng = Rng::new(rng_seed);
    let mut doctors = Vec::new();
    for (bmdc, name, dept) in DOCTORS {
        if peer.doctor(bmdc).await.is_err() {
            let key = Es256KeyPair::generate()?;
            peer.register_doctor(&NewDoctor {
                bmdc_number: (*bmdc).to_owned(),
                name: (*name).to_owned(),
                department: (*dept).to_owned(),
                public_key: key.public_key().to_jwk(),
            })
            .await?;
        }
        doctors.push(*bmdc);
    }
    let started = std::time::Instant::now();
    let mut records = 0u64;
    let mut registered_count = 0u64;
    for _ in 0..patients {
        let female = rng.below(2) == 0;
        let name = if female {
            rng.pick(FEMALE)
        } else {
            rng.pick(MALE)
        };
        let (district, upazila) = if rng.below(3) == 0 {
            let d = rng.pick(DISTRICTS);
            (*d, format!("{d} Sadar"))
        } else {
            let (d, ups) = rng.pick(UPAZILAS);
            (*d, (*rng.pick(ups)).to_owned())
        };
        let year = 1950 + rng.below(70);
        let nid = if rng.below(2) == 0 {
            rng.digits(10)
        } else {
            rng.digits(17)
        };
        let patient = NewPatient {
            name: (*name).to_owned(),
            birth_date: format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
            sex: if female { "female" } else { "male" }.to_owned(),
            national_id: nid,
            phone: format!("01{}{}", 3 + rng.below(7), rng.digits(8)),
            district: district.to_owned(),
            upazila,
        };
        let registered = match peer.register_patient(&patient).await {
            Ok(r) => r,
            Err(crate::PeerError::DuplicatePatient) => continue,
            Err(e) => return Err(e),
        };
        registered_count += 1;
        let hid = registered.health_id;
        let date = format!("2026-{:02}-{:02}", 1 + rng.below(10), 1 + rng.below(28));
        let doctor = (*rng.pick(&doctors)).to_owned();
        let mut items = episode(&mut rng, &date);
        items.push((RecordKind::Encounter, false, vec![json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
            "period": {"start": format!("{date}T10:30:00+06:00")}})]));
        items.push((
            RecordKind::Payment,
            false,
            vec![json!({"resourceType": "Invoice", "status": "balanced",
            "date": date, "totalGross": {"value": 300 + 50 * rng.below(40), "currency": "BDT"}})],
        ));
        for (kind, by_doctor, resources) in items {
            peer.issue_record(&IssueRequest {
                health_id: hid.clone(),
                kind,
                doctor_bmdc: by_doctor.then(|| doctor.clone()),
                supersedes: None,
                resources,
            })
            .await?;
            records += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(SeedSummary {
        patients: registered_count,
        doctors: doctors.len() as u64,
        records,
        seconds,
        records_per_second: if seconds > 0.0 {
            records as f64 / seconds
        } else {
            0.0
        },
    })
}

/// The statistics scenario `seed --scenario dengue` issues: (district, upazila, patients).
/// Sylhet's 3 cases are below k = 10 and must be suppressed; Dhaka's 40 must be shown.
pub const DENGUE_SCENARIO: &[(&str, &str, u64)] = &[
    ("Sylhet", "Beanibazar", 3),
    ("Dhaka", "Savar", 22),
    ("Dhaka", "Dhamrai", 12),
    ("Dhaka", "Keraniganj", 6),
];

/// Registers the patients of [`DENGUE_SCENARIO`] and issues each a signed dengue diagnosis
/// (ICD-10 A97.0) now, through the ordinary issuance path (card, log, statistics row).
pub async fn seed_dengue_scenario(peer: &Peer, rng_seed: u64) -> Result<SeedSummary> {
    seed_diagnoses(peer, DENGUE_SCENARIO, "A97.0", rng_seed).await
}

/// Registers `n` new patients per `(district, upazila, n)` and issues each a signed diagnosis
/// with ICD-10 code `icd10` now, through the ordinary issuance path.
pub async fn seed_diagnoses(
    peer: &Peer,
    places: &[(&str, &str, u64)],
    icd10: &str,
    rng_seed: u64,
) -> Result<SeedSummary> {
    let mut rng = Rng::new(rng_seed);
    let started = std::time::Instant::now();
    let display = spondon_core::stats::condition_group(icd10)
        .and_then(spondon_core::stats::condition_label)
        .unwrap_or("Diagnosis")
        .to_owned();
    let today = {
        let days = (spondon_core::NumericDate::now().seconds()
            + spondon_core::stats::week::BST_OFFSET)
            .div_euclid(86_400);
        let (y, m, d) = spondon_core::stats::week::civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}")
    };
    let (mut patients, mut records) = (0u64, 0u64);
    for (district, upazila, n) in places {
        let mut made = 0;
        while made < *n {
            let female = rng.below(2) == 0;
            let patient = NewPatient {
                name: (*rng.pick(if female { FEMALE } else { MALE })).to_owned(),
                birth_date: format!(
                    "{}-{:02}-{:02}",
                    1950 + rng.below(70),
                    1 + rng.below(12),
                    1 + rng.below(28)
                ),
                sex: if female { "female" } else { "male" }.to_owned(),
                national_id: rng.digits(17),
                phone: format!("01{}{}", 3 + rng.below(7), rng.digits(8)),
                district: (*district).to_owned(),
                upazila: (*upazila).to_owned(),
            };
            let registered = match peer.register_patient(&patient).await {
                Ok(r) => r,
                Err(crate::PeerError::DuplicatePatient) => continue,
                Err(e) => return Err(e),
            };
            peer.issue_record(&IssueRequest {
                health_id: registered.health_id,
                kind: RecordKind::Diagnosis,
                doctor_bmdc: None,
                supersedes: None,
                resources: vec![condition(icd10, &display, &today)],
            })
            .await?;
            made += 1;
            patients += 1;
            records += 1;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(SeedSummary {
        patients,
        doctors: 0,
        records,
        seconds,
        records_per_second: if seconds > 0.0 {
            records as f64 / seconds
        } else {
            0.0
        },
    })
}

/// What [`bulk_stat_cases`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BulkSummary {
    /// Statistics cases written.
    pub cases: u64,
    /// First ISO week covered (`2026-W01`).
    pub from: String,
    /// Last ISO week covered.
    pub to: String,
    /// Wall-clock seconds taken.
    pub seconds: f64,
}

/// The fast path for statistics at scale: writes `cases` synthetic rows straight into the
/// statistics table (no patient registration, card, signature or log entry per row), spread
/// over the 52 weeks ending at `to`: a dengue season peaking in September, concentrated in
/// Dhaka and Chattogram, and steady typhoid, TB, diabetes, hypertension, COVID-19 and malaria.
/// It measures the statistics computation, not issuance (see `docs/peer.md`).
pub async fn bulk_stat_cases(
    peer: &Peer,
    cases: u64,
    rng_seed: u64,
    to: spondon_core::stats::IsoWeek,
) -> Result<BulkSummary> {
    use spondon_core::stats::{AGE_BANDS, IsoWeek, SEXES};
    let started = std::time::Instant::now();
    let mut rng = Rng::new(rng_seed);
    let to_monday = to.monday();
    let weeks: Vec<IsoWeek> = (0..52)
        .map(|i| IsoWeek::from_days(to_monday - (51 - i) * 7))
        .collect();
    let from = weeks[0];
    // Dengue season weight per week (peak ~ ISO week 38).
    let season = |w: IsoWeek| {
        let x = (f64::from(w.week) - 38.0) / 5.0;
        0.04 + (-x * x).exp()
    };
    const OTHER: &[(&str, u64)] = &[
        ("typhoid", 18),
        ("tuberculosis", 10),
        ("diabetes", 25),
        ("hypertension", 25),
        ("covid19", 4),
        ("malaria", 3),
    ];
    let batch_rows = 1000usize;
    let mut written = 0u64;
    let tag: u32 = (rng.next_u64() & 0xffff_ffff) as u32;
    while written < cases {
        let n = (cases - written).min(50_000);
        let mut rows = Vec::with_capacity(n as usize);
        for i in 0..n {
            let dengue = rng.below(100) < 35;
            let (condition, week) = if dengue {
                loop {
                    let w = *rng.pick(&weeks);
                    if (rng.below(1000) as f64) / 1000.0 < season(w) {
                        break ("dengue", w);
                    }
                }
            } else {
                let total: u64 = OTHER.iter().map(|o| o.1).sum();
                let mut r = rng.below(total);
                let mut pick = OTHER[0].0;
                for (c, wgt) in OTHER {
                    if r < *wgt {
                        pick = c;
                        break;
                    }
                    r -= wgt;
                }
                (pick, *rng.pick(&weeks))
            };
            let (district, upazila) = match rng.below(10) {
                0..=3 if dengue => ("Dhaka", (*rng.pick(UPAZILAS[0].1)).to_owned()),
                4..=5 if dengue => ("Chattogram", (*rng.pick(UPAZILAS[1].1)).to_owned()),
                0..=2 => {
                    let d = rng.pick(DISTRICTS);
                    (*d, format!("{d} Sadar"))
                }
                _ => {
                    let (d, ups) = rng.pick(UPAZILAS);
                    (*d, (*rng.pick(ups)).to_owned())
                }
            };
            rows.push(crate::db::stats::NewCase {
                condition,
                week: week.key(),
                health_id: format!("bulk-{tag:08x}-{}", written + i),
                district,
                upazila,
                age_band: rng.pick::<&str>(&AGE_BANDS[..6]),
                sex: rng.pick::<&str>(SEXES),
            });
        }
        crate::db::stats::insert_cases(&peer.db, &rows, batch_rows).await?;
        written += n;
    }
    Ok(BulkSummary {
        cases: written,
        from: from.to_string(),
        to: to.to_string(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
