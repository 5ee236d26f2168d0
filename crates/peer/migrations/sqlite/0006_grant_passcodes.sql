-- Bearer grants carry no passcode hash any more (docs/protocol.md §6.1): the patient registers
-- the passcode's verifier here by a signed request. `attempts` counts wrong passcodes plus the
-- attempts in flight; it is raised atomically before the comparison, so concurrent guesses
-- cannot exceed `max_failures`.
DROP TABLE peer_passcode_failures;
CREATE TABLE peer_grant_passcodes (
    patient_kid TEXT NOT NULL,
    grant_id BLOB NOT NULL,
    verifier BLOB NOT NULL,
    attempts INTEGER NOT NULL,
    max_failures INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (patient_kid, grant_id)
);
