-- spondon-verifier schema (SQLite). No health data is stored: only staff, the pinned trust
-- list, cached revocation lists, the doctor credential and access receipts.
CREATE TABLE verifier_staff (
    token_hash BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE verifier_trust_lists (
    sequence INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    fetched_at INTEGER NOT NULL
);
CREATE TABLE verifier_crls (
    issuer TEXT NOT NULL,
    kid TEXT NOT NULL,
    crl TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, kid)
);
CREATE TABLE verifier_refresh (
    source TEXT PRIMARY KEY,
    ok_at INTEGER,
    tried_at INTEGER NOT NULL,
    error TEXT
);
CREATE TABLE verifier_doctor_credential (
    kid TEXT PRIMARY KEY,
    credential TEXT NOT NULL,
    imported_at INTEGER NOT NULL
);
CREATE TABLE verifier_receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id TEXT NOT NULL,
    peer TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    records INTEGER NOT NULL,
    access_log_index INTEGER,
    at INTEGER NOT NULL
);
