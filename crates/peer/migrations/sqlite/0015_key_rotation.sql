-- Key rotation (docs/protocol.md §17, docs/peer.md "Lost phone: key rotation and re-binding"):
-- every patient key retired by a rotation statement or by a re-binding after an identity check,
-- and the key that replaced it. A retired key is refused with key_rotated from then on, for
-- pulls, signed requests and the redemption of every grant it signed.
CREATE TABLE peer_key_rotations (
    old_kid TEXT PRIMARY KEY,
    new_kid TEXT NOT NULL,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    -- 'statement' (signed by the old and the new key) or 'identity_check' (staff re-binding).
    via TEXT NOT NULL,
    -- The statement's id (cti) and text; NULL for an identity check.
    statement_id BLOB,
    statement TEXT,
    rotated_at INTEGER NOT NULL,
    log_index INTEGER NOT NULL UNIQUE
);
CREATE INDEX peer_key_rotations_patient ON peer_key_rotations (health_id);
CREATE INDEX peer_key_rotations_new ON peer_key_rotations (new_kid);
