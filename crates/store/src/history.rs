//! Reading the incident history: filtered, newest first, paged by keyset.
//!
//! Pages are ordered by `(opened_at, id)` descending and a [`Cursor`] is the key of the last
//! incident returned, so the next page is "strictly below that key": incidents opened while a
//! client pages through land above its cursor and never shift a page (no duplicate, no skip).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Serialize, Serializer};
use sqlx::mysql::MySqlRow;
use sqlx::{ColumnIndex, FromRow, MySql, MySqlPool, QueryBuilder, Row};
use time::OffsetDateTime;
use vigie_model::incident::{Incident, IncidentDetail, IncidentUpdate};
use vigie_model::{EventKind, Severity, Status};

use crate::record::to_db_time;
use crate::Result;

/// Largest page.
pub const MAX_LIMIT: u32 = 1000;
/// Longest free-text query, in characters.
pub const MAX_TEXT_LEN: usize = 200;

/// Which incidents to list. Empty lists and `None` do not filter; values within a list are
/// alternatives (OR), different fields all apply (AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    pub kinds: Vec<EventKind>,
    pub statuses: Vec<Status>,
    pub severities: Vec<Severity>,
    pub zones: Vec<String>,
    /// Incidents this vehicle took part in.
    pub vehicle: Option<String>,
    /// Opened at or after.
    pub from: Option<OffsetDateTime>,
    /// Opened strictly before.
    pub to: Option<OffsetDateTime>,
    /// Latest position inside this box (borders included).
    pub bbox: Option<BoundingBox>,
    /// Substring of the detail text, case-insensitive; at most [`MAX_TEXT_LEN`] characters.
    pub text: Option<String>,
}

/// A box in degrees, in the GeoJSON / OGC order `min_lon,min_lat,max_lon,max_lat`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BoundingBox {
    pub fn new(
        min_lon: f64,
        min_lat: f64,
        max_lon: f64,
        max_lat: f64,
    ) -> Result<Self, &'static str> {
        let lon_ok = |v: f64| v.is_finite() && (-180.0..=180.0).contains(&v);
        let lat_ok = |v: f64| v.is_finite() && (-90.0..=90.0).contains(&v);
        if !(lon_ok(min_lon) && lon_ok(max_lon)) {
            return Err("longitudes must be in [-180, 180]");
        }
        if !(lat_ok(min_lat) && lat_ok(max_lat)) {
            return Err("latitudes must be in [-90, 90]");
        }
        if min_lon > max_lon || min_lat > max_lat {
            return Err("minimums must not exceed maximums");
        }
        Ok(BoundingBox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }
}

impl std::str::FromStr for BoundingBox {
    type Err = &'static str;

    /// `min_lon,min_lat,max_lon,max_lat`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const SHAPE: &str = "must be four numbers min_lon,min_lat,max_lon,max_lat";
        let numbers: Vec<f64> = s
            .split(',')
            .map(|n| n.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| SHAPE)?;
        match numbers[..] {
            [min_lon, min_lat, max_lon, max_lat] => {
                BoundingBox::new(min_lon, min_lat, max_lon, max_lat)
            }
            _ => Err(SHAPE),
        }
    }
}

/// Where a page ends: the key of its last incident. Opaque to clients (URL-safe base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    opened_at: OffsetDateTime,
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a cursor returned by this API")]
pub struct CursorError;

impl Cursor {
    fn after(incident: &Incident) -> Cursor {
        Cursor {
            opened_at: incident.opened_at,
            id: incident.id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        let micros = self.opened_at.unix_timestamp_nanos() / 1_000;
        URL_SAFE_NO_PAD.encode(format!("{micros}:{}", self.id))
    }

    pub fn decode(encoded: &str) -> Result<Cursor, CursorError> {
        if encoded.len() > 128 {
            return Err(CursorError);
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| CursorError)?;
        let text = String::from_utf8(bytes).map_err(|_| CursorError)?;
        let (micros, id) = text.split_once(':').ok_or(CursorError)?;
        let micros: i128 = micros.parse().map_err(|_| CursorError)?;
        let opened_at =
            OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).map_err(|_| CursorError)?;
        if id.len() != 26 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CursorError);
        }
        Ok(Cursor {
            opened_at,
            id: id.to_owned(),
        })
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

/// One page of incidents, newest first; `next_cursor` is `None` on the last page.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub incidents: Vec<Incident>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub next_cursor: Option<Cursor>,
}

/// In this order: [`incident_from_row`] reads them by position.
const INCIDENT_COLUMNS: &str =
    "i.id, i.kind, i.status, i.severity, i.zone, i.road, i.vehicles, i.lat, i.lon, \
     i.opened_at, i.updated_at, i.cleared_at, i.detail";

/// Lists incidents matching `filter`, newest first, at most `limit` (clamped to
/// 1..=[`MAX_LIMIT`]), after `cursor` when given.
///
/// A page after a cursor in the union form is prepared for this page only: MariaDB 10.11 runs
/// such a statement, cached by sqlx and executed again with another cursor, up to 200× slower
/// (315 ms against 1.5 ms per page of jams at 10M incidents: docs/benchmarks/server.md,
/// session 6). Preparing costs one more round trip, ~0.1–0.3 ms.
pub async fn list_incidents(
    pool: &MySqlPool,
    filter: &IncidentFilter,
    limit: u32,
    cursor: Option<&Cursor>,
) -> Result<Page> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let (mut statement, union_form) = page_statement(filter, limit, cursor);
    let mut incidents: Vec<Incident> = statement
        .build()
        .persistent(!(union_form && cursor.is_some()))
        .try_map(incident_from_row)
        .fetch_all(pool)
        .await?;
    let next_cursor = if incidents.len() > limit as usize {
        incidents.truncate(limit as usize);
        incidents.last().map(Cursor::after)
    } else {
        None
    };
    Ok(Page {
        incidents,
        next_cursor,
    })
}

/// The statement [`list_incidents`] runs for a page of `limit` (it reads one row more, to
/// know whether a next page exists): for benchmarks and `EXPLAIN`.
///
/// When the equality filters (kind, status, severity, zone) need several ranges of an index to
/// be read in time order, the statement reads each range newest first, at most a page from
/// each, and keeps the newest page of their union: the work is bounded by ranges × page
/// whatever the filters' selectivity (see [`ORDERED_INDEXES`]). Pages after a cursor take that
/// form even for one range: when the statement reads whole rows, MariaDB walks
/// `(kind, opened_at)` by `ref` from its newest entry down to the cursor (seconds deep in the
/// history), while reading only the keys it takes the range below the cursor.
pub fn list_statement<'a>(
    filter: &'a IncidentFilter,
    limit: u32,
    cursor: Option<&'a Cursor>,
) -> QueryBuilder<'a, MySql> {
    page_statement(filter, limit, cursor).0
}

/// [`list_statement`], and whether it took the union form.
fn page_statement<'a>(
    filter: &'a IncidentFilter,
    limit: u32,
    cursor: Option<&'a Cursor>,
) -> (QueryBuilder<'a, MySql>, bool) {
    let rows = limit.clamp(1, MAX_LIMIT) + 1;
    if filter.vehicle.is_none() {
        if let Some(ranges) = index_ranges(filter).filter(|r| r.len() > 1 || cursor.is_some()) {
            return (union_statement(filter, &ranges, rows, cursor), true);
        }
    }
    // With a vehicle, walk that vehicle's (vehicle, opened_at, incident_id) index newest first
    // and join the incidents: no sort of all its incidents. `opened_at` is the same in both.
    let (tables, order_time, order_id) = match filter.vehicle {
        Some(_) => (
            "incident_vehicles v JOIN incidents i ON i.id = v.incident_id",
            "v.opened_at",
            "v.incident_id",
        ),
        None => ("incidents i", "i.opened_at", "i.id"),
    };
    let mut query = QueryBuilder::<MySql>::new(format!(
        "SELECT {INCIDENT_COLUMNS} FROM {tables} WHERE TRUE"
    ));
    if let Some(vehicle) = &filter.vehicle {
        query.push(" AND v.vehicle = ").push_bind(vehicle.clone());
    }
    push_filter(&mut query, filter, VehicleFilter::Joined);
    push_cursor(&mut query, cursor, order_time, order_id);
    query
        .push(format_args!(
            " ORDER BY {order_time} DESC, {order_id} DESC LIMIT "
        ))
        .push_bind(rows);
    (query, false)
}

/// A column with an equality filter.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Equality {
    Kind,
    Status,
    Severity,
    Zone,
}

impl Equality {
    const ALL: [Equality; 4] = [
        Equality::Kind,
        Equality::Status,
        Equality::Severity,
        Equality::Zone,
    ];

    fn column(self) -> &'static str {
        match self {
            Equality::Kind => "i.kind",
            Equality::Status => "i.status",
            Equality::Severity => "i.severity",
            Equality::Zone => "i.zone",
        }
    }

    fn filters(self, filter: &IncidentFilter) -> bool {
        match self {
            Equality::Kind => !filter.kinds.is_empty(),
            Equality::Status => !filter.statuses.is_empty(),
            Equality::Severity => !filter.severities.is_empty(),
            Equality::Zone => !filter.zones.is_empty(),
        }
    }

    /// The values the filter allows: its own, or every value when it does not filter this
    /// column and the column has a closed set of values (a zone may be anything, or NULL).
    fn values(self, filter: &IncidentFilter) -> Option<Vec<String>> {
        fn names<T: Copy>(chosen: &[T], all: &[T], name: fn(T) -> &'static str) -> Vec<String> {
            let values = if chosen.is_empty() { all } else { chosen };
            values.iter().map(|&v| name(v).to_owned()).collect()
        }
        Some(match self {
            Equality::Kind => names(&filter.kinds, &EventKind::ALL, EventKind::as_str),
            Equality::Status => names(&filter.statuses, &Status::OF_INCIDENTS, Status::as_str),
            Equality::Severity => names(&filter.severities, &Severity::ALL, Severity::as_str),
            Equality::Zone if filter.zones.is_empty() => return None,
            Equality::Zone => filter.zones.clone(),
        })
    }
}

/// The equality columns of the `incidents` indexes, in key order. Each index ends with
/// `opened_at` (and InnoDB's implicit `id`), so one value per column is one range in time
/// order. Must match migrations/: `incidents_by_time`, `_by_kind`, `_by_status`,
/// `_by_severity`, `_by_zone`, `_by_kind_status`, `_by_kind_status_severity`,
/// `_by_zone_kind_status_severity`.
const ORDERED_INDEXES: [&[Equality]; 8] = {
    use Equality::{Kind, Severity, Status, Zone};
    [
        &[],
        &[Kind],
        &[Status],
        &[Severity],
        &[Zone],
        &[Kind, Status],
        &[Kind, Status, Severity],
        &[Zone, Kind, Status, Severity],
    ]
};

/// Most ranges one statement reads; past that the optimizer chooses alone.
const MAX_RANGES: usize = 64;

/// One range of an index: a value for each of its equality columns.
type IndexRange = Vec<(Equality, String)>;

/// The fewest index ranges that together hold exactly the incidents matching the equality
/// filters, each in time order. `None` when that takes more than [`MAX_RANGES`].
fn index_ranges(filter: &IncidentFilter) -> Option<Vec<IndexRange>> {
    ORDERED_INDEXES
        .iter()
        .filter(|columns| {
            Equality::ALL
                .into_iter()
                .all(|e| !e.filters(filter) || columns.contains(&e))
        })
        .filter_map(|columns| {
            columns
                .iter()
                .try_fold(vec![IndexRange::new()], |ranges, &column| {
                    let values = column.values(filter)?;
                    (ranges.len() * values.len() <= MAX_RANGES).then(|| {
                        ranges
                            .iter()
                            .flat_map(|range| {
                                values.iter().map(move |value| {
                                    let mut range = range.clone();
                                    range.push((column, value.clone()));
                                    range
                                })
                            })
                            .collect()
                    })
                })
        })
        .min_by_key(Vec::len)
}

/// The newest `rows` of the union of `ranges`, each read newest first and cut at `rows`; the
/// full rows are read for those only.
fn union_statement<'a>(
    filter: &'a IncidentFilter,
    ranges: &[IndexRange],
    rows: u32,
    cursor: Option<&'a Cursor>,
) -> QueryBuilder<'a, MySql> {
    let mut query = QueryBuilder::<MySql>::new(format!(
        "SELECT {INCIDENT_COLUMNS} FROM (SELECT k.opened_at, k.id FROM ("
    ));
    for (n, range) in ranges.iter().enumerate() {
        if n > 0 {
            query.push(" UNION ALL ");
        }
        query.push("(SELECT i.opened_at, i.id FROM incidents i WHERE TRUE");
        for (column, value) in range {
            query
                .push(format_args!(" AND {} = ", column.column()))
                .push_bind(value.clone());
        }
        push_conditions(&mut query, filter, VehicleFilter::Subquery);
        push_cursor(&mut query, cursor, "i.opened_at", "i.id");
        query
            .push(" ORDER BY i.opened_at DESC, i.id DESC LIMIT ")
            .push_bind(rows)
            .push(")");
    }
    query
        .push(") k ORDER BY k.opened_at DESC, k.id DESC LIMIT ")
        .push_bind(rows)
        .push(
            ") page JOIN incidents i ON i.id = page.id \
             ORDER BY page.opened_at DESC, page.id DESC",
        );
    query
}

/// ` AND` "strictly below the cursor" in the `(time, id)` order.
fn push_cursor(
    query: &mut QueryBuilder<'_, MySql>,
    cursor: Option<&Cursor>,
    order_time: &str,
    order_id: &str,
) {
    if let Some(cursor) = cursor {
        query
            .push(format_args!(" AND ({order_time} < "))
            .push_bind(cursor.opened_at)
            .push(format_args!(" OR ({order_time} = "))
            .push_bind(cursor.opened_at)
            .push(format_args!(" AND {order_id} < "))
            .push_bind(cursor.id.clone())
            .push("))");
    }
}

/// How the query applies the vehicle filter.
#[derive(Clone, Copy, PartialEq)]
enum VehicleFilter {
    /// By itself, joining `incident_vehicles v`.
    Joined,
    /// Here, as a subquery.
    Subquery,
}

/// ` AND …` for each condition of `filter`, on the incidents aliased `i`.
fn push_filter(
    query: &mut QueryBuilder<'_, MySql>,
    filter: &IncidentFilter,
    vehicles: VehicleFilter,
) {
    push_in(query, "i.kind", filter.kinds.iter().map(|k| k.as_str()));
    push_in(
        query,
        "i.status",
        filter.statuses.iter().map(|s| s.as_str()),
    );
    push_in(
        query,
        "i.severity",
        filter.severities.iter().map(|s| s.as_str()),
    );
    push_in(query, "i.zone", filter.zones.iter().map(String::as_str));
    push_conditions(query, filter, vehicles);
}

/// ` AND …` for each condition of `filter` but the equality ones (kind, status, severity, zone).
fn push_conditions(
    query: &mut QueryBuilder<'_, MySql>,
    filter: &IncidentFilter,
    vehicles: VehicleFilter,
) {
    if let (Some(vehicle), VehicleFilter::Subquery) = (&filter.vehicle, vehicles) {
        query
            .push(" AND i.id IN (SELECT v.incident_id FROM incident_vehicles v WHERE v.vehicle = ");
        query.push_bind(vehicle.clone()).push(")");
    }
    if let Some(from) = filter.from {
        query
            .push(" AND i.opened_at >= ")
            .push_bind(to_db_time(from));
    }
    if let Some(to) = filter.to {
        query.push(" AND i.opened_at < ").push_bind(to_db_time(to));
    }
    if let Some(bbox) = filter.bbox {
        query
            .push(" AND i.lat BETWEEN ")
            .push_bind(bbox.min_lat)
            .push(" AND ")
            .push_bind(bbox.max_lat);
        query
            .push(" AND i.lon BETWEEN ")
            .push_bind(bbox.min_lon)
            .push(" AND ")
            .push_bind(bbox.max_lon);
    }
    if let Some(text) = &filter.text {
        query
            .push(" AND i.detail LIKE ")
            .push_bind(like_pattern(text))
            .push(" ESCAPE '!'");
    }
}

/// Time buckets of [`count_incidents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Minute,
    Hour,
    Day,
}

impl Bucket {
    pub const ALL: [Bucket; 3] = [Bucket::Minute, Bucket::Hour, Bucket::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Minute => "minute",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    /// MySQL `DATE_FORMAT` pattern truncating a time to the bucket's start.
    fn truncation(self) -> &'static str {
        match self {
            Bucket::Minute => "%Y-%m-%d %H:%i:00",
            Bucket::Hour => "%Y-%m-%d %H:00:00",
            Bucket::Day => "%Y-%m-%d 00:00:00",
        }
    }
}

impl std::str::FromStr for Bucket {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Bucket::ALL.into_iter().find(|b| b.as_str() == s).ok_or(())
    }
}

impl std::fmt::Display for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many incidents of one kind opened in one time bucket.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketCount {
    /// Start of the bucket (UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "jam"))]
    pub kind: EventKind,
    pub count: i64,
}

impl FromRow<'_, MySqlRow> for BucketCount {
    fn from_row(row: &MySqlRow) -> Result<Self> {
        Ok(BucketCount {
            start: row.try_get("start")?,
            kind: wire(row, "kind")?,
            count: row.try_get("count")?,
        })
    }
}

/// Incidents matching `filter` counted per `bucket` of opening time and per kind, oldest bucket
/// first; at most `max_rows` rows (`None` past that, so the caller can ask for a narrower range).
pub async fn count_incidents(
    pool: &MySqlPool,
    filter: &IncidentFilter,
    bucket: Bucket,
    max_rows: u32,
) -> Result<Option<Vec<BucketCount>>> {
    let mut query = QueryBuilder::<MySql>::new("SELECT CAST(DATE_FORMAT(i.opened_at, ");
    query.push_bind(bucket.truncation());
    query.push(
        ") AS DATETIME(6)) AS start, i.kind AS kind, COUNT(*) AS count FROM incidents i WHERE TRUE",
    );
    push_filter(&mut query, filter, VehicleFilter::Subquery);
    query
        .push(" GROUP BY start, kind ORDER BY start, kind LIMIT ")
        .push_bind(max_rows + 1);
    let rows: Vec<BucketCount> = query.build_query_as().fetch_all(pool).await?;
    Ok((rows.len() <= max_rows as usize).then_some(rows))
}

fn push_in<'a>(
    query: &mut QueryBuilder<'_, MySql>,
    column: &str,
    values: impl ExactSizeIterator<Item = &'a str>,
) {
    if values.len() == 0 {
        return;
    }
    query.push(format_args!(" AND {column} IN ("));
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value.to_owned());
    }
    query.push(")");
}

/// `%text%` with LIKE's wildcards escaped by `!`.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// One incident with its lifecycle, or `None` when the id is unknown.
pub async fn get_incident(pool: &MySqlPool, id: &str) -> Result<Option<IncidentDetail>> {
    let Some(incident) = sqlx::query(&format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = ?"
    ))
    .bind(id)
    .try_map(incident_from_row)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let updates = sqlx::query(
        "SELECT event_id, status, severity, zone, road, vehicles, lat, lon, occurred_at, detail \
         FROM incident_updates WHERE incident_id = ? ORDER BY occurred_at, event_id",
    )
    .bind(id)
    .try_map(update_from_row)
    .fetch_all(pool)
    .await?;
    Ok(Some(IncidentDetail { incident, updates }))
}

/// Parses a wire-format enum column without copying it out of the row.
fn wire<T, I>(row: &MySqlRow, column: I) -> Result<T>
where
    T: std::str::FromStr,
    I: ColumnIndex<MySqlRow> + std::fmt::Display + Copy,
{
    let value: &str = row.try_get(column)?;
    value.parse().map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unknown value {value:?}").into(),
    })
}

fn vehicle_list<I: ColumnIndex<MySqlRow>>(row: &MySqlRow, column: I) -> Result<Vec<String>> {
    let vehicles: &str = row.try_get(column)?;
    Ok(vehicles.split_whitespace().map(str::to_owned).collect())
}

/// A row of [`INCIDENT_COLUMNS`], read by position: looking each column up by name cost about
/// as much as decoding it (docs/benchmarks/server.md).
fn incident_from_row(row: MySqlRow) -> Result<Incident> {
    let row = &row;
    Ok(Incident {
        id: row.try_get(0)?,
        kind: wire(row, 1)?,
        status: wire(row, 2)?,
        severity: wire(row, 3)?,
        zone: row.try_get(4)?,
        road: row.try_get(5)?,
        vehicles: vehicle_list(row, 6)?,
        lat: row.try_get(7)?,
        lon: row.try_get(8)?,
        opened_at: row.try_get(9)?,
        updated_at: row.try_get(10)?,
        cleared_at: row.try_get(11)?,
        detail: row.try_get(12)?,
    })
}

fn update_from_row(row: MySqlRow) -> Result<IncidentUpdate> {
    let row = &row;
    {
        Ok(IncidentUpdate {
            id: row.try_get("event_id")?,
            status: wire(row, "status")?,
            severity: wire(row, "severity")?,
            zone: row.try_get("zone")?,
            road: row.try_get("road")?,
            vehicles: vehicle_list(row, "vehicles")?,
            lat: row.try_get("lat")?,
            lon: row.try_get("lon")?,
            occurred_at: row.try_get("occurred_at")?,
            detail: row.try_get("detail")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cursor_round_trips_and_rejects_forgeries() {
        let cursor = Cursor {
            opened_at: datetime!(2026-11-22 01:02:03.123456 UTC),
            id: "01JD0000000000000000000001".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        for bad in [
            "",
            "!!",
            "bm9wZQ",
            &URL_SAFE_NO_PAD.encode("1:short"),
            &URL_SAFE_NO_PAD.encode("x:01JD0000000000000000000001"),
            &"A".repeat(500),
        ] {
            assert_eq!(Cursor::decode(bad), Err(CursorError), "{bad}");
        }
    }

    #[test]
    fn each_filter_reads_the_fewest_ranges_in_time_order() {
        let ranges = |filter: IncidentFilter| {
            index_ranges(&filter).map(|ranges| {
                ranges
                    .iter()
                    .map(|range| {
                        let values: Vec<&str> = range.iter().map(|(_, v)| v.as_str()).collect();
                        values.join("/")
                    })
                    .collect::<Vec<_>>()
            })
        };
        let f = IncidentFilter::default;
        assert_eq!(ranges(f()), Some(vec![String::new()]));
        assert_eq!(
            ranges(IncidentFilter {
                kinds: vec![EventKind::Jam, EventKind::Accident],
                ..f()
            }),
            Some(vec!["jam".into(), "accident".into()])
        );
        // No index has kind and severity alone: the two statuses fill the gap.
        assert_eq!(
            ranges(IncidentFilter {
                kinds: vec![EventKind::Accident],
                severities: vec![Severity::Major],
                zones: vec!["east".into()],
                ..f()
            }),
            Some(vec![
                "east/accident/open/major".into(),
                "east/accident/cleared/major".into(),
            ])
        );
        // A zone's values are open-ended: never enumerated.
        assert_eq!(
            ranges(IncidentFilter {
                zones: vec!["east".into(), "north".into()],
                ..f()
            }),
            Some(vec!["east".into(), "north".into()])
        );
        let many_zones: Vec<String> = (0..50).map(|n| format!("z{n}")).collect();
        assert_eq!(
            ranges(IncidentFilter {
                zones: many_zones,
                severities: vec![Severity::Major],
                ..f()
            }),
            None
        );
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("50%_off!"), "%50!%!_off!!%");
    }

    #[test]
    fn bounding_box_parses_in_geojson_order() {
        assert_eq!(
            "4.8,45.7,4.9,45.8".parse(),
            BoundingBox::new(4.8, 45.7, 4.9, 45.8)
        );
        for bad in [
            "4.8,45.7,4.9",
            "a,b,c,d",
            "4.9,45.7,4.8,45.8",
            "0,91,1,92",
            "NaN,0,1,1",
            "0,0,1,1,2",
        ] {
            assert!(bad.parse::<BoundingBox>().is_err(), "{bad}");
        }
    }
}
