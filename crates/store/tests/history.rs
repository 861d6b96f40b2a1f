//! Listing incidents: every filter against a reference in plain Rust, and keyset paging.

use std::collections::HashSet;

use sqlx::MySqlPool;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use vigie_model::{EventKind, Severity, Status};
use vigie_store::fixtures::{matches, open, varied_events};
use vigie_store::{
    list_incidents, record_event, record_events, BoundingBox, Incident, IncidentFilter,
};

const T0: OffsetDateTime = datetime!(2026-11-22 00:00:00 UTC);

async fn all_pages(pool: &MySqlPool, filter: &IncidentFilter, limit: u32) -> Vec<Incident> {
    let mut incidents = Vec::new();
    let mut cursor = None;
    loop {
        let page = list_incidents(pool, filter, limit, cursor.as_ref())
            .await
            .unwrap();
        assert!(page.incidents.len() <= limit as usize);
        incidents.extend(page.incidents);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return incidents,
        }
    }
}

fn filters() -> Vec<IncidentFilter> {
    let f = IncidentFilter::default;
    vec![
        f(),
        IncidentFilter {
            kinds: vec![EventKind::Jam],
            ..f()
        },
        IncidentFilter {
            kinds: vec![EventKind::Accident, EventKind::ZoneExit],
            ..f()
        },
        IncidentFilter {
            statuses: vec![Status::Cleared],
            ..f()
        },
        IncidentFilter {
            severities: vec![Severity::Major],
            ..f()
        },
        IncidentFilter {
            zones: vec!["east".into()],
            ..f()
        },
        IncidentFilter {
            zones: vec!["east".into(), "north".into()],
            ..f()
        },
        IncidentFilter {
            vehicle: Some("v3".into()),
            ..f()
        },
        IncidentFilter {
            from: Some(T0 + Duration::seconds(30)),
            ..f()
        },
        IncidentFilter {
            to: Some(T0 + Duration::seconds(60)),
            ..f()
        },
        IncidentFilter {
            bbox: Some(BoundingBox::new(4.80, 45.70, 4.85, 45.75).unwrap()),
            ..f()
        },
        IncidentFilter {
            text: Some("AIRBAG".into()),
            ..f()
        },
        IncidentFilter {
            text: Some("50%".into()),
            ..f()
        },
        IncidentFilter {
            text: Some("_".into()),
            ..f()
        },
        IncidentFilter {
            kinds: vec![EventKind::Jam, EventKind::Accident],
            statuses: vec![Status::Open, Status::Update],
            zones: vec!["centre".into()],
            ..f()
        },
        IncidentFilter {
            severities: vec![Severity::Minor, Severity::Moderate],
            from: Some(T0 + Duration::seconds(10)),
            to: Some(T0 + Duration::seconds(100)),
            bbox: Some(BoundingBox::new(4.80, 45.70, 4.87, 45.78).unwrap()),
            ..f()
        },
        IncidentFilter {
            vehicle: Some("v1".into()),
            kinds: vec![EventKind::Jam],
            text: Some("#".into()),
            ..f()
        },
    ]
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn every_filter_matches_the_reference(pool: MySqlPool) {
    record_events(&pool, &varied_events(7, 120, T0))
        .await
        .unwrap();
    let everything = all_pages(&pool, &IncidentFilter::default(), 1000).await;
    assert_eq!(everything.len(), 120);
    let newest_first = everything
        .windows(2)
        .all(|w| (w[0].opened_at, &w[0].id) > (w[1].opened_at, &w[1].id));
    assert!(newest_first);

    for filter in filters() {
        let expected: Vec<&str> = everything
            .iter()
            .filter(|i| matches(&filter, i))
            .map(|i| i.id.as_str())
            .collect();
        for limit in [7, 1000] {
            let got = all_pages(&pool, &filter, limit).await;
            let got: Vec<&str> = got.iter().map(|i| i.id.as_str()).collect();
            assert_eq!(got, expected, "{filter:?} limit {limit}");
        }
        if filter != IncidentFilter::default() {
            assert!(
                expected.len() < everything.len(),
                "uninformative filter {filter:?}"
            );
        }
    }
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn paging_survives_concurrent_inserts(pool: MySqlPool) {
    record_events(&pool, &varied_events(3, 60, T0))
        .await
        .unwrap();
    let before: Vec<String> = all_pages(&pool, &IncidentFilter::default(), 1000)
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();

    let writer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for n in 0..40 {
                // New incidents arrive, at the top and (late archive replays) in the middle.
                let at = if n % 2 == 0 {
                    T0 + Duration::hours(1) + Duration::seconds(n)
                } else {
                    T0 + Duration::seconds(n)
                };
                record_event(&pool, &open(EventKind::Jam, at))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = list_incidents(&pool, &IncidentFilter::default(), 5, cursor.as_ref())
            .await
            .unwrap();
        seen.extend(page.incidents.into_iter().map(|i| (i.opened_at, i.id)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    writer.await.unwrap();

    let unique: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(unique.len(), seen.len(), "an incident appeared twice");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "pages out of order");
    for id in &before {
        assert!(unique.contains(id), "incident {id} skipped");
    }
}
