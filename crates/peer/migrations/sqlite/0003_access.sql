-- Access events (receipts), revocations, grant use counts, PoP replay cache.
CREATE TABLE peer_access_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    health_id TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    payload TEXT NOT NULL,
    salt BLOB NOT NULL,
    log_index INTEGER NOT NULL UNIQUE,
    at INTEGER NOT NULL
);
CREATE INDEX peer_access_events_patient ON peer_access_events (health_id, seq);
CREATE TABLE peer_revocations (
    id BLOB PRIMARY KEY,
    patient_kid TEXT NOT NULL,
    grant_id BLOB,
    before_ts INTEGER,
    token TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    log_index INTEGER NOT NULL UNIQUE
);
CREATE INDEX peer_revocations_key ON peer_revocations (patient_kid);
CREATE TABLE peer_grant_uses (
    grant_id BLOB PRIMARY KEY,
    uses INTEGER NOT NULL
);
CREATE TABLE peer_pop_ids (
    id BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
