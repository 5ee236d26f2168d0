-- spondon-verifier schema (PostgreSQL). No health data is stored: only staff, the pinned trust
-- list, cached revocation lists, the doctor credential and access receipts.
CREATE TABLE verifier_staff (
    token_hash BYTEA PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE verifier_trust_lists (
    sequence BIGINT PRIMARY KEY,
    text TEXT NOT NULL,
    fetched_at BIGINT NOT NULL
);
CREATE TABLE verifier_crls (
    issuer TEXT NOT NULL,
    kid TEXT NOT NULL,
    crl TEXT NOT NULL,
    fetched_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, kid)
);
CREATE TABLE verifier_refresh (
    source TEXT PRIMARY KEY,
    ok_at BIGINT,
    tried_at BIGINT NOT NULL,
    error TEXT
);
CREATE TABLE verifier_doctor_credential (
    kid TEXT PRIMARY KEY,
    credential TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE TABLE verifier_receipts (
    id BIGSERIAL PRIMARY KEY,
    grant_id TEXT NOT NULL,
    peer TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    records BIGINT NOT NULL,
    access_log_index BIGINT,
    at BIGINT NOT NULL
);
