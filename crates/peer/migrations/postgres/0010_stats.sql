-- De-identified statistics (docs/peer.md, "Statistics for the health authority").
-- One row per patient, condition group and report week: what the statistics count. The week is
-- the ISO week (Bangladesh time) in which the diagnosis was issued, or the first week not yet
-- reported if that week was already reported (so a reported week never changes). District,
-- upazila, sex and age band are the patient's at that time. Insert-only.
CREATE TABLE peer_stat_cases (
    condition TEXT NOT NULL,
    week BIGINT NOT NULL,
    health_id TEXT NOT NULL,
    district TEXT NOT NULL,
    upazila TEXT NOT NULL,
    age_band TEXT NOT NULL,
    sex TEXT NOT NULL,
    PRIMARY KEY (condition, week, health_id)
);
-- Covers the statistics query: an index-only scan in GROUP BY order, no sort.
CREATE INDEX peer_stat_cases_cells ON peer_stat_cases (condition, week, district, upazila, age_band, sex);
-- Aggregates signed for the health authority (each committed to the log as entry kind 6).
CREATE TABLE peer_stat_reports (
    sequence BIGINT PRIMARY KEY,
    from_week BIGINT NOT NULL,
    to_week BIGINT NOT NULL,
    jws TEXT NOT NULL,
    salt BYTEA NOT NULL,
    log_index BIGINT NOT NULL UNIQUE,
    generated_at BIGINT NOT NULL
);
CREATE TRIGGER peer_stat_cases_insert_only BEFORE UPDATE OR DELETE ON peer_stat_cases FOR EACH ROW EXECUTE FUNCTION peer_insert_only();
CREATE TRIGGER peer_stat_reports_insert_only BEFORE UPDATE OR DELETE ON peer_stat_reports FOR EACH ROW EXECUTE FUNCTION peer_insert_only();
