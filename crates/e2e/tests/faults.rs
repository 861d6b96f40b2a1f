//! Crashes during a run lose nothing and store nothing twice: while the simulator drives the
//! fleet, the gateway and the collector are killed (task abort, no goodbye) and started again,
//! and Prosody and Mosquitto are killed with SIGKILL and restarted on the same ports and data.
//! Afterwards the incidents in MySQL are exactly the events the gateway posted in the rooms.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use vigie_e2e::{eventually, Program, Stack};
use vigie_pipeline::simulator::CrashSpec;

/// What happens when, in seconds since the simulator started.
const GATEWAY_KILLED: u64 = 14;
const GATEWAY_BACK: u64 = 17;
const COLLECTOR_KILLED: u64 = 22;
const COLLECTOR_BACK: u64 = 27;
const PROSODY_KILLED: u64 = 30;
const MOSQUITTO_KILLED: u64 = 42;
const RUN_SECONDS: f64 = 58.0;
/// One crash before each fault, none overlapping a gateway restart (a fresh detector would
/// legitimately report a crash in progress again).
const CRASHES: [&str; 4] = ["1:3:6", "2:20:6", "3:33:6", "4:46:5"];

async fn at(started: tokio::time::Instant, second: u64) {
    tokio::time::sleep_until(started + Duration::from_secs(second)).await;
}

async fn accident_incidents(stack: &Stack) -> anyhow::Result<BTreeMap<String, String>> {
    let pool = sqlx::MySqlPool::connect(&stack.database_url).await?;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, status FROM incidents WHERE kind = 'accident'")
            .fetch_all(&pool)
            .await?;
    pool.close().await;
    Ok(rows.into_iter().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_and_restarts_lose_and_duplicate_nothing() -> anyhow::Result<()> {
    let mut stack = Stack::start(None).await?;
    let mut simulator = stack.simulator(20, RUN_SECONDS);
    simulator.rate = 2.0;
    simulator.crashes = CRASHES
        .iter()
        .map(|c| c.parse::<CrashSpec>().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let started = tokio::time::Instant::now();
    let run = tokio::spawn(vigie_pipeline::simulator::run(
        simulator,
        std::future::pending(),
    ));

    at(started, GATEWAY_KILLED).await;
    stack.kill(Program::Gateway).await;
    at(started, GATEWAY_BACK).await;
    stack.launch(Program::Gateway);
    at(started, COLLECTOR_KILLED).await;
    stack.kill(Program::Collector).await;
    at(started, COLLECTOR_BACK).await;
    stack.launch(Program::Collector);
    at(started, PROSODY_KILLED).await;
    tokio::task::block_in_place(|| stack.prosody.kill_and_restart())?;
    at(started, MOSQUITTO_KILLED).await;
    tokio::task::block_in_place(|| stack.broker.kill_and_restart())?;
    run.await??;

    // Settled: everything the rooms confirmed is stored, and what is stored is the archive.
    let shared = &stack;
    let (emitted, stored, archived) = eventually(
        Duration::from_secs(60),
        "the pipeline to settle",
        || async move {
            let emitted: BTreeSet<String> = shared.emitted_event_ids()?.into_iter().collect();
            let stored = shared.stored_event_ids().await?;
            let archived: BTreeSet<String> = shared
                .archived_events()
                .await?
                .into_iter()
                .map(|event| event.id)
                .collect();
            let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
            let settled = !emitted.is_empty()
                && emitted.is_subset(&stored_set)
                && stored_set == archived
                && accident_incidents(shared)
                    .await?
                    .values()
                    .filter(|status| *status == "cleared")
                    .count()
                    == CRASHES.len();
            Ok(settled.then_some((emitted, stored, archived)))
        },
    )
    .await?;

    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "an event stored twice");
    assert!(emitted.len() >= 2 * CRASHES.len(), "{emitted:?}");
    let lost: Vec<&String> = emitted.iter().filter(|id| !unique.contains(id)).collect();
    assert_eq!(
        lost,
        Vec::<&String>::new(),
        "confirmed events missing in MySQL"
    );
    // A stored event the log lacks was reflected just as its gateway was killed: it is in the
    // room (checked above), so it was emitted all the same. At most one fix's events (a zone
    // exit and enter come together) can be caught so.
    let unconfirmed = stored.len() - emitted.len();
    assert!(
        unconfirmed <= 2,
        "{unconfirmed} stored events no gateway saw confirmed"
    );
    assert_eq!(archived.len(), stored.len());
    // Each injected crash is one accident, opened and cleared once: no restart repeated one.
    let accidents = accident_incidents(&stack).await?;
    assert_eq!(accidents.len(), CRASHES.len(), "{accidents:?}");
    eprintln!(
        "{} events stored, {} confirmed to the gateway, {} archived",
        stored.len(),
        emitted.len(),
        archived.len()
    );
    stack.stop().await
}
