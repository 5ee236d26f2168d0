-- Staff console sessions (the web page): only the SHA-256 of the session id is stored. A
-- session belongs to one staff token and dies with it (revocation or expiry), at its own
-- absolute expiry, after an idle period, or at logout.
CREATE TABLE peer_console_sessions (
    id_hash BYTEA PRIMARY KEY,
    token_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX peer_console_sessions_token ON peer_console_sessions (token_id);
