-- Indexes for combined equality filters (kind, status, severity, zone), equality columns first
-- and the time last, as in the first migration. With one value per column a range of these
-- indexes is in time order; `vigie_store::list_statement` reads every range a filter needs
-- (e.g. kind=accident&severity=major&zone=east: the 3 statuses of
-- `incidents_by_zone_kind_status_severity`), at most a page from each, so a rare combination
-- costs a few index dives instead of a walk through every accident.
-- The list of indexes the query planner in crates/store/src/history.rs (ORDERED_INDEXES) knows.

ALTER TABLE incidents
    ADD KEY incidents_by_kind_status_severity (kind, status, severity, opened_at),
    ADD KEY incidents_by_zone_kind_status_severity (zone, kind, status, severity, opened_at);
