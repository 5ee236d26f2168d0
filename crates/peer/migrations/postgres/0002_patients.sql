-- Patient key enrollments and server nonces.
CREATE TABLE peer_enrollments (
    kid TEXT PRIMARY KEY,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    key_jwk TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX peer_enrollments_active ON peer_enrollments (health_id) WHERE revoked_at IS NULL;
CREATE TABLE peer_nonces (
    nonce BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
