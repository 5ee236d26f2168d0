//! The wire types of emergency access, delegates, files, writes, enrollment and errors: each
//! writes the exact bytes the peer wrote before they moved here (its field order), each
//! request writes the bytes a sorted `json!` map did, and each reads back what it wrote.
#![allow(clippy::expect_used)]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use spondon_protocol::{
    DelegateFileRequest, DelegateRequest, DelegationRegistered, DelegationRegistration, Disputed,
    EmergencyConfirmed, EmergencyRequested, EmergencySummary, EnrollRequest, FileRequest,
    GrantFileRequest, PasscodeRegistered, PasscodeRegistration, PolicyRegistered, PulledRecord,
    RevokeRequest, SummaryItem, SummaryMedication, SummaryPatient, SummaryRequest, WriteRequest,
};

/// `value` writes exactly `text`, and `text` reads back as `value`.
fn round_trip<T>(value: &T, text: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(serde_json::to_string(value).expect("writes"), text);
    let back: T = serde_json::from_str(text).expect("reads");
    assert_eq!(&back, value);
}

/// A request writes the bytes of the same fields as a `json!` map (keys sorted).
fn same_as_map<T: Serialize>(value: &T, map: serde_json::Value) {
    assert_eq!(
        serde_json::to_string(value).expect("writes"),
        map.to_string()
    );
}

fn record(id: &str) -> PulledRecord {
    PulledRecord {
        id: id.into(),
        kind: "lab_report".into(),
        supersedes: None,
        issued_at: 1_763_790_000,
        jws: "a.b.c".into(),
        log_index: 7,
        entry: "AQ==".into(),
        salt: "c2FsdA".into(),
        inclusion_proof: vec!["aGFzaA==".into()],
    }
}

#[test]
fn an_emergency_request_and_its_confirmation() {
    round_trip(
        &EmergencyRequested {
            access_id: "A".repeat(22),
            status: "pending_confirmation".into(),
            confirm_by: 1800,
            hours: 4,
        },
        &format!(
            r#"{{"access_id":"{}","status":"pending_confirmation","confirm_by":1800,"hours":4}}"#,
            "A".repeat(22)
        ),
    );
    round_trip(
        &EmergencyConfirmed {
            access_id: "x".into(),
            confirmed_by: "tok".into(),
            expires_at: 99,
            log_index: 12,
            records: 3,
        },
        r#"{"access_id":"x","confirmed_by":"tok","expires_at":99,"log_index":12,"records":3}"#,
    );
}

#[test]
fn an_emergency_summary() {
    let summary = EmergencySummary {
        access_id: "x".into(),
        expires_at: 99,
        patient: SummaryPatient {
            health_id: "H1".into(),
            name: "Rahima".into(),
            birth_date: "1990-01-02".into(),
            sex: "female".into(),
        },
        allergies: vec![SummaryItem {
            text: "Penicillin".into(),
            code: None,
            record_id: "r1".into(),
        }],
        medications: vec![SummaryMedication {
            medication: "Metformin".into(),
            dosage: Some("500 mg twice a day".into()),
            record_id: "r1".into(),
        }],
        problems: vec![SummaryItem {
            text: "E11".into(),
            code: Some("E11".into()),
            record_id: "r1".into(),
        }],
        blood_group: Some("B+".into()),
        records: vec![record("r1")],
        checkpoint: "cp".into(),
        tree_size: 8,
    };
    round_trip(
        &summary,
        concat!(
            r#"{"access_id":"x","expires_at":99,"#,
            r#""patient":{"health_id":"H1","name":"Rahima","birth_date":"1990-01-02","sex":"female"},"#,
            r#""allergies":[{"text":"Penicillin","code":null,"record_id":"r1"}],"#,
            r#""medications":[{"medication":"Metformin","dosage":"500 mg twice a day","record_id":"r1"}],"#,
            r#""problems":[{"text":"E11","code":"E11","record_id":"r1"}],"blood_group":"B+","#,
            r#""records":[{"id":"r1","kind":"lab_report","supersedes":null,"issued_at":1763790000,"#,
            r#""jws":"a.b.c","log_index":7,"entry":"AQ==","salt":"c2FsdA","inclusion_proof":["aGFzaA=="]}],"#,
            r#""checkpoint":"cp","tree_size":8}"#
        ),
    );
    // A summary without its records cannot be checked: it is refused, not read as empty.
    let mut v = serde_json::to_value(&summary).expect("writes");
    v.as_object_mut().expect("an object").remove("records");
    assert!(serde_json::from_value::<EmergencySummary>(v).is_err());
}

#[test]
fn the_patients_policy_and_dispute_answers() {
    round_trip(
        &PolicyRegistered {
            mode: "opt_out".into(),
            set_at: 5,
            allowed_here: false,
        },
        r#"{"mode":"opt_out","set_at":5,"allowed_here":false}"#,
    );
    round_trip(
        &Disputed {
            access_id: "x".into(),
            disputed_at: 6,
        },
        r#"{"access_id":"x","disputed_at":6}"#,
    );
}

#[test]
fn delegate_requests_and_answers() {
    let pull = DelegateRequest {
        known_size: 3,
        patient: "kid".into(),
        since: 9,
    };
    same_as_map(
        &pull,
        json!({"patient": "kid", "since": 9, "known_size": 3}),
    );
    round_trip(&pull, r#"{"known_size":3,"patient":"kid","since":9}"#);
    // The cursors default to 0; anything else is refused.
    let bare: DelegateRequest = serde_json::from_str(r#"{"patient":"kid"}"#).expect("reads");
    assert_eq!((bare.since, bare.known_size), (0, 0));
    assert!(serde_json::from_str::<DelegateRequest>(r#"{"patient":"k","extra":1}"#).is_err());

    round_trip(
        &DelegationRegistration {
            delegation: "SPONDON:1:d".into(),
        },
        r#"{"delegation":"SPONDON:1:d"}"#,
    );
    round_trip(
        &DelegationRegistered {
            delegation_id: "id".into(),
            delegate: "kid".into(),
            expires_at: 7,
        },
        r#"{"delegation_id":"id","delegate":"kid","expires_at":7}"#,
    );
}

#[test]
fn file_requests() {
    let bearer = GrantFileRequest {
        grant: "SPONDON:1:g".into(),
        passcode: Some("1234".into()),
        record_id: "r1".into(),
    };
    same_as_map(
        &bearer,
        json!({"grant": "SPONDON:1:g", "record_id": "r1", "passcode": "1234"}),
    );
    round_trip(
        &bearer,
        r#"{"grant":"SPONDON:1:g","passcode":"1234","record_id":"r1"}"#,
    );
    // No passcode: the field is left out, as the clinic node always sent it.
    let pop = GrantFileRequest {
        passcode: None,
        ..bearer
    };
    same_as_map(&pop, json!({"grant": "SPONDON:1:g", "record_id": "r1"}));
    round_trip(&pop, r#"{"grant":"SPONDON:1:g","record_id":"r1"}"#);

    round_trip(
        &FileRequest {
            record_id: "r1".into(),
        },
        r#"{"record_id":"r1"}"#,
    );
    round_trip(
        &DelegateFileRequest {
            patient: "kid".into(),
            record_id: "r1".into(),
        },
        r#"{"patient":"kid","record_id":"r1"}"#,
    );
}

#[test]
fn a_write_under_a_grant() {
    let w = WriteRequest {
        grant: "SPONDON:1:g".into(),
        kind: "prescription".to_owned(),
        resources: vec![json!({"resourceType": "MedicationRequest"})],
        supersedes: None,
    };
    same_as_map(
        &w,
        json!({"grant": "SPONDON:1:g", "kind": "prescription",
               "resources": [{"resourceType": "MedicationRequest"}]}),
    );
    round_trip(
        &w,
        r#"{"grant":"SPONDON:1:g","kind":"prescription","resources":[{"resourceType":"MedicationRequest"}]}"#,
    );
    let replacing = WriteRequest {
        supersedes: Some("r0".into()),
        ..w
    };
    round_trip(
        &replacing,
        r#"{"grant":"SPONDON:1:g","kind":"prescription","resources":[{"resourceType":"MedicationRequest"}],"supersedes":"r0"}"#,
    );
    // The reader picks the kind's type: an enum refuses a kind it does not know.
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Prescription,
    }
    let typed: WriteRequest<Kind> =
        serde_json::from_str(r#"{"grant":"g","kind":"prescription","resources":[]}"#)
            .expect("reads");
    assert!(matches!(typed.kind, Kind::Prescription));
    assert!(
        serde_json::from_str::<WriteRequest<Kind>>(r#"{"grant":"g","kind":"x","resources":[]}"#)
            .is_err()
    );
}

#[test]
fn enrollment_passcodes_and_revocations() {
    let enroll = EnrollRequest {
        code: "ABCD-1234".into(),
        health_id: "H1".into(),
        public_key: json!({"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}),
    };
    same_as_map(
        &enroll,
        json!({"health_id": "H1", "code": "ABCD-1234",
               "public_key": {"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}}),
    );
    let back: EnrollRequest<serde_json::Value> =
        serde_json::from_str(&serde_json::to_string(&enroll).expect("writes")).expect("reads");
    assert_eq!(back, enroll);

    round_trip(
        &PasscodeRegistration {
            grant: "SPONDON:1:g".into(),
            verifier: "v".into(),
        },
        r#"{"grant":"SPONDON:1:g","verifier":"v"}"#,
    );
    round_trip(
        &PasscodeRegistered {
            grant_id: "id".into(),
            max_failures: 5,
        },
        r#"{"grant_id":"id","max_failures":5}"#,
    );
    round_trip(
        &RevokeRequest {
            revocation: "SPONDON:1:r".into(),
        },
        r#"{"revocation":"SPONDON:1:r"}"#,
    );
    round_trip(
        &SummaryRequest {
            access_id: "x".into(),
        },
        r#"{"access_id":"x"}"#,
    );
    assert!(serde_json::from_str::<RevokeRequest>(r#"{"revocation":"r","x":1}"#).is_err());
}
