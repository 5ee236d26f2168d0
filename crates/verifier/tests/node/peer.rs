//! The peer of the clinic node's tests: a real `spondon-peer` process from the test kit
//! (`spondon_testkit::spawned`), and the node's doctor registered there.
#![allow(unused_imports)]

pub use spondon_testkit::fhir::report_pdf;
pub use spondon_testkit::spawned::{PeerProc, URL, start_peer, start_peer_on};

/// Registers the node's doctor key at the peer and imports the credential into the node.
pub async fn enroll_doctor(peer: &PeerProc, node: &super::TestNode) {
    let credential = peer
        .register_doctor_key(
            "A-40112",
            "Dr. Shirin Sultana",
            &node.init["doctor_public_jwk"],
        )
        .await;
    let file = super::write(node.dir.path(), "cred.txt", &credential);
    super::run(&[
        "doctor-credential",
        "import",
        "--data",
        node.data_str(),
        file.to_str().unwrap(),
    ]);
}

/// Uploads `pdf` at the peer and issues a CBC document record of it for `hid`.
pub async fn issue_document(peer: &PeerProc, hid: &str, pdf: &[u8]) -> String {
    peer.document(
        hid,
        pdf,
        "application/pdf",
        "cbc-2026-12-06.pdf",
        "lab_result",
    )
    .await
}
