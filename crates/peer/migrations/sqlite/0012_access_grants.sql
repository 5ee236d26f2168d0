-- The grant of each allowed access, kept so that the hospital can make a proof of sharing for
-- an investigator (docs/protocol.md §14, POST /staff/share-proofs). The grant holds no record
-- content: the patient's key, the audience key's thumbprint, categories or record ids, dates.
CREATE TABLE peer_access_grants (
    log_index INTEGER PRIMARY KEY,
    grant_text TEXT NOT NULL
);
