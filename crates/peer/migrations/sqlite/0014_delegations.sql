-- Delegations (docs/protocol.md §16, docs/peer.md "Delegates"): a patient registers the
-- delegation tokens they signed, so that the peer can refuse a delegate's grant under a
-- delegation it does not know or that was revoked (peer_revocations, by the delegation's id),
-- and let a delegate with the view scope (or a minor's guardian) pull the patient's records and
-- receipts with their own key.
CREATE TABLE peer_delegations (
    patient_kid TEXT NOT NULL,
    id BLOB NOT NULL,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    delegate_kid TEXT NOT NULL,
    -- Space-separated scope names (view, share, manage) and guardian key ids.
    scopes TEXT NOT NULL,
    guardians TEXT NOT NULL,
    token TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (patient_kid, id)
);
CREATE INDEX peer_delegations_delegate ON peer_delegations (delegate_kid);
