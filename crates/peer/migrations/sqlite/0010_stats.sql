-- De-identified statistics (docs/peer.md, "Statistics for the health authority").
-- One row per patient, condition group and report week: what the statistics count. The week is
-- the ISO week (Bangladesh time) in which the diagnosis was issued, or the first week not yet
-- reported if that week was already reported (so a reported week never changes). District,
-- upazila, sex and age band are the patient's at that time. Insert-only.
CREATE TABLE peer_stat_cases (
    condition TEXT NOT NULL,
    week INTEGER NOT NULL,
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
    sequence INTEGER PRIMARY KEY,
    from_week INTEGER NOT NULL,
    to_week INTEGER NOT NULL,
    jws TEXT NOT NULL,
    salt BLOB NOT NULL,
    log_index INTEGER NOT NULL UNIQUE,
    generated_at INTEGER NOT NULL
);
CREATE TRIGGER peer_stat_cases_insert_only_u BEFORE UPDATE ON peer_stat_cases BEGIN SELECT RAISE(ABORT, 'peer_stat_cases is insert-only'); END;
CREATE TRIGGER peer_stat_cases_insert_only_d BEFORE DELETE ON peer_stat_cases BEGIN SELECT RAISE(ABORT, 'peer_stat_cases is insert-only'); END;
CREATE TRIGGER peer_stat_reports_insert_only_u BEFORE UPDATE ON peer_stat_reports BEGIN SELECT RAISE(ABORT, 'peer_stat_reports is insert-only'); END;
CREATE TRIGGER peer_stat_reports_insert_only_d BEFORE DELETE ON peer_stat_reports BEGIN SELECT RAISE(ABORT, 'peer_stat_reports is insert-only'); END;
