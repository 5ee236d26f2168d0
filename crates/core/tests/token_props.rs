#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests: every Spondon encode/decode round trip, and decoders that never panic.

use std::sync::LazyLock;

use proptest::collection::vec;
use proptest::prelude::*;
use spondon_core::keys::{Ed25519KeyPair, Es256KeyPair};
use spondon_core::qr;
use spondon_core::time::NumericDate;
use spondon_core::token::{
    self, Audience, Category, DoctorCredential, EnrollmentCredential, Grant, Hospital, PopProof,
    PopRequest, Purpose, Revocation, RevocationTarget, TokenClaims, TrustAnchors, TrustList,
};

static KEYS: LazyLock<Vec<Es256KeyPair>> =
    LazyLock::new(|| (0..4).map(|_| Es256KeyPair::generate().unwrap()).collect());

fn date() -> impl Strategy<Value = NumericDate> {
    (0i64..4_000_000_000).prop_map(NumericDate)
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ./:_-]{1,40}".prop_filter("no blank", |s| !s.trim().is_empty())
}

fn peer() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,20}".prop_map(|h| format!("https://{h}.example.org")),
        "[a-z0-9.-]{1,30}",
    ]
}

prop_compose! {
    fn grant()(
        key in 0usize..4,
        aud in 0usize..4,
        bearer in any::<bool>(),
        id in any::<[u8; 16]>(),
        cats in proptest::sample::subsequence(Category::ALL.to_vec(), 1..=7),
        records in proptest::collection::btree_set("[a-zA-Z0-9/_-]{1,60}", 0..4),
        write in any::<bool>(),
        purpose in proptest::sample::select(Purpose::ALL.to_vec()),
        iat_back in 0i64..=30 * 86_400,
        nbf in date(),
        life in 0i64..token::MAX_GRANT_LIFETIME - 30 * 86_400,
        uses in proptest::option::of(1u64..=token::MAX_USES),
        peers in proptest::collection::btree_set(peer(), 1..=4),
    ) -> Grant {
        let audience = if bearer {
            Audience::Bearer
        } else {
            Audience::Key { kid: KEYS[aud].kid().to_owned() }
        };
        Grant {
            id,
            patient_key: KEYS[key].public_key().clone(),
            audience,
            categories: cats,
            record_ids: records.into_iter().collect(),
            write,
            purpose,
            issued_at: NumericDate((nbf.0 - iat_back).max(0)),
            not_before: nbf,
            expires: NumericDate((nbf.0 + life).min(NumericDate::MAX.0)),
            use_limit: if bearer { Some(1) } else { uses },
            peers: peers.into_iter().collect(),
        }
    }
}

fn signer_of(g: &Grant) -> &'static Es256KeyPair {
    KEYS.iter()
        .find(|k| k.public_key() == &g.patient_key)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn grant_round_trip(g in grant()) {
        let text = g.sign(signer_of(&g)).unwrap();
        prop_assert!(token::base45::is_qr_alphanumeric(&text));
        let parsed = token::decode_any(&text).unwrap();
        prop_assert_eq!(&parsed.claims, &TokenClaims::Grant(g.clone()));
        parsed.verify(&TrustAnchors::default(), g.not_before).unwrap();
    }

    #[test]
    fn revocation_round_trip(key in 0usize..4, id in any::<[u8; 16]>(), gid in proptest::option::of(any::<[u8; 16]>()), before in date(), iat in date()) {
        let target = match gid { Some(grant_id) => RevocationTarget::Grant { grant_id }, None => RevocationTarget::IssuedBefore { before } };
        let r = Revocation { id, patient_key: KEYS[key].public_key().clone(), target, issued_at: iat };
        let text = r.sign(&KEYS[key]).unwrap();
        prop_assert_eq!(Revocation::decode_and_verify(&text, iat).unwrap(), r);
    }

    #[test]
    fn credentials_round_trip(hid in ident(), sub in ident(), name in ident(), dept in ident(), nbf in date(), life in 0i64..token::MAX_DOCTOR_LIFETIME, k in 0usize..4) {
        let exp = NumericDate((nbf.0 + life).min(NumericDate::MAX.0));
        let e = EnrollmentCredential { hospital_id: hid.clone(), health_id: sub.clone(), patient_key: KEYS[k].public_key().clone(), issued_at: nbf, not_before: nbf, expires: exp };
        let text = e.sign(&KEYS[0]).unwrap();
        prop_assert_eq!(token::decode_any(&text).unwrap().claims, TokenClaims::Enrollment(e));
        let d = DoctorCredential { hospital_id: hid, bmdc_number: sub, name, department: dept, doctor_key: KEYS[k].public_key().clone(), issued_at: nbf, not_before: nbf, expires: exp };
        let text = d.sign(&KEYS[1]).unwrap();
        prop_assert_eq!(token::decode_any(&text).unwrap().claims, TokenClaims::DoctorCredential(d));
    }

    #[test]
    fn trust_list_round_trip(ids in proptest::collection::btree_set("[a-z]{1,12}", 0..6), seq in 0u64..u64::from(u32::MAX), nbf in date(), life in 0i64..token::MAX_TRUST_LIST_LIFETIME, seed in any::<[u8; 32]>()) {
        let log_key = *Ed25519KeyPair::from_seed(&seed).unwrap().public_key();
        let hospitals = ids.into_iter().enumerate().map(|(i, id)| Hospital {
            name: format!("Hospital {id}"),
            peer_url: format!("https://{id}.example.org"),
            record_keys: KEYS[..1 + i % 4].iter().map(|k| k.public_key().clone()).collect(),
            log_key,
            log_origin: format!("{id}.example.org/log"),
            id,
        }).collect();
        let exp = NumericDate((nbf.0 + life).min(NumericDate::MAX.0));
        let list = TrustList { witnessing: Default::default(), publish_url: None, investigators: Vec::new(), authority: "DGHS".into(), sequence: seq, issued_at: nbf, not_before: nbf, expires: exp, hospitals };
        let text = list.sign(&KEYS[2]).unwrap();
        prop_assert_eq!(TrustList::decode_and_verify(&text, KEYS[2].public_key(), seq, nbf).unwrap(), list);
    }

    #[test]
    fn pop_round_trip(g in grant(), path in "[a-z0-9/]{0,30}", nonce in vec(any::<u8>(), 8..=64), method in "(GET|POST|PUT)", skew in -100i64..100) {
        prop_assume!(matches!(g.audience, Audience::Key { .. }));
        let Audience::Key { kid } = &g.audience else { unreachable!() };
        let aud = KEYS.iter().find(|k| k.kid() == kid).unwrap();
        let url = format!("https://peer.example.org/{path}");
        let req = PopRequest { method: &method, url: &url, nonce: &nonce, body: nonce.as_slice() };
        let now = NumericDate(1_800_000_000);
        let proof = PopProof::create(aud, g.id, &req, now).unwrap();
        let back = PopProof::verify(&proof, &g, &req, now.saturating_add(skew), token::POP_MAX_SKEW).unwrap();
        prop_assert_eq!(back.grant_id, g.id);
    }

    #[test]
    fn base45_round_trip(bytes in vec(any::<u8>(), 0..600)) {
        let text = token::base45::encode(&bytes);
        prop_assert!(token::base45::is_qr_alphanumeric(&text));
        prop_assert_eq!(token::base45::decode(&text).unwrap(), bytes);
    }

    #[test]
    fn base45_decode_never_panics(text in "[0-9A-Z $%*+./:a-z-]{0,64}") {
        if let Ok(bytes) = token::base45::decode(&text) {
            prop_assert_eq!(token::base45::encode(&bytes), text);
        }
    }

    #[test]
    fn decode_any_never_panics(bytes in vec(any::<u8>(), 0..400), raw in ".{0,200}") {
        let _ = token::decode_any(&token::raw::to_text(&bytes));
        let _ = token::decode_any(&raw);
        let _ = PopProof::decode(&raw);
    }

    #[test]
    fn mutated_grant_never_panics(g in grant(), pos in any::<proptest::sample::Index>(), byte in any::<u8>()) {
        let text = g.sign(signer_of(&g)).unwrap();
        let mut cose = token::raw::from_text(&text).unwrap();
        let i = pos.index(cose.len());
        cose[i] = byte;
        if let Ok(p) = token::decode_any(&token::raw::to_text(&cose)) {
            let _ = p.verify(&TrustAnchors::default(), g.not_before);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Any QR-alphanumeric text survives QR → PNG → rqrr.
    #[test]
    fn qr_text_round_trip(text in "[0-9A-Z $%*+./:-]{1,300}") {
        let code = qr::encode(&text).unwrap();
        prop_assert!(code.is_alphanumeric());
        let png = code.to_png(3).unwrap();
        prop_assert_eq!(qr::decode_image(&png).unwrap(), vec![text]);
    }

    #[test]
    fn qr_token_round_trip(g in grant()) {
        let text = g.sign(signer_of(&g)).unwrap();
        let png = qr::encode(&text).unwrap().to_png(3).unwrap();
        let decoded = qr::decode_image(&png).unwrap();
        prop_assert_eq!(token::decode_any(&decoded[0]).unwrap().claims, TokenClaims::Grant(g));
    }
}
