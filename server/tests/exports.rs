//! The CSV and GeoJSON exports (streamed across pages) and the statistics.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::{assert_bad_parameter, get, router};
use sqlx::MySqlPool;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use vigie_model::event::format_time;
use vigie_model::EventKind;
use vigie_server::{IncidentQuery, Resource};
use vigie_store::fixtures::{matches, open, varied_events};
use vigie_store::{list_incidents, record_events, Incident, IncidentFilter};

const T0: OffsetDateTime = datetime!(2026-11-22 00:00:00 UTC);

async fn everything(pool: &MySqlPool) -> Vec<Incident> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = list_incidents(pool, &IncidentFilter::default(), 1000, cursor.as_ref())
            .await
            .unwrap();
        all.extend(page.incidents);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

fn expected_ids(all: &[Incident], query: &str) -> Vec<String> {
    let filter = IncidentQuery::parse_for(Resource::Export, query)
        .unwrap()
        .filter;
    all.iter()
        .filter(|i| matches(&filter, i))
        .map(|i| i.id.clone())
        .collect()
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn exports_stream_every_match_across_pages(pool: MySqlPool) {
    record_events(&pool, &varied_events(21, 1100, T0))
        .await
        .unwrap();
    let tricky = vigie_model::Event {
        detail: "a, \"quoted\"\nline".into(),
        ..open(EventKind::Jam, T0 - Duration::hours(1))
    };
    record_events(&pool, std::slice::from_ref(&tricky))
        .await
        .unwrap();
    let all = everything(&pool).await;
    let app = router(pool);

    for query in ["", "kind=jam,accident&status=open"] {
        let expected = expected_ids(&all, query);
        let csv = get(&app, &format!("/api/v1/incidents.csv?{query}")).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        let text = csv.text();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some(vigie_server::CSV_HEADER.trim_end()));
        let ids: Vec<String> = lines
            .filter(|line| line.len() > 26 && line.as_bytes()[26] == b',')
            .map(|line| line[..26].to_owned())
            .collect();
        assert_eq!(ids, expected, "csv {query}");

        let geojson = get(&app, &format!("/api/v1/incidents.geojson?{query}")).await;
        assert_eq!(geojson.header("content-type"), Some("application/geo+json"));
        let collection = geojson.json();
        assert_eq!(collection["type"], "FeatureCollection");
        let ids: Vec<String> = collection["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, expected, "geojson {query}");
    }
    assert!(
        expected_ids(&all, "").len() > 1000,
        "the export crossed a page boundary"
    );

    let csv = get(&app, "/api/v1/incidents.csv?kind=jam").await.text();
    let row = format!(
        "{},jam,open,minor,centre,,v1,45.76,4.835,{at},{at},,\"a, \"\"quoted\"\"\nline\"\r\n",
        tricky.id,
        at = format_time(tricky.occurred_at)
    );
    assert!(
        csv.ends_with(&row),
        "{}",
        &csv[csv.len().saturating_sub(300)..]
    );
    let feature = get(
        &app,
        &format!("/api/v1/incidents.geojson?to={}", format_time(T0)),
    )
    .await
    .json();
    let feature = &feature["features"][0];
    assert_eq!(
        feature["geometry"],
        serde_json::json!({ "type": "Point", "coordinates": [4.835, 45.76] })
    );
    assert_eq!(feature["properties"]["detail"], tricky.detail.as_str());

    assert_bad_parameter(
        &get(&app, "/api/v1/incidents.csv?limit=10").await,
        "limit",
        "exports take no limit",
    );
    assert_bad_parameter(
        &get(&app, "/api/v1/incidents.geojson?kind=x").await,
        "kind",
        "bad kind",
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn stats_count_by_bucket_and_kind(pool: MySqlPool) {
    record_events(&pool, &varied_events(4, 200, T0))
        .await
        .unwrap();
    let all = everything(&pool).await;
    let app = router(pool);

    for (query, bucket_seconds) in [
        ("bucket=minute", 60),
        ("bucket=hour&kind=jam,accident", 3600),
        ("bucket=day&zone=east", 86400),
    ] {
        let filter = IncidentQuery::parse_for(Resource::Stats, query)
            .unwrap()
            .filter;
        let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
        for incident in all.iter().filter(|i| matches(&filter, i)) {
            let seconds = incident.opened_at.unix_timestamp();
            let start =
                OffsetDateTime::from_unix_timestamp(seconds - seconds.rem_euclid(bucket_seconds))
                    .unwrap();
            *expected
                .entry((format_time(start), incident.kind.to_string()))
                .or_default() += 1;
        }
        let reply = get(&app, &format!("/api/v1/stats?{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
        let stats = reply.json();
        let got: BTreeMap<(String, String), i64> = stats["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    (
                        c["start"].as_str().unwrap().to_owned(),
                        c["kind"].as_str().unwrap().to_owned(),
                    ),
                    c["count"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{query}");
        assert!(!got.is_empty());
    }
    assert_bad_parameter(
        &get(&app, "/api/v1/stats").await,
        "bucket",
        "bucket required",
    );
    assert_bad_parameter(
        &get(&app, "/api/v1/stats?bucket=week").await,
        "bucket",
        "unknown bucket",
    );
    assert_bad_parameter(
        &get(&app, "/api/v1/stats?bucket=day&cursor=x").await,
        "cursor",
        "no cursor",
    );
}
