-- Failed passcode attempts on bearer grants.
CREATE TABLE peer_passcode_failures (
    grant_id BLOB PRIMARY KEY,
    failures INTEGER NOT NULL
);
