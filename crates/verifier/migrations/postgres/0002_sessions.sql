-- Page sessions of staff (they survive a restart of the node). Only the SHA-256 of the random
-- 256-bit session id is stored; a session ends at logout, when its staff member is removed, at
-- its absolute expiry, or after a stretch of idleness.
CREATE TABLE verifier_sessions (
    id_hash BYTEA PRIMARY KEY,
    staff TEXT NOT NULL REFERENCES verifier_staff (name) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX verifier_sessions_expires ON verifier_sessions (expires_at);
