-- Records revoked by staff (wrong patient, entered in error): listed in the record key's CRL.
CREATE TABLE peer_record_revocations (
    seq BIGSERIAL PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE REFERENCES peer_records (id),
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    salt BYTEA NOT NULL,
    log_index BIGINT NOT NULL UNIQUE,
    revoked_at BIGINT NOT NULL
);
CREATE TRIGGER peer_record_revocations_insert_only BEFORE UPDATE OR DELETE ON peer_record_revocations FOR EACH ROW EXECUTE FUNCTION peer_insert_only();
