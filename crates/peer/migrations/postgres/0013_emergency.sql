-- Emergency (break-glass) access (docs/peer.md, "Emergency (break-glass) access"): a registered
-- doctor's request, the second staff member's confirmation, the records it opened; the patient's
-- signed policy (allow, opt out, only named hospitals) and their disputes.
CREATE TABLE peer_emergency_access (
    id TEXT PRIMARY KEY,
    health_id TEXT NOT NULL REFERENCES peer_patients (health_id),
    doctor_bmdc TEXT NOT NULL REFERENCES peer_doctors (bmdc_number),
    doctor_kid TEXT NOT NULL,
    reason TEXT NOT NULL,
    details TEXT NOT NULL,
    hours BIGINT NOT NULL,
    requested_at BIGINT NOT NULL,
    confirm_by BIGINT NOT NULL,
    confirmed_at BIGINT,
    confirmed_by TEXT,
    expires_at BIGINT,
    records TEXT,
    log_index BIGINT UNIQUE
);
CREATE INDEX peer_emergency_access_patient ON peer_emergency_access (health_id);
CREATE TABLE peer_emergency_policies (
    health_id TEXT PRIMARY KEY REFERENCES peer_patients (health_id),
    mode TEXT NOT NULL,
    hospitals TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    patient_kid TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE TABLE peer_emergency_disputes (
    access_id TEXT PRIMARY KEY REFERENCES peer_emergency_access (id),
    health_id TEXT NOT NULL,
    text TEXT NOT NULL,
    patient_kid TEXT NOT NULL,
    disputed_at BIGINT NOT NULL
);
