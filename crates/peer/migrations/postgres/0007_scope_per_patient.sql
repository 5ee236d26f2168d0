-- Revocation ids and grant use counts are scoped per patient key: anyone who learns a victim's
-- revocation id or grant id (it is in the QR) must not be able to pre-empt the victim's
-- revocation or use up the victim's grant with a grant of their own carrying the same id.
ALTER TABLE peer_revocations DROP CONSTRAINT peer_revocations_pkey;
ALTER TABLE peer_revocations ADD PRIMARY KEY (patient_kid, id);
-- Use counts from before this migration cannot be attributed to a key; they are kept under
-- the empty kid and still counted (see access.rs count_use).
ALTER TABLE peer_grant_uses ADD COLUMN patient_kid TEXT NOT NULL DEFAULT '';
ALTER TABLE peer_grant_uses DROP CONSTRAINT peer_grant_uses_pkey;
ALTER TABLE peer_grant_uses ADD PRIMARY KEY (patient_kid, grant_id);
ALTER TABLE peer_grant_uses ALTER COLUMN patient_kid DROP DEFAULT;
