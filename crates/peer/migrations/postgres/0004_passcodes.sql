-- Failed passcode attempts on bearer grants.
CREATE TABLE peer_passcode_failures (
    grant_id BYTEA PRIMARY KEY,
    failures BIGINT NOT NULL
);
