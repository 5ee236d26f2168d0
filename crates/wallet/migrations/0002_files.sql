-- The files of document records (docs/protocol.md §18), as every other table: `idx` is the blind
-- index of the file's SHA-256 (hex), `doc` the AES-256-GCM sealed bytes, checked against the
-- signed card before they were kept.
CREATE TABLE files (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
