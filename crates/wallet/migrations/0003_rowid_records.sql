-- Records and receipts (≈ 3 KB sealed each) move to rowid tables with the same columns and
-- contents. In a WITHOUT ROWID table the whole row is the B-tree's key: a row past ≈ 1 KB
-- spills to an overflow page, and every comparison of the B-tree's search against such a row
-- read its overflow page (≈ 12 page reads per record stored by a full sync). Here `idx` is
-- searched in its own small index and the document lies in the table's leaf. What is stored
-- (blind index, sealed document) does not change.
CREATE TABLE records_rowid (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL);
INSERT INTO records_rowid (idx, doc) SELECT idx, doc FROM records;
DROP TABLE records;
ALTER TABLE records_rowid RENAME TO records;
CREATE TABLE receipts_rowid (idx BLOB PRIMARY KEY NOT NULL, doc BLOB NOT NULL);
INSERT INTO receipts_rowid (idx, doc) SELECT idx, doc FROM receipts;
DROP TABLE receipts;
ALTER TABLE receipts_rowid RENAME TO receipts;
