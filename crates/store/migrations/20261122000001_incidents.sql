-- Vigie's schema: incidents (one row per incident, its latest state), their lifecycle history,
-- the vehicles involved, and the collector's position in each room's archive.
--
-- Identifiers are ULIDs: CHAR(26) in ASCII (upper-case letters and digits sort the same in
-- ascii_general_ci as byte-wise). No `_bin` collation anywhere: MySQL flags such columns BINARY
-- and sqlx then refuses to decode them as strings. Times are UTC, DATETIME(6).
--
-- Indexes serve the history API, which always orders newest first by (opened_at, id) and pages
-- by keyset: each filter's equality column comes first and the time last, since MySQL stops
-- using an index's key parts after a range. InnoDB appends the primary key (id) to every
-- secondary index, which completes the (opened_at, id) order.

CREATE TABLE incidents (
    id            CHAR(26) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    kind          VARCHAR(16) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    status        VARCHAR(16) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    severity      VARCHAR(16) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    zone          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    road          VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    -- The vehicles of the latest event, space-separated; `incident_vehicles` indexes them.
    vehicles      VARCHAR(2048) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL DEFAULT '',
    lat           DOUBLE NOT NULL,
    lon           DOUBLE NOT NULL,
    opened_at     DATETIME(6) NOT NULL,
    updated_at    DATETIME(6) NOT NULL,
    cleared_at    DATETIME(6) NULL,
    detail        TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    last_event_id CHAR(26) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    PRIMARY KEY (id),
    KEY incidents_by_time (opened_at, id),
    KEY incidents_by_kind (kind, opened_at),
    KEY incidents_by_status (status, opened_at),
    KEY incidents_by_severity (severity, opened_at),
    KEY incidents_by_zone (zone, opened_at),
    KEY incidents_by_kind_status (kind, status, opened_at)
) ENGINE = InnoDB;

-- Every event of every incident, exactly once: the event id is the key, so recording an event
-- a second time (a redelivery, an archive replay) changes nothing.
CREATE TABLE incident_updates (
    event_id    CHAR(26) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    incident_id CHAR(26) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    status      VARCHAR(16) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    severity    VARCHAR(16) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    zone        VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    road        VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    vehicles    VARCHAR(2048) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL DEFAULT '',
    lat         DOUBLE NOT NULL,
    lon         DOUBLE NOT NULL,
    occurred_at DATETIME(6) NOT NULL,
    detail      TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    recorded_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (event_id),
    KEY incident_updates_by_incident (incident_id, occurred_at)
) ENGINE = InnoDB;

-- Which vehicles took part in which incident, for the `vehicle` filter. `opened_at` is copied
-- from the incident so the index yields the newest incidents first.
CREATE TABLE incident_vehicles (
    vehicle     VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    incident_id CHAR(26) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    opened_at   DATETIME(6) NOT NULL,
    PRIMARY KEY (vehicle, incident_id),
    KEY incident_vehicles_by_time (vehicle, opened_at, incident_id)
) ENGINE = InnoDB;

-- The collector's position in each room's MAM archive (XEP-0313 result id of the last stored
-- message), so it catches up from there after any downtime.
CREATE TABLE collector_cursor (
    room       VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    archive_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (room)
) ENGINE = InnoDB;
