//! `/api/v1/incidents` over a real MySQL: filters against the reference, paging, bad input.

mod common;

use std::collections::HashSet;

use axum::http::StatusCode;
use common::{assert_bad_parameter, get, router};
use serde_json::Value;
use sqlx::MySqlPool;
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use vigie_model::{EventKind, Status};
use vigie_server::IncidentQuery;
use vigie_store::fixtures::{follow, matches, open, varied_events};
use vigie_store::{list_incidents, record_event, record_events, IncidentFilter};

const T0: OffsetDateTime = datetime!(2026-11-22 00:00:00 UTC);

fn ids(page: &Value) -> Vec<String> {
    page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `query`, `limit` at a time.
async fn all_pages(app: &axum::Router, query: &str, limit: u32) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut uri = format!("/api/v1/incidents?limit={limit}");
        if !query.is_empty() {
            uri.push('&');
            uri.push_str(query);
        }
        if let Some(cursor) = &cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        let reply = get(app, &uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
        let page = reply.json();
        found.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return found,
        }
    }
}

fn at(offset_seconds: i64) -> String {
    (T0 + Duration::seconds(offset_seconds))
        .format(&Rfc3339)
        .unwrap()
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn each_filter_and_combinations_match_the_reference(pool: MySqlPool) {
    record_events(&pool, &varied_events(11, 150, T0))
        .await
        .unwrap();
    let everything = list_incidents(&pool, &IncidentFilter::default(), 1000, None)
        .await
        .unwrap()
        .incidents;
    assert_eq!(everything.len(), 150);
    let app = router(pool);

    let queries = [
        String::new(),
        "kind=jam".into(),
        "kind=accident,zone_enter".into(),
        "kind=accident&kind=zone_exit".into(),
        "status=cleared".into(),
        "status=open,cleared".into(),
        "severity=major".into(),
        "zone=east".into(),
        "zone=centre&zone=north".into(),
        "vehicle=v3".into(),
        format!("from={}", at(40)),
        format!("to={}", at(80)),
        format!("from={}&to={}", at(20), at(120)),
        "from=2026-11-22T01:00:30%2B01:00".into(),
        "bbox=4.80,45.70,4.85,45.75".into(),
        "text=airbag".into(),
        "text=QUEUE%2050%25".into(),
        "text=%25".into(),
        "kind=jam,accident&status=open&zone=centre".into(),
        format!(
            "severity=minor,moderate&bbox=4.8,45.7,4.87,45.78&from={}",
            at(10)
        ),
        "vehicle=v1&kind=jam&text=%23".into(),
        "kind=zone_exit&severity=major&status=cleared&zone=east&vehicle=v2".into(),
    ];
    for query in queries {
        let parsed = IncidentQuery::parse(&query).unwrap();
        let expected: Vec<String> = everything
            .iter()
            .filter(|i| matches(&parsed.filter, i))
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(all_pages(&app, &query, 1000).await, expected, "{query}");
        assert_eq!(
            all_pages(&app, &query, 9).await,
            expected,
            "{query}, paged by 9"
        );
    }
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn incidents_carry_every_field(pool: MySqlPool) {
    let opened = vigie_model::Event {
        road: Some("r2".into()),
        ..open(EventKind::Accident, T0)
    };
    let cleared = follow(&opened, Status::Cleared, T0 + Duration::seconds(42));
    record_events(&pool, &[opened.clone(), cleared.clone()])
        .await
        .unwrap();
    let app = router(pool);

    let reply = get(&app, "/api/v1/incidents").await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let page = reply.json();
    assert_eq!(page["next_cursor"], Value::Null);
    let incident = &page["incidents"][0];
    assert_eq!(incident["id"], opened.id.as_str());
    assert_eq!(incident["kind"], "accident");
    assert_eq!(incident["status"], "cleared");
    assert_eq!(incident["severity"], "minor");
    assert_eq!(incident["zone"], "centre");
    assert_eq!(incident["road"], "r2");
    assert_eq!(incident["vehicles"], serde_json::json!(["v1"]));
    assert_eq!(incident["lat"], 45.76);
    assert_eq!(incident["lon"], 4.835);
    assert_eq!(incident["opened_at"], "2026-11-22T00:00:00Z");
    assert_eq!(incident["updated_at"], "2026-11-22T00:00:42Z");
    assert_eq!(incident["cleared_at"], "2026-11-22T00:00:42Z");
    assert_eq!(incident["detail"], cleared.detail.as_str());

    let detail = get(&app, &format!("/api/v1/incidents/{}", opened.id)).await;
    assert_eq!(detail.status, StatusCode::OK);
    let detail = detail.json();
    assert_eq!(detail["status"], "cleared");
    let updates = detail["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["id"], opened.id.as_str());
    assert_eq!(updates[0]["status"], "open");
    assert_eq!(updates[1]["id"], cleared.id.as_str());
    assert_eq!(updates[1]["occurred_at"], "2026-11-22T00:00:42Z");
    // ULIDs are case-insensitive.
    let lower = get(
        &app,
        &format!("/api/v1/incidents/{}", opened.id.to_lowercase()),
    )
    .await;
    assert_eq!(lower.status, StatusCode::OK);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn unknown_incident_is_a_404_problem(pool: MySqlPool) {
    let app = router(pool);
    let reply = get(&app, "/api/v1/incidents/01JD0000000000000000000000").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.json()["status"], 404);
    assert_bad_parameter(
        &get(&app, "/api/v1/incidents/not-an-id").await,
        "id",
        "malformed id",
    );
    assert_bad_parameter(
        &get(&app, "/api/v1/incidents/01JD0000000000000000000000?x=1").await,
        "x",
        "parameter",
    );
    let unknown = get(&app, "/api/v1/nothing-here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.header("content-type"),
        Some("application/problem+json")
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn paging_is_stable_under_concurrent_inserts(pool: MySqlPool) {
    record_events(&pool, &varied_events(5, 80, T0))
        .await
        .unwrap();
    let app = router(pool.clone());
    let before: HashSet<String> = all_pages(&app, "", 1000).await.into_iter().collect();

    let writer = tokio::spawn(async move {
        for n in 0..60 {
            // Newer incidents, and late ones from an archive replay, arrive while a client pages.
            let at = if n % 3 == 0 {
                T0 + Duration::seconds(n * 2)
            } else {
                T0 + Duration::hours(2) + Duration::seconds(n)
            };
            record_event(&pool, &open(EventKind::Jam, at))
                .await
                .unwrap();
            tokio::task::yield_now().await;
        }
    });
    let seen = all_pages(&app, "", 7).await;
    writer.await.unwrap();

    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an incident was listed twice");
    for id in &before {
        assert!(unique.contains(id), "incident {id} was skipped");
    }
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn bad_input_is_a_400_naming_the_parameter_and_harms_nothing(pool: MySqlPool) {
    record_events(&pool, &varied_events(1, 20, T0))
        .await
        .unwrap();
    let app = router(pool.clone());
    let long = "x".repeat(5000);
    let corpus: Vec<(String, &str)> = vec![
        ("kind=meteor".into(), "kind"),
        ("kind=jam,".into(), "kind"),
        ("kind=".into(), "kind"),
        ("kind=JAM".into(), "kind"),
        ("status=closed".into(), "status"),
        // An event's status, not an incident's.
        ("status=update".into(), "status"),
        ("severity=1".into(), "severity"),
        ("zone=".into(), "zone"),
        (format!("zone={long}"), "zone"),
        (format!("kind={}", ["jam"; 10].join(",")), "ok"),
        (
            format!(
                "zone={}",
                (0..60)
                    .map(|n| format!("z{n}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            "zone",
        ),
        ("vehicle=".into(), "vehicle"),
        ("vehicle=a&vehicle=b".into(), "vehicle"),
        ("from=yesterday".into(), "from"),
        ("from=2026-11-22".into(), "from"),
        ("from=2026-11-22T00:00:00".into(), "from"),
        ("to=2026-13-01T00:00:00Z".into(), "to"),
        ("from=0001-01-01T00:00:00Z".into(), "from"),
        (
            "from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z".into(),
            "to",
        ),
        ("bbox=1,2,3".into(), "bbox"),
        ("bbox=a,b,c,d".into(), "bbox"),
        ("bbox=4.9,45.7,4.8,45.8".into(), "bbox"),
        ("bbox=0,-91,1,0".into(), "bbox"),
        ("bbox=NaN,0,1,1".into(), "bbox"),
        ("bbox=inf,0,1,1".into(), "bbox"),
        ("text=".into(), "text"),
        (format!("text={long}"), "text"),
        ("limit=0".into(), "limit"),
        ("limit=1001".into(), "limit"),
        ("limit=-1".into(), "limit"),
        ("limit=ten".into(), "limit"),
        ("limit=99999999999999999999".into(), "limit"),
        ("limit=1&limit=2".into(), "limit"),
        ("cursor=garbage".into(), "cursor"),
        ("cursor=MTox".into(), "cursor"),
        (format!("cursor={long}"), "cursor"),
        ("sort=opened_at".into(), "sort"),
        ("KIND=jam".into(), "KIND"),
        ("kind%00=jam".into(), "kind\0"),
        ("zone=centre'%20OR%201=1%20--".into(), "ok"),
        ("text=%27);DROP%20TABLE%20incidents;--".into(), "ok"),
        ("vehicle=v1%22%20OR%20%221%22=%221".into(), "ok"),
        ("kind=jam%27%20OR%20%271%27=%271".into(), "kind"),
        ("text=%FF%FE".into(), "ok"),
    ];
    for (query, parameter) in &corpus {
        let reply = get(&app, &format!("/api/v1/incidents?{query}")).await;
        if *parameter == "ok" {
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
        } else {
            assert_bad_parameter(&reply, parameter, query);
        }
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incidents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 20, "database intact");
    assert_eq!(
        get(&app, "/api/v1/incidents?zone=centre'%20OR%201=1%20--")
            .await
            .json()["incidents"],
        serde_json::json!([])
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn limit_defaults_to_100(pool: MySqlPool) {
    record_events(&pool, &varied_events(2, 130, T0))
        .await
        .unwrap();
    let app = router(pool);
    let page = get(&app, "/api/v1/incidents").await.json();
    assert_eq!(ids(&page).len(), 100);
    assert!(page["next_cursor"].is_string());
    let rest = get(
        &app,
        &format!(
            "/api/v1/incidents?cursor={}",
            page["next_cursor"].as_str().unwrap()
        ),
    )
    .await
    .json();
    assert_eq!(ids(&rest).len(), 30);
    assert_eq!(rest["next_cursor"], Value::Null);
}
