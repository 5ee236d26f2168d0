-- Revocation ids and grant use counts are scoped per patient key: anyone who learns a victim's
-- revocation id or grant id (it is in the QR) must not be able to pre-empt the victim's
-- revocation or use up the victim's grant with a grant of their own carrying the same id.
CREATE TABLE peer_revocations_scoped (
    id BLOB NOT NULL,
    patient_kid TEXT NOT NULL,
    grant_id BLOB,
    before_ts INTEGER,
    token TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    log_index INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (patient_kid, id)
);
INSERT INTO peer_revocations_scoped (id, patient_kid, grant_id, before_ts, token, registered_at, log_index)
    SELECT id, patient_kid, grant_id, before_ts, token, registered_at, log_index FROM peer_revocations;
DROP TABLE peer_revocations;
ALTER TABLE peer_revocations_scoped RENAME TO peer_revocations;
-- Use counts from before this migration cannot be attributed to a key; they are kept under
-- the empty kid and still counted (see access.rs count_use).
CREATE TABLE peer_grant_uses_scoped (
    patient_kid TEXT NOT NULL,
    grant_id BLOB NOT NULL,
    uses INTEGER NOT NULL,
    PRIMARY KEY (patient_kid, grant_id)
);
INSERT INTO peer_grant_uses_scoped (patient_kid, grant_id, uses) SELECT '', grant_id, uses FROM peer_grant_uses;
DROP TABLE peer_grant_uses;
ALTER TABLE peer_grant_uses_scoped RENAME TO peer_grant_uses;
