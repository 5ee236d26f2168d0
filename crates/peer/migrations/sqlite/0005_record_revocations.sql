-- Records revoked by staff (wrong patient, entered in error): listed in the record key's CRL.
CREATE TABLE peer_record_revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE REFERENCES peer_records (id),
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    salt BLOB NOT NULL,
    log_index INTEGER NOT NULL UNIQUE,
    revoked_at INTEGER NOT NULL
);
CREATE TRIGGER peer_record_revocations_insert_only_u BEFORE UPDATE ON peer_record_revocations BEGIN SELECT RAISE(ABORT, 'peer_record_revocations is insert-only'); END;
CREATE TRIGGER peer_record_revocations_insert_only_d BEFORE DELETE ON peer_record_revocations BEGIN SELECT RAISE(ABORT, 'peer_record_revocations is insert-only'); END;
