-- spondon-peer schema (PostgreSQL). Medical records are insert-only.
CREATE TABLE peer_staff_tokens (
    token_hash BYTEA PRIMARY KEY,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
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
    created_at BIGINT NOT NULL
);
CREATE TABLE peer_enrollment_codes (
    code_hash BYTEA PRIMARY KEY,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE TABLE peer_doctors (
    bmdc_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT NOT NULL,
    key_kid TEXT NOT NULL UNIQUE,
    key_jwk TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE peer_records (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    category BIGINT NOT NULL,
    kind TEXT NOT NULL,
    doctor_bmdc TEXT REFERENCES peer_doctors (bmdc_number),
    supersedes TEXT UNIQUE REFERENCES peer_records (id),
    jws TEXT NOT NULL,
    salt BYTEA NOT NULL,
    log_index BIGINT NOT NULL UNIQUE,
    issued_at BIGINT NOT NULL
);
CREATE INDEX peer_records_patient ON peer_records (health_id, seq);
CREATE FUNCTION peer_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME; END $$;
CREATE TRIGGER peer_records_insert_only BEFORE UPDATE OR DELETE ON peer_records FOR EACH ROW EXECUTE FUNCTION peer_insert_only();
