//! Programs killed with SIGKILL (child processes of the test, see `Stack::kill`) come back and
//! lose nothing: the collector catches up from the room archive, the gateway from its persistent
//! MQTT session and, for the incidents it had open when it lost its checkpoint too, from the
//! rooms' archives.

use std::time::Duration;

use vigie_e2e::{eventually, Program, Stack, Viewer};
use vigie_model::{EventKind, Status};

async fn stored_updates(database_url: &str, event_id: &str) -> anyhow::Result<i64> {
    let pool = sqlx::MySqlPool::connect(database_url).await?;
    let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM incident_updates WHERE event_id = ?")
        .bind(event_id)
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(count.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_catches_up_on_what_it_missed() -> anyhow::Result<()> {
    let mut stack = Stack::start(None).await?;
    let mut viewer = Viewer::join(&stack, "accidents").await?;
    stack.kill(Program::Collector).await;
    stack.simulate(3, 4.0, 1).await?;
    let (event, _) = viewer.next_event(Duration::from_secs(20)).await?;
    assert_eq!(event.kind, EventKind::Accident);
    assert_eq!(
        stored_updates(&stack.database_url, &event.id).await?,
        0,
        "stored with no collector running"
    );

    stack.launch(Program::Collector)?;
    let url = stack.database_url.clone();
    eventually(Duration::from_secs(20), "the missed event in MySQL", || {
        let (url, id) = (url.clone(), event.id.clone());
        async move { Ok((stored_updates(&url, &id).await? > 0).then_some(())) }
    })
    .await?;
    // Killed and started again: the archive is read again, and nothing is stored twice.
    stack.kill(Program::Collector).await;
    stack.launch(Program::Collector)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stored_updates(&stack.database_url, &event.id).await?, 1);
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_detects_what_was_published_while_it_was_down_and_clears_what_it_left_open(
) -> anyhow::Result<()> {
    let mut stack = Stack::start(None).await?;
    let mut viewer = Viewer::join(&stack, "accidents").await?;
    // A first accident proves the gateway's MQTT session and subscription exist.
    stack.simulate(3, 3.0, 1).await?;
    let (first, _) = viewer.next_event(Duration::from_secs(20)).await?;
    assert_eq!(first.vehicles, ["veh-0001"]);

    stack.kill(Program::Gateway).await;
    // Without its checkpoint (a new machine, a lost disk), the next gateway must learn of the
    // open accident from the rooms (a restart from the checkpoint: tests/scenario.rs).
    stack.forget_gateway_checkpoint()?;
    // The fleet drives again: veh-0001, whose accident the killed gateway left open, moves on,
    // and veh-0002 crashes.
    stack.simulate(3, 3.0, 2).await?;
    stack.launch(Program::Gateway)?;
    let (moved_on, _) = viewer.next_event(Duration::from_secs(20)).await?;
    let (second, _) = viewer.next_event(Duration::from_secs(20)).await?;
    // The new gateway took the open accident over from the room's archive: it clears it under
    // the same incident instead of leaving it open for ever.
    assert_eq!(
        (
            moved_on.status,
            moved_on.incident.as_str(),
            moved_on.vehicles.as_slice()
        ),
        (
            Status::Cleared,
            first.incident.as_str(),
            first.vehicles.as_slice()
        )
    );
    assert_eq!(moved_on.detail, "vehicle moved on");
    assert_eq!(
        (second.kind, second.status, second.vehicles.as_slice()),
        (
            EventKind::Accident,
            Status::Open,
            ["veh-0002".to_owned()].as_slice()
        )
    );
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_started_while_prosody_is_down_waits_for_it_and_loses_nothing(
) -> anyhow::Result<()> {
    let mut stack = Stack::start(None).await?;
    let mut viewer = Viewer::join(&stack, "accidents").await?;
    // A first accident proves the gateway's MQTT session and subscription exist.
    stack.simulate(3, 3.0, 1).await?;
    let (first, _) = viewer.next_event(Duration::from_secs(20)).await?;
    drop(viewer);

    stack.kill(Program::Gateway).await;
    tokio::task::block_in_place(|| stack.prosody.kill());
    // Started with no XMPP server to join: it waits, and the telemetry waits in the broker.
    stack.launch(Program::Gateway)?;
    stack.simulate(3, 3.0, 2).await?;
    tokio::task::block_in_place(|| stack.prosody.restart())?;

    let opened = eventually(Duration::from_secs(60), "veh-0002's accident", || async {
        let archived = stack.archived_events().await.unwrap_or_default();
        Ok(archived.into_iter().find(|event| {
            (event.kind, event.status, event.vehicles.as_slice())
                == (
                    EventKind::Accident,
                    Status::Open,
                    ["veh-0002".to_owned()].as_slice(),
                )
        }))
    })
    .await?;
    assert_ne!(opened.incident, first.incident);
    // The gateway was running all along: it did not exit for want of a server at start.
    stack.stop().await
}
