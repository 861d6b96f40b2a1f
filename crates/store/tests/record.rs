//! Recording events: exactly once, in any order, in batches, with the collector's cursor.

use sqlx::MySqlPool;
use time::macros::datetime;
use time::Duration;
use vigie_model::{EventKind, Severity, Status};
use vigie_store::fixtures::{follow, open};
use vigie_store::{
    get_incident, list_incidents, load_archive_cursor, record_event, record_events,
    record_events_and_cursor, save_archive_cursor, IncidentFilter, Recorded,
};

const T0: time::OffsetDateTime = datetime!(2026-11-22 01:00:00.123456 UTC);

async fn count(pool: &MySqlPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn incident(pool: &MySqlPool, id: &str) -> vigie_model::Incident {
    get_incident(pool, id).await.unwrap().unwrap().incident
}

/// The ids the history lists for `status=open`.
async fn open_incidents(pool: &MySqlPool) -> Vec<String> {
    let filter = IncidentFilter {
        statuses: vec![Status::Open],
        ..IncidentFilter::default()
    };
    let page = list_incidents(pool, &filter, 100, None).await.unwrap();
    page.incidents.into_iter().map(|i| i.id).collect()
}

/// Runs SQL: a migration's text (a file in migrations/, applied again as the migrator would)
/// or a statement putting the incidents back as an earlier collector stored them.
async fn run_sql(pool: &MySqlPool, sql: &'static str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn lifecycle_open_update_cleared(pool: MySqlPool) {
    let opened = open(EventKind::Jam, T0);
    let update = vigie_model::Event {
        severity: Severity::Major,
        vehicles: vec!["v1".into(), "v2".into()],
        ..follow(&opened, Status::Update, T0 + Duration::seconds(30))
    };
    let cleared = follow(&update, Status::Cleared, T0 + Duration::seconds(90));

    assert_eq!(
        record_event(&pool, &opened).await.unwrap(),
        Recorded::Inserted
    );
    let detail = get_incident(&pool, &opened.incident)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.incident.status, Status::Open);
    assert_eq!(detail.incident.opened_at, T0);
    assert_eq!(detail.incident.cleared_at, None);

    assert_eq!(
        record_event(&pool, &update).await.unwrap(),
        Recorded::Inserted
    );
    assert_eq!(
        record_event(&pool, &cleared).await.unwrap(),
        Recorded::Inserted
    );
    let detail = get_incident(&pool, &opened.incident)
        .await
        .unwrap()
        .unwrap();
    let incident = &detail.incident;
    assert_eq!(
        (incident.id.as_str(), incident.kind),
        (opened.id.as_str(), EventKind::Jam)
    );
    assert_eq!(
        (incident.status, incident.severity),
        (Status::Cleared, Severity::Major)
    );
    assert_eq!(incident.opened_at, T0);
    assert_eq!(incident.updated_at, T0 + Duration::seconds(90));
    assert_eq!(incident.cleared_at, Some(T0 + Duration::seconds(90)));
    assert_eq!(incident.vehicles, ["v1", "v2"]);
    assert_eq!(incident.detail, cleared.detail);
    let ids: Vec<_> = detail.updates.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [&opened.id, &update.id, &cleared.id]);
    assert_eq!(detail.updates[1].severity, Severity::Major);
    assert_eq!(count(&pool, "incident_vehicles").await, 2);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn a_zone_crossing_is_over_at_once_and_not_an_open_incident(pool: MySqlPool) {
    let accident = open(EventKind::Accident, T0);
    let entry = open(EventKind::ZoneEnter, T0 + Duration::seconds(1));
    record_events(&pool, &[accident.clone(), entry.clone()])
        .await
        .unwrap();
    let detail = get_incident(&pool, &entry.incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Cleared);
    assert_eq!(detail.incident.cleared_at, Some(entry.occurred_at));
    // Its one event keeps the status it was published with.
    assert_eq!(detail.updates[0].status, Status::Open);
    assert_eq!(open_incidents(&pool).await, [accident.incident.as_str()]);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn an_updated_incident_is_still_open_until_cleared(pool: MySqlPool) {
    let jam = open(EventKind::Jam, T0);
    let update = follow(&jam, Status::Update, T0 + Duration::seconds(30));
    record_events(&pool, &[jam.clone(), update.clone()])
        .await
        .unwrap();
    let detail = get_incident(&pool, &jam.incident).await.unwrap().unwrap();
    assert_eq!(detail.incident.status, Status::Open);
    assert_eq!(detail.updates[1].status, Status::Update);
    assert_eq!(open_incidents(&pool).await, [jam.incident.as_str()]);

    // Earlier collectors stored such an incident as `update`: the migration opens it.
    run_sql(&pool, "UPDATE incidents SET status = 'update'").await;
    run_sql(
        &pool,
        include_str!("../migrations/20261205000003_updated_incidents_are_open.sql"),
    )
    .await;
    assert_eq!(incident(&pool, &jam.incident).await.status, Status::Open);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn the_migration_clears_zone_crossings_stored_open_by_earlier_collectors(pool: MySqlPool) {
    let accident = open(EventKind::Accident, T0);
    let exit = open(EventKind::ZoneExit, T0 + Duration::seconds(1));
    record_events(&pool, &[accident.clone(), exit.clone()])
        .await
        .unwrap();
    run_sql(
        &pool,
        "UPDATE incidents SET status = 'open', cleared_at = NULL",
    )
    .await;
    run_sql(
        &pool,
        include_str!("../migrations/20261205000001_zone_crossings_are_over.sql"),
    )
    .await;
    let accident = incident(&pool, &accident.incident).await;
    assert_eq!((accident.status, accident.cleared_at), (Status::Open, None));
    let exit_incident = incident(&pool, &exit.incident).await;
    assert_eq!(
        (exit_incident.status, exit_incident.cleared_at),
        (Status::Cleared, Some(exit.occurred_at))
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn the_migration_restores_the_severity_earlier_gateways_cleared_as_minor(pool: MySqlPool) {
    let opened = vigie_model::Event {
        severity: Severity::Major,
        ..open(EventKind::Accident, T0)
    };
    let cleared = vigie_model::Event {
        severity: Severity::Minor,
        ..follow(&opened, Status::Cleared, T0 + Duration::seconds(60))
    };
    let still_open = open(EventKind::Jam, T0);
    record_events(&pool, &[opened.clone(), cleared, still_open.clone()])
        .await
        .unwrap();
    let severity = |id| incident(&pool, id);
    assert_eq!(severity(&opened.incident).await.severity, Severity::Minor);
    run_sql(
        &pool,
        include_str!("../migrations/20261205000002_clearing_keeps_severity.sql"),
    )
    .await;
    assert_eq!(severity(&opened.incident).await.severity, Severity::Major);
    assert_eq!(
        severity(&still_open.incident).await.severity,
        Severity::Minor
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn a_repeated_event_changes_nothing(pool: MySqlPool) {
    let opened = open(EventKind::Accident, T0);
    let cleared = follow(&opened, Status::Cleared, T0 + Duration::seconds(5));
    record_events(&pool, &[opened.clone(), cleared.clone()])
        .await
        .unwrap();
    let before = get_incident(&pool, &opened.incident).await.unwrap();

    // The same ids again, even with other content, are duplicates.
    let replayed_open = vigie_model::Event {
        detail: "tampered".into(),
        ..opened.clone()
    };
    assert_eq!(
        record_event(&pool, &replayed_open).await.unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(
        record_event(&pool, &cleared).await.unwrap(),
        Recorded::Duplicate
    );
    assert_eq!(get_incident(&pool, &opened.incident).await.unwrap(), before);
    assert_eq!(count(&pool, "incident_updates").await, 2);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn any_order_gives_the_same_incident(pool: MySqlPool) {
    let opened = open(EventKind::Jam, T0);
    let update = vigie_model::Event {
        severity: Severity::Moderate,
        ..follow(&opened, Status::Update, T0 + Duration::seconds(10))
    };
    let cleared = follow(&opened, Status::Cleared, T0 + Duration::seconds(20));
    let in_order = [opened.clone(), update.clone(), cleared.clone()];
    record_events(&pool, &in_order).await.unwrap();
    let expected = get_incident(&pool, &opened.incident)
        .await
        .unwrap()
        .unwrap();

    for order in [[2, 1, 0], [1, 0, 2], [2, 0, 1]] {
        sqlx::query("DELETE FROM incidents")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM incident_updates")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM incident_vehicles")
            .execute(&pool)
            .await
            .unwrap();
        for i in order {
            assert_eq!(
                record_event(&pool, &in_order[i]).await.unwrap(),
                Recorded::Inserted
            );
        }
        assert_eq!(
            get_incident(&pool, &opened.incident)
                .await
                .unwrap()
                .unwrap(),
            expected,
            "{order:?}"
        );
    }
    let opened_at: time::OffsetDateTime =
        sqlx::query_scalar("SELECT opened_at FROM incident_vehicles")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(opened_at, T0);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn a_batch_reports_each_event(pool: MySqlPool) {
    let opened = open(EventKind::Accident, T0);
    let bad = vigie_model::Event {
        id: "not-a-ulid".into(),
        ..follow(&opened, Status::Update, T0)
    };
    let far = vigie_model::Event {
        lat: 123.0,
        ..follow(&opened, Status::Update, T0)
    };
    let outcomes = record_events(&pool, &[opened.clone(), opened.clone(), bad, far])
        .await
        .unwrap();
    assert_eq!(outcomes[0], Recorded::Inserted);
    assert_eq!(outcomes[1], Recorded::Duplicate);
    assert!(
        matches!(&outcomes[2], Recorded::Rejected(r) if r.field == "id"),
        "{:?}",
        outcomes[2]
    );
    assert!(
        matches!(&outcomes[3], Recorded::Rejected(r) if r.field == "lat"),
        "{:?}",
        outcomes[3]
    );
    assert_eq!(count(&pool, "incident_updates").await, 1);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn the_archive_cursor_moves_with_its_batch(pool: MySqlPool) {
    assert_eq!(load_archive_cursor(&pool, "accidents").await.unwrap(), None);
    let opened = open(EventKind::Accident, T0);
    record_events_and_cursor(&pool, std::slice::from_ref(&opened), "accidents", "mam-1")
        .await
        .unwrap();
    assert_eq!(
        load_archive_cursor(&pool, "accidents")
            .await
            .unwrap()
            .as_deref(),
        Some("mam-1")
    );
    save_archive_cursor(&pool, "accidents", "mam-2")
        .await
        .unwrap();
    save_archive_cursor(&pool, "jams", "mam-9").await.unwrap();
    assert_eq!(
        load_archive_cursor(&pool, "accidents")
            .await
            .unwrap()
            .as_deref(),
        Some("mam-2")
    );
    assert_eq!(
        load_archive_cursor(&pool, "jams").await.unwrap().as_deref(),
        Some("mam-9")
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn unknown_incident_is_none(pool: MySqlPool) {
    assert_eq!(
        get_incident(&pool, "01JD0000000000000000000000")
            .await
            .unwrap(),
        None
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn bulk_history_reads_back_as_recorded(pool: MySqlPool) {
    // Record through the normal path, read back, reload in bulk elsewhere: same answers.
    let opened = open(EventKind::Jam, T0);
    let cleared = follow(&opened, Status::Cleared, T0 + Duration::seconds(9));
    record_events(&pool, &[opened.clone(), cleared])
        .await
        .unwrap();
    let detail = get_incident(&pool, &opened.incident)
        .await
        .unwrap()
        .unwrap();
    for table in ["incidents", "incident_updates", "incident_vehicles"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    vigie_store::insert_history(&pool, std::slice::from_ref(&detail))
        .await
        .unwrap();
    assert_eq!(
        get_incident(&pool, &opened.incident)
            .await
            .unwrap()
            .unwrap(),
        detail
    );
    assert_eq!(count(&pool, "incident_vehicles").await, 1);
}

#[sqlx::test(migrations = false)]
async fn programs_starting_together_migrate_once(pool: sqlx::MySqlPool) {
    let runs = (0..4).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { vigie_store::migrate(&pool).await })
    });
    for run in runs {
        run.await.unwrap().unwrap();
    }
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, vigie_store::MIGRATOR.iter().count() as i64);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn a_query_killed_on_the_server_is_unavailability_not_a_bug(pool: MySqlPool) {
    let mut busy = pool.acquire().await.unwrap();
    let id: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
        .fetch_one(&mut *busy)
        .await
        .unwrap();
    let long = tokio::spawn(async move {
        sqlx::query(
            "SELECT COUNT(*) FROM information_schema.COLLATIONS a, information_schema.COLLATIONS b, \
             information_schema.COLLATIONS c, information_schema.COLLATIONS d",
        )
            .execute(&mut *busy)
            .await
    });
    // Killed once it runs (the process list shows it), as an operator or a restart would.
    for _ in 0..100 {
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT COUNT(*) FROM information_schema%'",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        if running > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sqlx::query(&format!("KILL QUERY {id}"))
        .execute(&pool)
        .await
        .unwrap();
    let error = long.await.unwrap().unwrap_err();
    assert!(vigie_store::is_unavailable(&error), "{error:?}");

    let mistake = sqlx::query("SELECT * FROM no_such_table")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(!vigie_store::is_unavailable(&mistake), "{mistake:?}");
}
