-- Every table is (blind index, encrypted document). `idx` is HMAC-SHA-256 under the wallet's
-- index key of the row's natural key; `doc` is AES-256-GCM (nonce ‖ ciphertext ‖ tag) of the
-- row's JSON with associated data binding table, column and idx. Nothing else is stored.
CREATE TABLE settings (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE peers (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE records (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE grants (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE receipts (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE doctors (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE alerts (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL) WITHOUT ROWID;
