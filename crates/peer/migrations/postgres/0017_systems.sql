-- Hospital systems (HIS/LIS) that push records over FHIR (docs/peer.md, "Hospital systems: FHIR
-- push"): registered by an admin with their public JWKS (SMART Backend Services, RFC 7523), the
-- assertion ids seen (replay store, until their exp), and the opaque access tokens (SHA-256 only).
CREATE TABLE peer_systems (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    jwks TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
CREATE TABLE peer_system_jtis (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX peer_system_jtis_expiry ON peer_system_jtis (expires_at);
CREATE TABLE peer_system_tokens (
    token_hash BYTEA PRIMARY KEY,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX peer_system_tokens_expiry ON peer_system_tokens (expires_at);
