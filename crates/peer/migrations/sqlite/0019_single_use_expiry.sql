-- The purges of the single-use tables (`DELETE ... WHERE expires_at < $1`, at most once per
-- 10 s) find the expired rows by index instead of scanning every nonce and proof-of-possession
-- id kept in the last ten minutes (about 1.2 million rows at 2,000 redemptions/s).
CREATE INDEX peer_nonces_expires_at ON peer_nonces (expires_at);
CREATE INDEX peer_pop_ids_expires_at ON peer_pop_ids (expires_at);
