-- Idempotency keys of staff writes (docs/peer.md, "Retries: Idempotency-Key"): a retried
-- issuance with the same key answers the record issued the first time. The row is written in
-- the same transaction as the record, so a record and its key exist together or not at all.
CREATE TABLE peer_idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    record_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
