-- Documents (docs/protocol.md §18): the files document records carry, by SHA-256, and which
-- record carries which file. A file no record refers to is deleted after a day
-- (`unreferenced_file_secs`); a referenced file is kept as long as its record.
CREATE TABLE peer_files (
    sha256 BLOB PRIMARY KEY,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    uploaded_at INTEGER NOT NULL,
    -- The staff token id (or the hospital system) that uploaded it last.
    uploaded_by TEXT NOT NULL
);
CREATE INDEX peer_files_uploaded ON peer_files (uploaded_at);
CREATE TABLE peer_record_files (
    record_id TEXT PRIMARY KEY REFERENCES peer_records (id),
    sha256 BLOB NOT NULL REFERENCES peer_files (sha256)
);
CREATE INDEX peer_record_files_file ON peer_record_files (sha256);
CREATE TRIGGER peer_record_files_insert_only_u BEFORE UPDATE ON peer_record_files BEGIN SELECT RAISE(ABORT, 'peer_record_files is insert-only'); END;
CREATE TRIGGER peer_record_files_insert_only_d BEFORE DELETE ON peer_record_files BEGIN SELECT RAISE(ABORT, 'peer_record_files is insert-only'); END;
