-- Staff tokens get an id (for revocation and the audit trail), roles, an expiry and a
-- revocation time. Tokens made before this migration keep every role and expire in 90 days.
ALTER TABLE peer_staff_tokens ADD COLUMN token_id TEXT;
ALTER TABLE peer_staff_tokens ADD COLUMN roles TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE peer_staff_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE peer_staff_tokens ADD COLUMN revoked_at BIGINT;
UPDATE peer_staff_tokens SET token_id = encode(substring(token_hash from 1 for 8), 'hex'), expires_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 7776000;
CREATE UNIQUE INDEX peer_staff_tokens_id ON peer_staff_tokens (token_id);
-- One entry per staff request (HTTP) or staff command (CLI): who, what, on what, outcome.
CREATE TABLE peer_staff_audit (
    seq BIGSERIAL PRIMARY KEY,
    token_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    status BIGINT NOT NULL,
    at BIGINT NOT NULL
);
