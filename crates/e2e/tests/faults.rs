//! Crashes during a run lose nothing and store nothing twice. While the simulator drives 20
//! vehicles with four injected crashes, the gateway and then the collector are killed with SIGKILL
//! (they are child processes of the test: no goodbye, queued messages and connections die with
//! them) and started again, then Prosody and then Mosquitto are killed with SIGKILL and restarted
//! on the same ports and data. Once the pipeline settles, the test compares:
//!
//! - lost: every event id in the gateways' emitted log (the events the rooms confirmed to any
//!   gateway launched) is in MySQL's `incident_updates`;
//! - stored = archived: the event ids in `incident_updates` are exactly those the gateway posted in
//!   the rooms, read back from their MAM archives; at most 2 of them are missing from the emitted
//!   log (reflected by the room just as their gateway was killed, before it logged them);
//! - duplicated: each injected crash is exactly one accident incident, involving that vehicle
//!   alone, whose history in `incident_updates` is one `open` then one `cleared` event, and there
//!   is no other accident: a restart that detected or posted a crash again, under a new event or
//!   incident id, would show here (event ids themselves are primary keys: MySQL cannot hold one
//!   twice).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use vigie_e2e::{eventually, Program, Stack};
use vigie_pipeline::fleet::vehicle_id;
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

/// The stored accidents: for each, its vehicles (space-separated, as stored), its status, and
/// the statuses of its history, oldest first.
struct Accident {
    vehicles: String,
    status: String,
    history: Vec<String>,
}

async fn accidents(stack: &Stack) -> anyhow::Result<Vec<Accident>> {
    let pool = sqlx::MySqlPool::connect(&stack.database_url).await?;
    let incidents: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, vehicles, status FROM incidents WHERE kind = 'accident'")
            .fetch_all(&pool)
            .await?;
    let updates: Vec<(String, String)> = sqlx::query_as(
        "SELECT incident_id, status FROM incident_updates ORDER BY occurred_at, event_id",
    )
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    let mut histories: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (incident, status) in updates {
        histories.entry(incident).or_default().push(status);
    }
    Ok(incidents
        .into_iter()
        .map(|(id, vehicles, status)| Accident {
            vehicles,
            status,
            history: histories.remove(&id).unwrap_or_default(),
        })
        .collect())
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
    let crashed: Vec<String> = simulator
        .crashes
        .iter()
        .map(|crash| vehicle_id(crash.0.vehicle))
        .collect();
    let started = tokio::time::Instant::now();
    let run = tokio::spawn(vigie_pipeline::simulator::run(
        simulator,
        std::future::pending(),
    ));

    at(started, GATEWAY_KILLED).await;
    stack.kill(Program::Gateway).await;
    at(started, GATEWAY_BACK).await;
    stack.launch(Program::Gateway)?;
    at(started, COLLECTOR_KILLED).await;
    stack.kill(Program::Collector).await;
    at(started, COLLECTOR_BACK).await;
    stack.launch(Program::Collector)?;
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
                && accidents(shared)
                    .await?
                    .iter()
                    .filter(|accident| accident.status == "cleared")
                    .count()
                    >= CRASHES.len();
            Ok(settled.then_some((emitted, stored, archived)))
        },
    )
    .await?;

    let stored: BTreeSet<String> = stored.into_iter().collect();
    assert!(emitted.len() >= 2 * CRASHES.len(), "{emitted:?}");
    let lost: Vec<&String> = emitted.difference(&stored).collect();
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
    assert_eq!(archived, stored);
    // Each injected crash is one accident, opened and cleared once: no restart repeated one.
    let mut by_vehicles: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for accident in accidents(&stack).await? {
        by_vehicles
            .entry(accident.vehicles)
            .or_default()
            .push(accident.history);
    }
    let once: BTreeMap<String, Vec<Vec<String>>> = crashed
        .iter()
        .map(|vehicle| (vehicle.clone(), vec![vec!["open".into(), "cleared".into()]]))
        .collect();
    assert_eq!(
        by_vehicles, once,
        "accidents by vehicle, with their histories"
    );
    eprintln!(
        "{} events stored, {} confirmed to the gateway, {} archived",
        stored.len(),
        emitted.len(),
        archived.len()
    );
    stack.stop().await
}
