//! A seeded, scripted run through the real servers ends in MySQL exactly as its ground truth
//! says: the simulator (8× real time) drives 11 vehicles for 110 simulated seconds with a crash
//! and a stationary jam and writes its ground truth (`--ground-truth`); Mosquitto, the gateway,
//! the Prosody rooms and the collector carry the events into MySQL; then every event stored is
//! compared with the ground truth by `GroundTruth::differences` (pipeline/src/fleet.rs, the check
//! the offline scenario tests make on the detectors alone):
//!
//! - the crash is one accident of its vehicle alone, major, opened then cleared;
//! - the jam is one jam of its road with the road's three vehicles, major, opened then cleared;
//! - every zone crossing the vehicles made is one `zone_enter` or `zone_exit` event of that
//!   vehicle and zone;
//! - nothing else is stored, and MySQL holds exactly the events the rooms archived.
//!
//! The gateway is killed (SIGKILL) twice during the run and started again: while the jam's speed
//! window fills, and while the jam is open. Going on from its checkpoint, it must still report
//! all of the above once (docs/detection.md, "Across a crash").
//!
//! Times are matched with the lags the detectors' thresholds imply (docs/detection.md): an
//! accident opens at the first crash fix and clears once the vehicle is back above 15 km/h; a jam
//! opens 20 s (`begin_ms`) after the road's mean speed falls under the queuing line, plus up to
//! the 20 s averaging window and 10 s of braking, and clears 30 s (`end_ms`) to 50 s after the
//! vehicles speed up again; a crossing is reported at the third fix in the new zone
//! (`confirm_fixes`), two fix periods after the first. On top of those, `SLACK_MS` allows for the
//! fixes' uneven spacing: the simulator stamps each tick with the wall clock's elapsed time times
//! the speedup, so a tick late by 100 ms on this 2-core machine is 800 ms of telemetry time.

use std::collections::BTreeSet;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};
use vigie_e2e::{eventually, metric, Program, Stack};
use vigie_model::contract::telemetry_topic;
use vigie_model::{Event, EventKind};
use vigie_pipeline::detect::Thresholds;
use vigie_pipeline::fleet::{GroundTruth, Leeway};

const VEHICLES: usize = 11;
const SIMULATED_SECONDS: f64 = 110.0;
const SPEEDUP: f64 = 8.0;
/// Fixes per vehicle per simulated second.
const RATE: f64 = 2.0;
/// Vehicle 1 (avenue-centre) stops dead at 5 s for 20 s.
const CRASH: &str = "1:5:20";
/// ring-north (vehicles 0, 5 and 10) crawls at 5 % of free flow, stationary, from 5 s to 45 s:
/// the jam opens by 55 s and clears by 95 s, within the run.
const JAM: &str = "ring-north:5:40:0.05";
const SLACK_MS: i64 = 1500;
/// When the gateway is killed, in wall-clock seconds since the simulator started (× `SPEEDUP`
/// for simulated ones: 28 s and 64 s), and how long it stays down.
const GATEWAY_KILLS: [f64; 2] = [3.5, 8.0];
const GATEWAY_DOWN: Duration = Duration::from_millis(1500);

/// The gateway's (telemetry received, telemetry acknowledged, outbox depth).
async fn gateway_progress(stack: &Stack) -> anyhow::Result<Option<(u64, u64, u64)>> {
    let Ok(text) = vigie_e2e::get(&format!("http://{}/metrics", stack.gateway_metrics)).await
    else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&text);
    Ok(Some((
        metric(&text, "vigie_telemetry_received_total"),
        metric(&text, "vigie_telemetry_acked_total"),
        metric(&text, "vigie_outbox_depth"),
    )))
}

/// Publishes fixes of a vehicle parked off every road and zone (it reports nothing) until the
/// gateway counts one: its subscription exists, so the run's first fixes reach it. They are
/// stamped 10 minutes ago, before the run's start (dated in the past by its speedup): the
/// gateway expires incidents at the newest telemetry time it has seen, and a probe stamped now
/// would age the run's first 96 s of fixes out of the jam detector's window.
async fn wait_for_the_gateway(stack: &Stack) -> anyhow::Result<()> {
    let port: u16 = stack
        .broker
        .url()
        .rsplit(':')
        .next()
        .unwrap_or("")
        .parse()?;
    let (mqtt, mut eventloop) = AsyncClient::new(MqttOptions::new("probe", "127.0.0.1", port), 16);
    let pump = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let topic = telemetry_topic("veh-probe");
    let mut probe_ts = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - 600_000;
    eventually(Duration::from_secs(30), "the gateway subscribed", || {
        let (mqtt, topic) = (mqtt.clone(), topic.clone());
        async move {
            probe_ts += 1;
            let ts = probe_ts;
            let fix =
                format!(r#"{{"ts":{ts},"lat":45.7405,"lon":4.84,"speed_kmh":0,"heading":0}}"#);
            mqtt.publish(topic, QoS::AtLeastOnce, false, fix).await?;
            let received = gateway_progress(stack).await?.map_or(0, |(r, _, _)| r);
            Ok((received >= 1).then_some(()))
        }
    })
    .await?;
    mqtt.disconnect().await.ok();
    pump.abort();
    Ok(())
}

/// Every event stored in MySQL, as the gateway posted it.
async fn stored_events(stack: &Stack) -> anyhow::Result<Vec<Event>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        f64,
        f64,
        time::OffsetDateTime,
        String,
    );
    let pool = sqlx::MySqlPool::connect(&stack.database_url).await?;
    let rows: Result<Vec<Row>, _> = sqlx::query_as(
        "SELECT u.event_id, u.incident_id, i.kind, u.status, u.severity, u.zone, u.road, \
         u.vehicles, u.lat, u.lon, u.occurred_at, u.detail \
         FROM incident_updates u JOIN incidents i ON i.id = u.incident_id",
    )
    .fetch_all(&pool)
    .await;
    pool.close().await;
    rows?
        .into_iter()
        .map(|row| {
            Ok(Event {
                id: row.0,
                incident: row.1,
                kind: serde_json::from_str(&quoted(&row.2))?,
                status: serde_json::from_str(&quoted(&row.3))?,
                severity: serde_json::from_str(&quoted(&row.4))?,
                zone: row.5,
                road: row.6,
                vehicles: row.7.split_whitespace().map(str::to_owned).collect(),
                lat: row.8,
                lon: row.9,
                occurred_at: row.10,
                detail: row.11,
            })
        })
        .collect()
}

/// A kind, status or severity as stored, its wire name, as a JSON string.
fn quoted(name: &str) -> String {
    serde_json::Value::String(name.to_owned()).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_run_stores_exactly_its_ground_truth() -> anyhow::Result<()> {
    let mut stack = Stack::start(None).await?;
    wait_for_the_gateway(&stack).await?;

    let truth_file = std::env::temp_dir().join(format!("vigie-truth-{}.json", std::process::id()));
    let mut simulator = stack.simulator(VEHICLES, SIMULATED_SECONDS);
    simulator.rate = RATE;
    simulator.speedup = SPEEDUP;
    simulator.crashes = vec![CRASH.parse().map_err(anyhow::Error::msg)?];
    simulator.jams = vec![JAM.parse().map_err(anyhow::Error::msg)?];
    simulator.ground_truth = Some(truth_file.clone());
    let started = tokio::time::Instant::now();
    let run = tokio::spawn(vigie_pipeline::simulator::run(
        simulator,
        std::future::pending(),
    ));
    for kill in GATEWAY_KILLS {
        tokio::time::sleep_until(started + Duration::from_secs_f64(kill)).await;
        stack.kill(Program::Gateway).await;
        tokio::time::sleep(GATEWAY_DOWN).await;
        stack.launch(Program::Gateway)?;
    }
    run.await??;
    let truth: GroundTruth = serde_json::from_slice(&std::fs::read(&truth_file)?)?;
    std::fs::remove_file(&truth_file).ok();
    assert!(
        truth.zone_crossings.len() >= 4,
        "the run crosses zones: {truth:#?}"
    );

    // Settled: the gateway has handled every fix the broker holds (its count stands still and
    // nothing waits for a room), and MySQL holds what the rooms archived. (Acknowledged counts
    // the rejected too: a probe fix the broker delivered twice is one received, two acked.)
    let last_received = std::cell::Cell::new(None);
    let last_seen = std::cell::RefCell::new(String::new());
    let shared = &stack;
    let settled = eventually(Duration::from_secs(30), "the pipeline to settle", || {
        let (last_received, last_seen) = (&last_received, &last_seen);
        async move {
            // The gateway's count must stand still between two looks a second apart.
            tokio::time::sleep(Duration::from_millis(800)).await;
            let Some((received, acked, outbox)) = gateway_progress(shared).await? else {
                return Ok(None);
            };
            *last_seen.borrow_mut() = format!(
                "gateway: {received} fixes received, {acked} acknowledged, {outbox} in the outbox"
            );
            let still = last_received.replace(Some(received)) == Some(received);
            if !still || outbox != 0 {
                return Ok(None);
            }
            let stored = stored_events(shared).await?;
            let stored_ids: BTreeSet<&str> = stored.iter().map(|e| e.id.as_str()).collect();
            let archived = shared.archived_events().await?;
            let archived_ids: BTreeSet<&str> = archived.iter().map(|e| e.id.as_str()).collect();
            let settled = stored_ids.len() == stored.len() && stored_ids == archived_ids;
            *last_seen.borrow_mut() += &format!(
                "; stored but not archived: {:?}; archived but not stored: {:?}",
                stored_ids.difference(&archived_ids).collect::<Vec<_>>(),
                archived
                    .iter()
                    .filter(|e| !stored_ids.contains(e.id.as_str()))
                    .collect::<Vec<_>>()
            );
            Ok(settled.then_some(stored))
        }
    })
    .await;
    let stored = match settled {
        Ok(stored) => stored,
        Err(error) => anyhow::bail!("{error}: {}", last_seen.borrow()),
    };

    let thresholds = Thresholds::default();
    let leeway = Leeway {
        fix_period_ms: (1000.0 / RATE) as i64,
        slack_ms: SLACK_MS,
    };
    let differences = truth.differences(&stored, &thresholds, leeway);
    assert!(
        differences.is_empty(),
        "MySQL differs from the ground truth:\n{}\n\nground truth: {truth:#?}",
        differences.join("\n")
    );
    let count = |kind: EventKind| stored.iter().filter(|e| e.kind == kind).count();
    assert_eq!(
        (count(EventKind::Accident), count(EventKind::Jam)),
        (2, 2),
        "one accident and one jam, each opened and cleared"
    );

    // The comparison is strict: without any one of the stored events (but a crossing so close
    // to the end that its confirmation may not have come), or with one more, it fails.
    let tail_ms = truth.end_ms - 2 * leeway.fix_period_ms - SLACK_MS;
    for (index, event) in stored.iter().enumerate() {
        let at = (event.occurred_at.unix_timestamp_nanos() / 1_000_000) as i64 - truth.start_ms;
        if event.kind.has_lifecycle() || at < tail_ms {
            let mut fewer = stored.clone();
            fewer.remove(index);
            assert!(
                !truth.differences(&fewer, &thresholds, leeway).is_empty(),
                "dropping {event:?} went unnoticed"
            );
        }
        let mut more = stored.clone();
        let mut extra = event.clone();
        extra.id = format!("{}-again", event.id);
        if extra.kind.has_lifecycle() {
            extra.incident = extra.id.clone();
        }
        more.push(extra);
        assert!(
            !truth.differences(&more, &thresholds, leeway).is_empty(),
            "a second {event:?} went unnoticed"
        );
    }
    eprintln!(
        "{} events stored, equal to the ground truth ({} zone crossings)",
        stored.len(),
        truth.zone_crossings.len()
    );
    stack.stop().await
}
