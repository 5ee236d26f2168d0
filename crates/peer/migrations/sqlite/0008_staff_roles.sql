-- Staff tokens get an id (for revocation and the audit trail), roles, an expiry and a
-- revocation time. Tokens made before this migration keep every role and expire in 90 days.
ALTER TABLE peer_staff_tokens ADD COLUMN token_id TEXT;
ALTER TABLE peer_staff_tokens ADD COLUMN roles TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE peer_staff_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE peer_staff_tokens ADD COLUMN revoked_at INTEGER;
UPDATE peer_staff_tokens SET token_id = lower(hex(substr(token_hash, 1, 8))), expires_at = CAST(strftime('%s','now') AS INTEGER) + 7776000;
CREATE UNIQUE INDEX peer_staff_tokens_id ON peer_staff_tokens (token_id);
-- One entry per staff request (HTTP) or staff command (CLI): who, what, on what, outcome.
CREATE TABLE peer_staff_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    status INTEGER NOT NULL,
    at INTEGER NOT NULL
);
