-- spondon-peer schema (SQLite). Medical records are insert-only.
CREATE TABLE peer_staff_tokens (
    token_hash BLOB PRIMARY KEY,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE peer_patients (
    health_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    national_id TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    district TEXT NOT NULL,
    upazila TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE peer_enrollment_codes (
    code_hash BLOB PRIMARY KEY,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE peer_doctors (
    bmdc_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT NOT NULL,
    key_kid TEXT NOT NULL UNIQUE,
    key_jwk TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE peer_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    category INTEGER NOT NULL,
    kind TEXT NOT NULL,
    doctor_bmdc TEXT REFERENCES peer_doctors (bmdc_number),
    supersedes TEXT UNIQUE REFERENCES peer_records (id),
    jws TEXT NOT NULL,
    salt BLOB NOT NULL,
    log_index INTEGER NOT NULL UNIQUE,
    issued_at INTEGER NOT NULL
);
CREATE INDEX peer_records_patient ON peer_records (health_id, seq);
CREATE TRIGGER peer_records_insert_only_u BEFORE UPDATE ON peer_records BEGIN SELECT RAISE(ABORT, 'peer_records is insert-only'); END;
CREATE TRIGGER peer_records_insert_only_d BEFORE DELETE ON peer_records BEGIN SELECT RAISE(ABORT, 'peer_records is insert-only'); END;
