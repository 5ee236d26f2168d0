-- Idempotency keys of the staff writes other than record issuance (docs/peer.md, "Retries:
-- Idempotency-Key"): registering a patient, a new enrollment code, a doctor, a hospital system,
-- disabling a system, revoking a record, confirming an emergency access. Written in the same
-- transaction as the write, with the SHA-256 of the request (method, path, body) and the answer
-- to replay (never an enrollment code: for those only the Health ID, and a replay issues a
-- fresh code).
CREATE TABLE peer_write_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    answer TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
