//! The collector on real servers (a private Prosody and MariaDB): its catch-up through a room's
//! archive (XEP-0313) pages to the end, stores every event once, saves the archive id of the
//! last one, and next time starts from there. Started before MySQL, it waits for it.

mod support;

use std::future::Future;
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::MySqlPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vigie_model::contract::room_jid;
use vigie_model::{Event, EventKind, Severity, Status};
use vigie_pipeline::collector::{self, CollectorArgs, PAGE};
use vigie_pipeline::detect::{identified, time_of};
use vigie_pipeline::gateway;
use vigie_pipeline::session::{join_rooms, XmppArgs};
use vigie_stack::{Mysql, Prosody};
use vigie_xmpp::{Event as XmppEvent, History};

const START_MS: i64 = 1_700_000_000_000;

fn accidents(from: usize, count: usize) -> Vec<Event> {
    (from..from + count)
        .map(|i| {
            let at_ms = START_MS + i as i64;
            identified(Event {
                id: String::new(),
                incident: String::new(),
                kind: EventKind::Accident,
                status: Status::Open,
                severity: Severity::Minor,
                zone: None,
                road: None,
                vehicles: vec![format!("v{i}")],
                lat: 45.76,
                lon: 4.835,
                occurred_at: time_of(at_ms),
                detail: String::new(),
            })
        })
        .collect()
}

/// Posts the events in `room` as the gateway; returns the archive id of the last one.
async fn post(gateway: &XmppArgs, room: &str, events: &[Event]) -> anyhow::Result<String> {
    let rooms = [room.to_owned()];
    let (handle, mut incoming, _) =
        join_rooms(gateway, &rooms, gateway::NICK, History::None).await?;
    for event in events {
        handle
            .send_groupchat_with_id(room, &event.id, &event.body(), Some(event.to_element()))
            .await?;
    }
    let mut last_archive_id = None;
    let mut reflected = 0;
    while reflected < events.len() {
        match incoming.recv().await.context("session ended")? {
            XmppEvent::GroupchatMessage(message) => {
                reflected += 1;
                last_archive_id = message.stanza_id;
            }
            XmppEvent::Disconnected { error } => bail!("disconnected: {error:?}"),
            _ => {}
        }
    }
    handle.close().await;
    last_archive_id.context("reflections carry their archive id")
}

async fn stored(pool: &MySqlPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM incident_updates")
        .fetch_one(pool)
        .await?)
}

/// Waits (up to 60 s) until `check` gives a value.
async fn eventually<T, F: Future<Output = anyhow::Result<Option<T>>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the collector until all `expected` events are stored and the cursor of `room` is at
/// `last_archive_id`, then stops it.
async fn collect(
    args: &CollectorArgs,
    pool: &MySqlPool,
    room: &str,
    expected: i64,
    last_archive_id: &str,
) -> anyhow::Result<()> {
    let (stop, stopped) = oneshot::channel::<()>();
    let run: JoinHandle<anyhow::Result<()>> = tokio::spawn(collector::run(args.clone(), async {
        let _ = stopped.await;
    }));
    let result = eventually("every event stored and the cursor at the last", || async {
        if run.is_finished() {
            bail!("the collector stopped");
        }
        let cursor = vigie_store::load_archive_cursor(pool, room).await?;
        let count = stored(pool).await?;
        anyhow::ensure!(
            count <= expected,
            "{count} events stored, {expected} posted"
        );
        Ok((count == expected && cursor.as_deref() == Some(last_archive_id)).then_some(()))
    })
    .await;
    let _ = stop.send(());
    run.await??;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_pages_to_the_end_then_resumes_from_the_last_stored() -> anyhow::Result<()> {
    let prosody = tokio::task::spawn_blocking(Prosody::start_for_test).await??;
    let database_url =
        tokio::task::spawn_blocking(|| Mysql::shared().fresh_database("collector")).await??;
    let (gateway, collector) = support::pipeline_accounts(&prosody)?;
    let args = CollectorArgs {
        database_url: database_url.clone(),
        xmpp: collector,
        nick: "collector".into(),
        gateway_nick: gateway::NICK.into(),
    };
    let pool = MySqlPool::connect(&database_url).await?;
    // The schema first: the checks below read the tables before the collector has started.
    vigie_store::migrate(&pool).await?;
    let room = room_jid("accidents");

    // More than two full pages, the last one partial.
    let missed = 2 * PAGE as usize + 7;
    let last = post(&gateway, &room, &accidents(0, missed)).await?;
    collect(&args, &pool, &room, missed as i64, &last).await?;

    // Posted while the collector was away: caught up from where it stopped.
    let last = post(&gateway, &room, &accidents(missed, 5)).await?;
    collect(&args, &pool, &room, missed as i64 + 5, &last).await?;
    pool.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_before_mysql_the_collector_waits_for_it_then_catches_up() -> anyhow::Result<()> {
    let prosody = tokio::task::spawn_blocking(Prosody::start_for_test).await??;
    let database_url =
        tokio::task::spawn_blocking(|| Mysql::shared().fresh_database("collector")).await??;
    let (gateway, collector) = support::pipeline_accounts(&prosody)?;
    let room = room_jid("accidents");
    let last = post(&gateway, &room, &accidents(0, 3)).await?;

    // The collector's MySQL is a port nothing listens on yet: it must wait, not exit.
    let (credentials, rest) = database_url.split_once('@').context("no @ in the URL")?;
    let (target, database) = rest.split_once('/').context("no database in the URL")?;
    let port = vigie_stack::free_port();
    let args = CollectorArgs {
        database_url: format!("{credentials}@127.0.0.1:{port}/{database}"),
        xmpp: collector,
        nick: "collector".into(),
        gateway_nick: gateway::NICK.into(),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(collector::run(args, async {
        let _ = stopped.await;
    }));
    // Longer than the pool's 5 s connection timeout: the first attempt has failed by then.
    tokio::time::sleep(Duration::from_secs(7)).await;
    anyhow::ensure!(
        !run.is_finished(),
        "the collector gave up on a MySQL not there yet"
    );

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tokio::spawn(vigie_stack::forward(listener, target.to_owned()));
    let pool = MySqlPool::connect(&database_url).await?;
    let caught_up = eventually("the archive stored once MySQL is there", || async {
        if run.is_finished() {
            bail!("the collector stopped");
        }
        // An error while the collector has not made the schema yet.
        let stored = vigie_store::load_archive_cursor(&pool, &room)
            .await
            .unwrap_or_default();
        Ok((stored.as_deref() == Some(last.as_str())).then_some(()))
    })
    .await;
    let _ = stop.send(());
    run.await??;
    caught_up?;
    assert_eq!(stored(&pool).await?, 3);
    pool.close().await;
    Ok(())
}
