-- Bearer grants carry no passcode hash any more (docs/protocol.md §6.1): the patient registers
-- the passcode's verifier here by a signed request. `attempts` counts wrong passcodes plus the
-- attempts in flight; it is raised atomically before the comparison, so concurrent guesses
-- cannot exceed `max_failures`.
DROP TABLE peer_passcode_failures;
CREATE TABLE peer_grant_passcodes (
    patient_kid TEXT NOT NULL,
    grant_id BYTEA NOT NULL,
    verifier BYTEA NOT NULL,
    attempts BIGINT NOT NULL,
    max_failures BIGINT NOT NULL,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (patient_kid, grant_id)
);
