-- Access events (receipts), revocations, grant use counts, PoP replay cache.
CREATE TABLE peer_access_events (
    seq BIGSERIAL PRIMARY KEY,
    health_id TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    payload TEXT NOT NULL,
    salt BYTEA NOT NULL,
    log_index BIGINT NOT NULL UNIQUE,
    at BIGINT NOT NULL
);
CREATE INDEX peer_access_events_patient ON peer_access_events (health_id, seq);
CREATE TABLE peer_revocations (
    id BYTEA PRIMARY KEY,
    patient_kid TEXT NOT NULL,
    grant_id BYTEA,
    before_ts BIGINT,
    token TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    log_index BIGINT NOT NULL UNIQUE
);
CREATE INDEX peer_revocations_key ON peer_revocations (patient_kid);
CREATE TABLE peer_grant_uses (
    grant_id BYTEA PRIMARY KEY,
    uses BIGINT NOT NULL
);
CREATE TABLE peer_pop_ids (
    id BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
