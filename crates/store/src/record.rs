//! Recording road events: exactly once per event id, whatever the order and the repetitions.
//!
//! Every event lands in `incident_updates` (keyed by the event id: a duplicate changes nothing)
//! and folds into its incident's row in `incidents`: the latest event (by occurred_at, then id)
//! gives the current state, the earliest `open` gives `opened_at`. So an archive replay, a
//! redelivery or an `update` seen before its `open` all end in the same rows.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use sqlx::{MySqlConnection, MySqlPool};
use time::{OffsetDateTime, UtcOffset};
use vigie_model::{Event, Status};

use crate::Result;

/// What recording one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// First time this event id was seen: the history and the incident now include it.
    Inserted,
    /// The event id was already recorded; nothing changed.
    Duplicate,
    /// The event cannot be stored (see the reason); nothing changed. Retrying will not help.
    Rejected(Rejection),
}

/// Why an event cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub field: &'static str,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event field `{}` {}", self.field, self.reason)
    }
}

impl std::error::Error for Rejection {}

/// Longest zone, road or vehicle name the schema holds (characters).
const MAX_NAME_CHARS: usize = 64;
/// Longest space-separated vehicle list.
const MAX_VEHICLES_CHARS: usize = 2048;
/// A TEXT column's size, in bytes.
const MAX_DETAIL_BYTES: usize = 65_535;

/// Records one event in its own transaction.
pub async fn record_event(pool: &MySqlPool, event: &Event) -> Result<Recorded> {
    let mut outcomes = record_events(pool, std::slice::from_ref(event)).await?;
    Ok(outcomes.remove(0))
}

/// Records a batch in one transaction; one outcome per event, in order. On a database error
/// nothing of the batch is kept.
pub async fn record_events(pool: &MySqlPool, events: &[Event]) -> Result<Vec<Recorded>> {
    let mut tx = pool.begin().await?;
    let outcomes = record_all(&mut tx, events).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Records a batch and moves the collector's archive position for `room` to `archive_id`, in one
/// transaction: after a crash, either both happened or neither did.
pub async fn record_events_and_cursor(
    pool: &MySqlPool,
    events: &[Event],
    room: &str,
    archive_id: &str,
) -> Result<Vec<Recorded>> {
    let mut tx = pool.begin().await?;
    let outcomes = record_all(&mut tx, events).await?;
    crate::archive_cursor::save(&mut *tx, room, archive_id).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Most rows in one multi-row statement, and most detail bytes (the statement must stay below
/// the server's `max_allowed_packet`, 16 MiB by default).
const MAX_ROWS_PER_STATEMENT: usize = 250;
const MAX_BYTES_PER_STATEMENT: usize = 4 << 20;

/// Records a batch with a handful of multi-row statements rather than several per event.
async fn record_all(conn: &mut MySqlConnection, events: &[Event]) -> Result<Vec<Recorded>> {
    let mut outcomes = Vec::with_capacity(events.len());
    let mut valid = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        outcomes.push(match validate(event) {
            Err(rejection) => Recorded::Rejected(rejection),
            Ok(()) => {
                valid.push(index);
                Recorded::Inserted
            }
        });
    }
    let mut start = 0;
    while start < valid.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < valid.len() && end - start < MAX_ROWS_PER_STATEMENT {
            bytes += 2 * events[valid[end]].detail.len();
            if end > start && bytes > MAX_BYTES_PER_STATEMENT {
                break;
            }
            end += 1;
        }
        let chunk: Vec<&Event> = valid[start..end].iter().map(|&i| &events[i]).collect();
        let fresh = record_chunk(conn, &chunk).await?;
        for (&index, fresh) in valid[start..end].iter().zip(fresh) {
            if !fresh {
                outcomes[index] = Recorded::Duplicate;
            }
        }
        start = end;
    }
    Ok(outcomes)
}

fn placeholders(row: &str, rows: usize) -> String {
    vec![row; rows].join(", ")
}

/// Records valid events; for each, whether it was new (false: its id was already recorded, in
/// the database or earlier in the chunk).
async fn record_chunk(conn: &mut MySqlConnection, events: &[&Event]) -> Result<Vec<bool>> {
    // Locking read: the ids' index gaps stay locked until commit, so nobody else inserts them.
    let sql = format!(
        "SELECT event_id FROM incident_updates WHERE event_id IN ({}) FOR UPDATE",
        placeholders("?", events.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql);
    for event in events {
        query = query.bind(&event.id);
    }
    let mut seen: HashSet<String> = query.fetch_all(&mut *conn).await?.into_iter().collect();
    let fresh: Vec<bool> = events.iter().map(|e| seen.insert(e.id.clone())).collect();
    let new: Vec<&Event> = events
        .iter()
        .zip(&fresh)
        .filter_map(|(event, &fresh)| fresh.then_some(*event))
        .collect();
    if new.is_empty() {
        return Ok(fresh);
    }

    let sql = format!(
        "INSERT INTO incident_updates (event_id, incident_id, status, severity, zone, road, \
         vehicles, lat, lon, occurred_at, detail) VALUES {}",
        placeholders("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", new.len())
    );
    let mut query = sqlx::query(&sql);
    for event in &new {
        query = query
            .bind(&event.id)
            .bind(&event.incident)
            .bind(event.status.as_str())
            .bind(event.severity.as_str())
            .bind(&event.zone)
            .bind(&event.road)
            .bind(event.vehicles.join(" "))
            .bind(event.lat)
            .bind(event.lon)
            .bind(to_db_time(event.occurred_at))
            .bind(&event.detail);
    }
    query.execute(&mut *conn).await?;

    // Rows of one statement are applied in order, each seeing the previous: the same fold as
    // one statement per event.
    let sql = UPSERT_INCIDENTS.replace(UPSERT_ROW, &placeholders(UPSERT_ROW, new.len()));
    let mut query = sqlx::query(&sql);
    for event in &new {
        let occurred_at = to_db_time(event.occurred_at);
        let status = event.kind.incident_status(event.status);
        let cleared_at = (status == Status::Cleared).then_some(occurred_at);
        query = query
            .bind(&event.incident)
            .bind(event.kind.as_str())
            .bind(status.as_str())
            .bind(event.severity.as_str())
            .bind(&event.zone)
            .bind(&event.road)
            .bind(event.vehicles.join(" "))
            .bind(event.lat)
            .bind(event.lon)
            .bind(occurred_at)
            .bind(occurred_at)
            .bind(cleared_at)
            .bind(&event.detail)
            .bind(&event.id);
    }
    query.execute(&mut *conn).await?;

    // Vehicles after the incidents: they copy the incidents' opening as it now stands.
    let links: Vec<(&str, &str)> = new
        .iter()
        .flat_map(|e| e.vehicles.iter().map(|v| (v.as_str(), e.incident.as_str())))
        .collect();
    if !links.is_empty() {
        let sql = format!(
            "INSERT IGNORE INTO incident_vehicles (vehicle, incident_id, opened_at) \
             SELECT l.vehicle, i.id, i.opened_at FROM ({}) l JOIN incidents i ON i.id = l.incident_id",
            vec!["SELECT ? AS vehicle, ? AS incident_id"; links.len()].join(" UNION ALL ")
        );
        let mut query = sqlx::query(&sql);
        for (vehicle, incident) in &links {
            query = query.bind(*vehicle).bind(*incident);
        }
        query.execute(&mut *conn).await?;
    }
    // A late `open` may have moved an incident's opening earlier than its vehicles' copies.
    let reopened: HashSet<&str> = new
        .iter()
        .filter(|e| e.status == Status::Open)
        .map(|e| e.incident.as_str())
        .collect();
    if !reopened.is_empty() {
        let sql = format!(
            "UPDATE incident_vehicles v JOIN incidents i ON i.id = v.incident_id \
             SET v.opened_at = i.opened_at WHERE v.incident_id IN ({}) AND v.opened_at <> i.opened_at",
            placeholders("?", reopened.len())
        );
        let mut query = sqlx::query(&sql);
        for incident in reopened {
            query = query.bind(incident);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(fresh)
}

fn is_ulid(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn validate(event: &Event) -> Result<(), Rejection> {
    let reject = |field, reason: &str| {
        Err(Rejection {
            field,
            reason: reason.to_owned(),
        })
    };
    if !is_ulid(&event.id) {
        return reject("id", "is not a ULID (26 upper-case letters or digits)");
    }
    if !is_ulid(&event.incident) {
        return reject(
            "incident",
            "is not a ULID (26 upper-case letters or digits)",
        );
    }
    for (field, name) in [("zone", &event.zone), ("road", &event.road)] {
        if name
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NAME_CHARS)
        {
            return reject(field, "must have 1 to 64 characters");
        }
    }
    if event.vehicles.iter().any(|v| {
        v.is_empty() || v.chars().count() > MAX_NAME_CHARS || v.contains(char::is_whitespace)
    }) {
        return reject(
            "vehicles",
            "must be names of 1 to 64 characters without spaces",
        );
    }
    if event.vehicles.join(" ").chars().count() > MAX_VEHICLES_CHARS {
        return reject("vehicles", "lists too many vehicles");
    }
    if !(event.lat.is_finite() && (-90.0..=90.0).contains(&event.lat)) {
        return reject("lat", "must be a latitude in [-90, 90]");
    }
    if !(event.lon.is_finite() && (-180.0..=180.0).contains(&event.lon)) {
        return reject("lon", "must be a longitude in [-180, 180]");
    }
    if !(1000..=9999).contains(&event.occurred_at.to_offset(UtcOffset::UTC).year()) {
        return reject("occurred_at", "must be between the years 1000 and 9999");
    }
    if event.detail.len() > MAX_DETAIL_BYTES {
        return reject("detail", "is longer than 65535 bytes");
    }
    Ok(())
}

/// UTC, truncated to the microseconds DATETIME(6) keeps (MySQL would round, MariaDB truncate).
pub(crate) fn to_db_time(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(UtcOffset::UTC);
    utc.replace_nanosecond(utc.nanosecond() / 1_000 * 1_000)
        .expect("truncating nanoseconds stays in range")
}

/// Whether the event being inserted is later than the incident's latest, by (time, event id).
const IS_NEWER: &str = "(VALUES(updated_at) > updated_at \
     OR (VALUES(updated_at) = updated_at AND VALUES(last_event_id) > last_event_id))";

/// Folds one event into its incident. MySQL applies `ON DUPLICATE KEY UPDATE` assignments left
/// to right, each seeing the previous ones, so `last_event_id` and `updated_at` (which
/// `IS_NEWER` reads) come last, and `updated_at` also accepts "this event just became the latest"
/// (which holds whether the server assigns in order or simultaneously).
/// One row of `UPSERT_INCIDENTS`' VALUES.
const UPSERT_ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static UPSERT_INCIDENTS: LazyLock<String> = LazyLock::new(|| {
    let latest = |column: &str| format!("{column} = IF({IS_NEWER}, VALUES({column}), {column})");
    let mut assignments: Vec<String> = [
        "status",
        "severity",
        "zone",
        "road",
        "vehicles",
        "lat",
        "lon",
        "detail",
        "cleared_at",
    ]
    .into_iter()
    .map(latest)
    .collect();
    assignments.push(
        "opened_at = IF(VALUES(status) = 'open', LEAST(opened_at, VALUES(opened_at)), opened_at)"
            .into(),
    );
    assignments.push(latest("last_event_id"));
    assignments.push(format!(
        "updated_at = IF({IS_NEWER} OR last_event_id = VALUES(last_event_id), VALUES(updated_at), updated_at)"
    ));
    format!(
        "INSERT INTO incidents (id, kind, status, severity, zone, road, vehicles, lat, lon, \
         opened_at, updated_at, cleared_at, detail, last_event_id) \
         VALUES {UPSERT_ROW} ON DUPLICATE KEY UPDATE {}",
        assignments.join(", ")
    )
});

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn db_time_is_utc_microseconds() {
        let at = datetime!(2026-11-22 03:04:05.123456789 +02:00);
        assert_eq!(to_db_time(at), datetime!(2026-11-22 01:04:05.123456 UTC));
    }

    #[test]
    fn upsert_assigns_the_comparison_columns_last() {
        let sql = UPSERT_INCIDENTS.as_str();
        let updates = &sql[sql.find("ON DUPLICATE KEY UPDATE").unwrap()..];
        let last_event = updates.find("last_event_id = IF").unwrap();
        let updated = updates.find("updated_at = IF").unwrap();
        for column in ["status =", "detail =", "cleared_at =", "opened_at ="] {
            assert!(updates.find(column).unwrap() < last_event, "{column}");
        }
        assert!(last_event < updated);
    }
}
