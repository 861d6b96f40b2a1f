//! Property: for random incidents and random filters, `GET /api/v1/incidents` paged to the end
//! returns exactly what the reference filter in plain Rust (`vigie_store::fixtures::matches`)
//! returns, newest first, each page but the last full.
//!
//! Text and names are ASCII: MySQL's `utf8mb4_unicode_ci` also folds accents (`e` finds `é`),
//! which the reference does not model.

mod common;

use axum::http::StatusCode;
use common::{get, router};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use vigie_model::{EventKind, Severity, Status};
use vigie_store::fixtures::matches;
use vigie_store::{BoundingBox, Incident, IncidentDetail, IncidentFilter};

const T0: OffsetDateTime = datetime!(2026-11-22 08:00:00 UTC);
const ZONES: [&str; 4] = ["centre", "east", "north", "riverside"];
const VEHICLES: [&str; 5] = ["v1", "v2", "v3", "v4", "v5"];

/// Opening times within a minute, in whole milliseconds, so that many incidents share one.
fn opened_at() -> impl Strategy<Value = OffsetDateTime> {
    (0i64..60, prop_oneof![Just(0i64), 0i64..1000])
        .prop_map(|(s, ms)| T0 + Duration::seconds(s) + Duration::milliseconds(ms))
}

fn incident() -> impl Strategy<Value = Incident> {
    (
        (
            select(EventKind::ALL.to_vec()),
            select(Status::OF_INCIDENTS.to_vec()),
            select(Severity::ALL.to_vec()),
            proptest::option::of(select(ZONES.to_vec())),
            subsequence(VEHICLES.to_vec(), 0..3),
        ),
        (
            0u32..9,
            0u32..8,
            opened_at(),
            any::<u64>(),
            "[a-zA-Z %_!']{0,12}",
        ),
    )
        .prop_map(
            |((kind, status, severity, zone, vehicles), (lat, lon, opened_at, random, detail))| {
                let millis = (opened_at.unix_timestamp_nanos() / 1_000_000) as u64;
                Incident {
                    id: ulid::Ulid::from_parts(millis, u128::from(random)).to_string(),
                    kind,
                    status,
                    severity,
                    zone: zone.map(str::to_owned),
                    road: None,
                    vehicles: vehicles.into_iter().map(str::to_owned).collect(),
                    lat: 45.74 + f64::from(lat) * 0.005,
                    lon: 4.80 + f64::from(lon) * 0.01,
                    opened_at,
                    updated_at: opened_at,
                    cleared_at: None,
                    detail,
                }
            },
        )
}

/// Often no value (the field does not filter), else one or two.
fn some_of<T: Clone + std::fmt::Debug + 'static>(values: Vec<T>) -> impl Strategy<Value = Vec<T>> {
    prop_oneof![3 => Just(Vec::new()), 2 => subsequence(values, 1..=2)]
}

fn filter() -> impl Strategy<Value = IncidentFilter> {
    let bbox = (0u32..9, 0u32..9, 0u32..8, 0u32..8).prop_map(|(a, b, c, d)| {
        let lat = |k: u32| 45.74 + f64::from(k) * 0.005;
        let lon = |k: u32| 4.80 + f64::from(k) * 0.01;
        BoundingBox::new(lon(c.min(d)), lat(a.min(b)), lon(c.max(d)), lat(a.max(b)))
            .expect("a valid box")
    });
    let mut zones = ZONES.to_vec();
    zones.push("south");
    (
        (
            some_of(EventKind::ALL.to_vec()),
            some_of(Status::OF_INCIDENTS.to_vec()),
            some_of(Severity::ALL.to_vec()),
            some_of(zones),
            proptest::option::weighted(0.3, select(VEHICLES.to_vec())),
        ),
        (
            proptest::option::weighted(0.3, opened_at()),
            proptest::option::weighted(0.3, opened_at()),
            proptest::option::weighted(0.3, bbox),
            proptest::option::weighted(0.3, "[a-zA-Z %_!']{1,3}"),
        ),
    )
        .prop_map(
            |((kinds, statuses, severities, zones, vehicle), (from, to, bbox, text))| {
                let (from, to) = match (from, to) {
                    (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                    other => other,
                };
                IncidentFilter {
                    kinds,
                    statuses,
                    severities,
                    zones: zones.into_iter().map(str::to_owned).collect(),
                    vehicle: vehicle.map(str::to_owned),
                    from,
                    to,
                    bbox,
                    text,
                }
            },
        )
}

/// The query string of `filter`, as a client would write it.
fn query_string(filter: &IncidentFilter) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let list = |values: Vec<String>| values.join(",");
    if !filter.kinds.is_empty() {
        query.append_pair(
            "kind",
            &list(filter.kinds.iter().map(|k| k.to_string()).collect()),
        );
    }
    // Repeated parameters work as well as comma lists.
    for status in &filter.statuses {
        query.append_pair("status", status.as_str());
    }
    if !filter.severities.is_empty() {
        query.append_pair(
            "severity",
            &list(filter.severities.iter().map(|s| s.to_string()).collect()),
        );
    }
    if !filter.zones.is_empty() {
        query.append_pair("zone", &list(filter.zones.clone()));
    }
    if let Some(vehicle) = &filter.vehicle {
        query.append_pair("vehicle", vehicle);
    }
    for (name, at) in [("from", filter.from), ("to", filter.to)] {
        if let Some(at) = at {
            query.append_pair(name, &at.format(&Rfc3339).unwrap());
        }
    }
    if let Some(b) = filter.bbox {
        query.append_pair(
            "bbox",
            &format!("{},{},{},{}", b.min_lon, b.min_lat, b.max_lon, b.max_lat),
        );
    }
    if let Some(text) = &filter.text {
        query.append_pair("text", text);
    }
    query.finish()
}

/// Every page of `query`, `limit` at a time; checks that each page but the last is full.
async fn all_pages(app: &axum::Router, query: &str, limit: u32) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut uri = format!("/api/v1/incidents?limit={limit}&{query}");
        if let Some(cursor) = &cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        let reply = get(app, &uri).await;
        if reply.status != StatusCode::OK {
            return Err(format!("{uri}: {} {}", reply.status, reply.text()));
        }
        let page = reply.json();
        let ids = page["incidents"].as_array().unwrap();
        found.extend(ids.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) if ids.len() == limit as usize => cursor = Some(next.to_owned()),
            Some(_) => return Err(format!("{uri}: a short page with a next cursor")),
            None => return Ok(found),
        }
    }
}

#[test]
fn listing_matches_the_reference_filter_page_by_page() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = vigie_stack::Mysql::shared()
        .fresh_database("server_properties")
        .unwrap();
    let pool = runtime.block_on(vigie_server::connect(&url)).unwrap();
    let app = router(pool.clone());
    let config = ProptestConfig {
        cases: 32,
        // Shrinking replays cases against the database: keep it bounded.
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    };
    proptest!(config, |(incidents in vec(incident(), 0..60), filters in vec(filter(), 1..5), limit in 1u32..8)| {
        let mut incidents = incidents;
        incidents.sort_by(|a, b| (b.opened_at, &b.id).cmp(&(a.opened_at, &a.id)));
        incidents.dedup_by(|a, b| a.id == b.id);
        runtime.block_on(async {
            for table in ["incident_vehicles", "incident_updates", "incidents"] {
                sqlx::query(&format!("DELETE FROM {table}")).execute(&pool).await.unwrap();
            }
            let history: Vec<IncidentDetail> = incidents
                .iter()
                .map(|incident| IncidentDetail { incident: incident.clone(), updates: Vec::new() })
                .collect();
            vigie_store::insert_history(&pool, &history).await.unwrap();
            for filter in &filters {
                let query = query_string(filter);
                let expected: Vec<String> = incidents
                    .iter()
                    .filter(|i| matches(filter, i))
                    .map(|i| i.id.clone())
                    .collect();
                let listed = all_pages(&app, &query, limit).await.map_err(TestCaseError::fail)?;
                prop_assert_eq!(listed, expected, "query {}, limit {}", query, limit);
            }
            Ok(())
        })?;
    });
}
