//! Pipeline benchmarks on real servers: a private Mosquitto, Prosody and MariaDB from
//! `vigie-stack` (MariaDB from `VIGIE_MYSQL_ADMIN_URL` when set), all on this machine.
//!
//! - `ingest`: how fast the gateway drains a backlog of telemetry from its persistent session,
//!   against a bare MQTT subscriber draining the same messages from the same broker. Each round
//!   publishes one backlog to both consumers' sessions while they are offline (the publisher's
//!   CPU is not in the measurement), then drains them one after the other, in alternating order;
//!   medians over the rounds are reported, with the CPU each process used during each drain.
//! - `catchup`: events posted in the rooms while the collector is down; the collector starts
//!   and catches up through the rooms' archives (XEP-0313) into MySQL.
//! - `latency`: a crash fix published → its accident event in the room, seen by a viewer.
//! - `detect`: no servers; the jam detector alone (map matching and the per-road state
//!   machines) over a fleet's fixes, in the built-in city or a generated street grid.
//! - `checkpoint`: no servers; the gateway's checkpoint once every detector has seen a fleet's
//!   fixes: its size, the time to serialize it (on the gateway's loop) and to write it (on a
//!   blocking thread, synced).
//!
//! `cargo run --profile release-native -p vigie-pipeline --example pipeline_bench -- ingest`
//! (`bench/pipeline/run.sh` runs all three with the documented settings).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Parser;
use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use rumqttc::{AsyncClient, Event as MqttEvent, Packet, QoS};
use tokio::sync::oneshot;
use vigie_model::city::{Bounds, Road, Zone};
use vigie_model::contract::{
    room_for, room_jid, telemetry_topic, ANON_DOMAIN, EVENT_ROOMS, TELEMETRY_FILTER,
};
use vigie_model::{City, Event, EventKind, Severity, Status, Telemetry};
use vigie_pipeline::checkpoint::Checkpoint;
use vigie_pipeline::collector::CollectorArgs;
use vigie_pipeline::detect::jam::{self, JamDetector};
use vigie_pipeline::detect::{time_of, Detector, Thresholds};
use vigie_pipeline::fleet::{Fleet, Scenario};
use vigie_pipeline::gateway::{self, GatewayArgs};
use vigie_pipeline::session::{join_rooms, XmppArgs};
use vigie_stack::{Mosquitto, Mysql, Prosody, StateDir};
use vigie_xmpp::driver_tokio::connect;
use vigie_xmpp::{ClientConfig, Event as XmppEvent, History};

#[derive(Parser)]
#[command(about = "Vigie pipeline benchmarks on private servers")]
enum Bench {
    /// Gateway drain rate ÷ a bare subscriber's, same broker, same messages.
    Ingest {
        #[arg(long, default_value_t = 10_000)]
        vehicles: usize,
        /// Seconds of telemetry (one fix per vehicle per second) in the backlog.
        #[arg(long, default_value_t = 30)]
        seconds: i64,
        /// Zones of the generated city (a square grid over the built-in city).
        #[arg(long, default_value_t = 100)]
        zones: usize,
        /// Rounds of (bare subscriber, gateway) drains; the medians are reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// The gateway keeps no checkpoint (by default it does, as in the stack), to measure
        /// what checkpoints cost.
        #[arg(long)]
        without_checkpoints: bool,
    },
    /// Collector catch-up rate through the room archives into MySQL.
    Catchup {
        #[arg(long, default_value_t = 20_000)]
        events: usize,
    },
    /// Telemetry published → event in the room.
    Latency {
        #[arg(long, default_value_t = 1000)]
        samples: usize,
        /// Crash fixes published per second.
        #[arg(long, default_value_t = 50.0)]
        per_second: f64,
    },
    /// `JamDetector::observe` alone over a fleet's fixes, single-threaded, no servers.
    Detect {
        #[arg(long, default_value_t = 10_000)]
        vehicles: usize,
        /// Seconds of telemetry (one fix per vehicle per second).
        #[arg(long, default_value_t = 60)]
        seconds: i64,
        /// Roads each way of a generated street grid over the built-in city's bounds; 0 keeps
        /// the built-in roads.
        #[arg(long, default_value_t = 0)]
        streets: usize,
        /// Passes over the fixes, each with a new detector; the median is reported.
        #[arg(long, default_value_t = 5)]
        passes: usize,
    },
    /// The gateway's checkpoint with the detectors' windows full: size, serialize, write.
    Checkpoint {
        #[arg(long, default_value_t = 100_000)]
        vehicles: usize,
        /// Seconds of telemetry the detectors see first (their speed windows are 20 s).
        #[arg(long, default_value_t = 30)]
        seconds: i64,
        #[arg(long, default_value_t = 100)]
        zones: usize,
        /// Serializations and writes; the medians are reported.
        #[arg(long, default_value_t = 5)]
        passes: usize,
    },
}

/// The servers and the pipeline's accounts.
struct Servers {
    prosody: Prosody,
    broker: Mosquitto,
    gateway: XmppArgs,
    collector: XmppArgs,
}

fn servers() -> anyhow::Result<Servers> {
    let prosody = Prosody::start_for_test()?;
    let broker = Mosquitto::start_for_test()?;
    let (gateway, collector) = support::pipeline_accounts(&prosody)?;
    Ok(Servers {
        prosody,
        broker,
        gateway,
        collector,
    })
}

fn main() -> anyhow::Result<()> {
    let bench = Bench::parse();
    vigie_pipeline::init_logging();
    if let Bench::Detect {
        vehicles,
        seconds,
        streets,
        passes,
    } = bench
    {
        detect(vehicles, seconds, streets, passes);
        return Ok(());
    }
    if let Bench::Checkpoint {
        vehicles,
        seconds,
        zones,
        passes,
    } = bench
    {
        return checkpoint(vehicles, seconds, zones, passes);
    }
    let servers = servers()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match bench {
            Bench::Ingest {
                vehicles,
                seconds,
                zones,
                rounds,
                without_checkpoints,
            } => {
                let checkpoints = !without_checkpoints;
                ingest(&servers, vehicles, seconds, zones, rounds, checkpoints).await
            }
            Bench::Catchup { events } => catchup(&servers, events).await,
            Bench::Latency {
                samples,
                per_second,
            } => latency(&servers, samples, per_second).await,
            Bench::Detect { .. } | Bench::Checkpoint { .. } => {
                unreachable!("run above, without servers")
            }
        }
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The built-in city's roads with `zones` square zones tiling its bounds.
fn gridded_city(zones: usize) -> City {
    let mut city = City::builtin();
    let side = (zones as f64).sqrt().ceil() as usize;
    let Bounds {
        min_lat,
        min_lon,
        max_lat,
        max_lon,
    } = city.bounds;
    let (cell_lat, cell_lon) = (
        (max_lat - min_lat) / side as f64,
        (max_lon - min_lon) / side as f64,
    );
    city.zones = (0..zones)
        .map(|i| {
            let (row, column) = ((i / side) as f64, (i % side) as f64);
            let (lat, lon) = (min_lat + row * cell_lat, min_lon + column * cell_lon);
            Zone {
                id: format!("zone-{i}"),
                name: format!("Zone {i}"),
                polygon: vec![
                    [lon, lat],
                    [lon + cell_lon, lat],
                    [lon + cell_lon, lat + cell_lat],
                    [lon, lat + cell_lat],
                ],
            }
        })
        .collect();
    city
}

/// The built-in city's zones with a street grid instead of its roads: `streets` roads north to
/// south and as many west to east, evenly spread over its bounds, each a polyline through every
/// crossing (so `2 × streets × streets` segments in all).
fn street_grid_city(streets: usize) -> City {
    let mut city = City::builtin();
    let Bounds {
        min_lat,
        min_lon,
        max_lat,
        max_lon,
    } = city.bounds;
    let at = |min: f64, max: f64, i: usize| min + (max - min) * (i as f64 + 0.5) / streets as f64;
    let road = |id: String, points: Vec<[f64; 2]>| Road {
        name: id.clone(),
        id,
        free_flow_kmh: 50.0,
        points,
    };
    city.roads = (0..streets)
        .map(|i| {
            let lon = at(min_lon, max_lon, i);
            let points = (0..streets).map(|j| [lon, at(min_lat, max_lat, j)]);
            road(format!("street-{i}"), points.collect())
        })
        .chain((0..streets).map(|j| {
            let lat = at(min_lat, max_lat, j);
            let points = (0..streets).map(|i| [at(min_lon, max_lon, i), lat]);
            road(format!("avenue-{j}"), points.collect())
        }))
        .collect();
    city
}

fn mqtt_client(
    broker: &Mosquitto,
    client_id: &str,
    clean: bool,
) -> anyhow::Result<(AsyncClient, rumqttc::EventLoop)> {
    let mut options = vigie_pipeline::mqtt::options(&broker.url(), client_id)?;
    options.set_clean_session(clean).set_inflight(1000);
    Ok(AsyncClient::new(options, 4096))
}

/// Creates `client_id`'s persistent session with its telemetry subscription, then leaves.
async fn subscribe_persistently(broker: &Mosquitto, client_id: &str) -> anyhow::Result<()> {
    let (client, mut eventloop) = mqtt_client(broker, client_id, false)?;
    client.subscribe(TELEMETRY_FILTER, QoS::AtLeastOnce).await?;
    loop {
        if let MqttEvent::Incoming(Packet::SubAck(_)) = eventloop.poll().await? {
            break;
        }
    }
    client.disconnect().await?;
    while eventloop.poll().await.is_ok() {}
    Ok(())
}

/// Publishes every message at QoS 1 and waits until the broker acknowledged them all.
async fn publish_all(broker: &Mosquitto, messages: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let (client, mut eventloop) = mqtt_client(broker, "bench-publisher", true)?;
    let total = messages.len();
    let pump = tokio::spawn(async move {
        let mut acked = 0;
        while acked < total {
            if let MqttEvent::Incoming(Packet::PubAck(_)) = eventloop.poll().await? {
                acked += 1;
            }
        }
        anyhow::Ok(())
    });
    for (topic, payload) in messages {
        client
            .publish(topic, QoS::AtLeastOnce, false, payload.clone())
            .await?;
    }
    pump.await??;
    Ok(())
}

/// Ends `client_id`'s persistent session, so that later backlogs are not queued for it.
async fn forget_session(broker: &Mosquitto, client_id: &str) -> anyhow::Result<()> {
    let (client, mut eventloop) = mqtt_client(broker, client_id, true)?;
    while !matches!(
        eventloop.poll().await?,
        MqttEvent::Incoming(Packet::ConnAck(_))
    ) {}
    client.disconnect().await?;
    while eventloop.poll().await.is_ok() {}
    Ok(())
}

/// Rate (messages/s) between the first and the last of `total` messages a bare subscriber
/// drains from its persistent session (acknowledging each as it is read, as rumqttc does by
/// default: the fastest a consumer can go).
async fn bare_drain(broker: &Mosquitto, client_id: &str, total: usize) -> anyhow::Result<f64> {
    let (_client, mut eventloop) = mqtt_client(broker, client_id, false)?;
    let mut received = 0;
    let mut first = None;
    while received < total {
        if let MqttEvent::Incoming(Packet::Publish(_)) = eventloop.poll().await? {
            first.get_or_insert_with(Instant::now);
            received += 1;
        }
    }
    let seconds = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    Ok((total - 1) as f64 / seconds)
}

/// A counter of the gateway's, and when it first moved.
#[derive(Default)]
struct Tally {
    count: AtomicU64,
    first: OnceLock<Instant>,
}

impl CounterFn for Tally {
    fn increment(&self, value: u64) {
        self.first.get_or_init(Instant::now);
        self.count.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.first.get_or_init(Instant::now);
        self.count.fetch_max(value, Ordering::Relaxed);
    }
}

impl Tally {
    fn get(&self) -> usize {
        self.count.load(Ordering::Relaxed) as usize
    }
}

/// One gateway run's counters.
#[derive(Default, Clone)]
struct GatewayTallies {
    /// Messages received or rejected.
    handled: Arc<Tally>,
    acked: Arc<Tally>,
    events: Arc<Tally>,
}

/// The metrics recorder of the ingest benchmark: the gateway's counters read with an atomic
/// load, where rendering Prometheus text every few milliseconds would take CPU from it.
#[derive(Default)]
struct TallyRecorder {
    current: Mutex<GatewayTallies>,
}

impl TallyRecorder {
    /// Fresh counters for the next run.
    fn reset(&self) -> GatewayTallies {
        let fresh = GatewayTallies::default();
        *self.current.lock().unwrap() = fresh.clone();
        fresh
    }
}

impl metrics::Recorder for TallyRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let current = self.current.lock().unwrap();
        match key.name() {
            "vigie_telemetry_received_total" | "vigie_rejected_total" => {
                Counter::from_arc(current.handled.clone())
            }
            "vigie_telemetry_acked_total" => Counter::from_arc(current.acked.clone()),
            "vigie_events_total" => Counter::from_arc(current.events.clone()),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// One gateway drain, timed from its first message handled: its rate until the last message is
/// handled (decoded, detected, its events posted) and until the last one is acknowledged (every
/// event confirmed by its room), and the events it emitted.
struct GatewayDrain {
    handled_rate: f64,
    acked_rate: f64,
    events: usize,
    /// Most messages handled and not yet acknowledged at once (sampled every millisecond).
    most_held: usize,
}

async fn gateway_drain(
    servers: &Servers,
    recorder: &TallyRecorder,
    (city_file, state): (&Path, Option<PathBuf>),
    client_id: &str,
    total: usize,
) -> anyhow::Result<GatewayDrain> {
    let tallies = recorder.reset();
    let args = GatewayArgs {
        mqtt_url: servers.broker.url(),
        mqtt_client_id: client_id.into(),
        xmpp: servers.gateway.clone(),
        nick: gateway::NICK.into(),
        city: Some(city_file.to_owned()),
        emitted_log: None,
        state,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(gateway::run(args, async {
        let _ = stopped.await;
    }));
    let (mut all_handled, mut most_held) = (None, 0);
    while tallies.acked.get() < total {
        most_held = most_held.max(tallies.handled.get().saturating_sub(tallies.acked.get()));
        if tallies.handled.get() >= total {
            all_handled.get_or_insert_with(Instant::now);
        }
        if run.is_finished() {
            run.await??;
            bail!("the gateway stopped");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let all_acked = Instant::now();
    let started = *tallies.handled.first.get().context("nothing handled")?;
    let rate = |until: Instant| (total - 1) as f64 / (until - started).as_secs_f64();
    let _ = stop.send(());
    run.await??;
    Ok(GatewayDrain {
        handled_rate: rate(all_handled.unwrap_or(all_acked)),
        acked_rate: rate(all_acked),
        events: tallies.events.get(),
        most_held,
    })
}

/// CPU seconds used so far by this process (the consumer being measured) and by the servers it
/// started (the broker, Prosody, MariaDB), by program name, from /proc: where a drain's time
/// went, whatever else loads the machine.
fn cpu_seconds() -> BTreeMap<String, f64> {
    // (pid, parent, name, CPU seconds) of every process; USER_HZ is 100 on Linux.
    let processes: Vec<(u32, u32, String, f64)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (head, tail) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1.to_owned();
            let fields: Vec<&str> = tail.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
            Some((
                pid,
                fields.get(1)?.parse().ok()?,
                name,
                (ticks(11)? + ticks(12)?) / 100.0,
            ))
        })
        .collect();
    let mut family = vec![std::process::id()];
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, parent, ..) in &processes {
            if family.contains(parent) && !family.contains(pid) {
                family.push(*pid);
                grew = true;
            }
        }
    }
    let mut usage = BTreeMap::new();
    for (pid, _, name, seconds) in processes {
        if family.contains(&pid) {
            let name = if pid == std::process::id() {
                "consumer".into()
            } else {
                name
            };
            *usage.entry(name).or_default() += seconds;
        }
    }
    usage
}

/// CPU seconds each program used since `before`.
fn cpu_since(before: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    cpu_seconds()
        .into_iter()
        .map(|(name, seconds)| {
            let used = seconds - before.get(&name).copied().unwrap_or(0.0);
            (name, used)
        })
        .filter(|(_, used)| *used > 0.0)
        .collect()
}

fn cpu_listed(usage: &BTreeMap<String, f64>) -> String {
    let listed: Vec<String> = usage
        .iter()
        .map(|(name, seconds)| format!("{name} {seconds:.2}"))
        .collect();
    listed.join(", ")
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

fn spread(values: &[f64]) -> String {
    let rounded: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
    rounded.join(", ")
}

async fn ingest(
    servers: &Servers,
    vehicles: usize,
    seconds: i64,
    zones: usize,
    rounds: usize,
    checkpoints: bool,
) -> anyhow::Result<()> {
    let city = gridded_city(zones);
    let files = StateDir::temporary("bench")?;
    let city_file = files.path().join("city.json");
    std::fs::write(&city_file, serde_json::to_vec(&city)?)?;
    // All of it in the past, so no fix is "from the future".
    let start_ms = now_ms() - (seconds + 60) * 1000;
    let mut fleet = Fleet::new(&city, vehicles, 1, Scenario::default(), start_ms);
    let messages: Vec<(String, Vec<u8>)> = (0..seconds)
        .flat_map(|s| fleet.tick(s * 1000))
        .map(|(vehicle, fix)| (telemetry_topic(&vehicle), fix.encode()))
        .collect();
    let total = messages.len();
    let bytes: usize = messages.iter().map(|(_, payload)| payload.len()).sum();
    eprintln!(
        "ingest: {vehicles} vehicles × {seconds} s = {total} messages ({} bytes each on average), city of {} zones",
        bytes / total,
        city.zones.len()
    );

    let recorder = Arc::new(TallyRecorder::default());
    metrics::set_global_recorder(recorder.clone())
        .map_err(|_| anyhow::anyhow!("a metrics recorder is already installed"))?;
    let (mut bare_rates, mut handled_rates, mut acked_rates) = (Vec::new(), Vec::new(), Vec::new());
    let (mut bare_costs, mut gateway_costs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Both consumers' sessions exist before the backlog is published: each gets the same
        // messages from the same broker, and they drain one after the other, in alternating
        // order so that neither always goes first.
        let (bare_id, gateway_id) = (
            format!("bench-bare-{round}"),
            format!("bench-gateway-{round}"),
        );
        subscribe_persistently(&servers.broker, &bare_id).await?;
        subscribe_persistently(&servers.broker, &gateway_id).await?;
        publish_all(&servers.broker, &messages).await?;
        let drain_bare = async || {
            let before = cpu_seconds();
            let rate = bare_drain(&servers.broker, &bare_id, total).await?;
            anyhow::Ok((rate, cpu_since(&before)))
        };
        let drain_gateway = async || {
            let before = cpu_seconds();
            let state = checkpoints.then(|| files.path().join(format!("{gateway_id}.state")));
            let files = (city_file.as_path(), state.clone());
            let drain = gateway_drain(servers, &recorder, files, &gateway_id, total).await?;
            if let Some(state) = state {
                let bytes = std::fs::metadata(&state)?.len();
                eprintln!("  the gateway's last checkpoint: {bytes} bytes");
            }
            anyhow::Ok((drain, cpu_since(&before)))
        };
        let ((bare, bare_cpu), (gateway, gateway_cpu)) = if round % 2 == 0 {
            let bare = drain_bare().await?;
            (bare, drain_gateway().await?)
        } else {
            let gateway = drain_gateway().await?;
            (drain_bare().await?, gateway)
        };
        forget_session(&servers.broker, &bare_id).await?;
        forget_session(&servers.broker, &gateway_id).await?;
        // The consumer's own CPU per message: the gateway's cost against the bare minimum.
        let per_message = |cpu: &BTreeMap<String, f64>| {
            cpu.get("consumer").copied().unwrap_or(0.0) / total as f64 * 1e6
        };
        let (bare_us, gateway_us) = (per_message(&bare_cpu), per_message(&gateway_cpu));
        eprintln!(
            "round {}/{rounds}: bare subscriber {bare:.0} msgs/s; gateway handled {:.0} msgs/s \
             (ratio {:.2}), acknowledged {:.0} msgs/s (ratio {:.2}); {} events; at most {} \
             messages held unacknowledged\n  \
             CPU seconds during the bare drain: {}; during the gateway's: {}\n  \
             consumer CPU per message: bare {bare_us:.2} µs, gateway {gateway_us:.2} µs",
            round + 1,
            gateway.handled_rate,
            gateway.handled_rate / bare,
            gateway.acked_rate,
            gateway.acked_rate / bare,
            gateway.events,
            gateway.most_held,
            cpu_listed(&bare_cpu),
            cpu_listed(&gateway_cpu),
        );
        bare_costs.push(bare_us);
        gateway_costs.push(gateway_us);
        bare_rates.push(bare);
        handled_rates.push(gateway.handled_rate);
        acked_rates.push(gateway.acked_rate);
    }
    let ratios = |rates: &[f64]| -> Vec<f64> {
        rates
            .iter()
            .zip(&bare_rates)
            .map(|(gateway, bare)| gateway / bare)
            .collect()
    };
    let (handled_ratios, acked_ratios) = (ratios(&handled_rates), ratios(&acked_rates));
    let listed = |ratios: &[f64]| -> String {
        let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        listed.join(", ")
    };
    println!(
        "ingest: {total} messages, {vehicles} vehicles, {} zones, medians of {rounds} rounds: \
         bare subscriber {:.0} msgs/s ({}); gateway handled {:.0} msgs/s ({}), ratio {:.2} ({}); \
         gateway acknowledged {:.0} msgs/s ({}), ratio {:.2} ({}); \
         consumer CPU per message: bare {:.2} µs, gateway {:.2} µs",
        city.zones.len(),
        median(&bare_rates),
        spread(&bare_rates),
        median(&handled_rates),
        spread(&handled_rates),
        median(&handled_ratios),
        listed(&handled_ratios),
        median(&acked_rates),
        spread(&acked_rates),
        median(&acked_ratios),
        listed(&acked_ratios),
        median(&bare_costs),
        median(&gateway_costs),
    );
    Ok(())
}

/// Times `JamDetector::observe` over `seconds` of a fleet's fixes (nothing else: the fixes are
/// made first), in the built-in city or a street grid of `streets` roads each way.
fn detect(vehicles: usize, seconds: i64, streets: usize, passes: usize) {
    let city = match streets {
        0 => City::builtin(),
        streets => street_grid_city(streets),
    };
    let segments: usize = city.roads.iter().map(|r| r.points.len() - 1).sum();
    let mut fleet = Fleet::new(&city, vehicles, 1, Scenario::default(), 1_800_000_000_000);
    let fixes: Vec<(String, Telemetry)> = (0..seconds).flat_map(|s| fleet.tick(s * 1000)).collect();
    let mut costs = Vec::new();
    for _ in 0..passes {
        let mut detector = JamDetector::new(&city, jam::Thresholds::default());
        let (started, mut matched) = (Instant::now(), 0);
        for (vehicle, fix) in &fixes {
            detector.observe(vehicle, fix);
            matched += usize::from(detector.road_of(vehicle).is_some());
        }
        costs.push(started.elapsed().as_secs_f64() / fixes.len() as f64 * 1e9);
        assert_eq!(matched, fixes.len(), "every fleet fix is on a road");
    }
    println!(
        "detect: {} fixes, {} roads, {segments} segments, median of {passes} passes: \
         {:.0} ns a fix ({} ns)",
        fixes.len(),
        city.roads.len(),
        median(&costs),
        spread(&costs),
    );
}

fn checkpoint(vehicles: usize, seconds: i64, zones: usize, passes: usize) -> anyhow::Result<()> {
    let city = gridded_city(zones);
    let mut fleet = Fleet::new(&city, vehicles, 1, Scenario::default(), 1_800_000_000_000);
    let mut detector = Detector::new(city, Thresholds::default());
    let mut admitted = HashMap::new();
    let mut latest_ms = 0;
    for second in 0..seconds {
        for (vehicle, fix) in fleet.tick(second * 1000) {
            detector.observe(&vehicle, &fix);
            latest_ms = latest_ms.max(fix.ts);
            admitted.insert(vehicle, fix.ts);
        }
    }
    let folder = StateDir::temporary("checkpoint-bench")?;
    let path = folder.path().join("gateway.state");
    let (mut serialize_ms, mut write_ms, mut size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..passes {
        let started = Instant::now();
        let times = (latest_ms, latest_ms);
        let bytes = Checkpoint::new(detector.state(), &admitted, times, Vec::new()).to_bytes()?;
        serialize_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        vigie_pipeline::checkpoint::write(&path, &bytes)?;
        write_ms.push(started.elapsed().as_secs_f64() * 1e3);
        size = bytes.len();
    }
    println!(
        "checkpoint: {vehicles} vehicles after {seconds} s, {} zones: {:.1} MB ({:.0} B a \
         vehicle); median of {passes}: serialize {:.1} ms ({}), write and sync {:.1} ms ({})",
        zones,
        size as f64 / 1e6,
        size as f64 / vehicles as f64,
        median(&serialize_ms),
        spread(&serialize_ms),
        median(&write_ms),
        spread(&write_ms),
    );
    Ok(())
}

/// `count` valid events spread over the kinds (and so the rooms), all in the last hour.
fn events(count: usize) -> Vec<Event> {
    let city = City::builtin();
    let (zone, road) = (city.zones[0].id.clone(), city.roads[0].id.clone());
    let start_ms = now_ms() - 3_600_000;
    (0..count)
        .map(|i| {
            let at_ms = start_ms + i as i64;
            let kind = [EventKind::Accident, EventKind::Jam, EventKind::ZoneEnter][i % 3];
            vigie_pipeline::detect::identified(Event {
                id: String::new(),
                incident: String::new(),
                kind,
                status: Status::Open,
                severity: Severity::Moderate,
                zone: Some(zone.clone()),
                road: (kind == EventKind::Jam).then(|| road.clone()),
                vehicles: vec![format!("veh-{i:06}")],
                lat: 45.76,
                lon: 4.835,
                occurred_at: time_of(at_ms),
                detail: String::new(),
            })
        })
        .collect()
}

async fn stored(pool: &sqlx::MySqlPool) -> anyhow::Result<usize> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incident_updates")
        .fetch_one(pool)
        .await?;
    Ok(count as usize)
}

async fn all_stored(pool: &sqlx::MySqlPool, event_ids: &[&str]) -> anyhow::Result<bool> {
    for id in event_ids {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM incident_updates WHERE event_id = ?")
                .bind(id)
                .fetch_optional(pool)
                .await?;
        if found.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Events posted between waits for their reflections.
const CHUNK: usize = 500;

async fn catchup(servers: &Servers, count: usize) -> anyhow::Result<()> {
    let database_url =
        tokio::task::spawn_blocking(|| Mysql::shared().fresh_database("bench")).await??;
    let pool = sqlx::MySqlPool::connect(&database_url).await?;
    vigie_store::migrate(&pool).await?;

    // The gateway's account posts the events, as the gateway would; each is reflected.
    let rooms: Vec<String> = EVENT_ROOMS.iter().map(|r| room_jid(r)).collect();
    let (handle, mut incoming, _) =
        join_rooms(&servers.gateway, &rooms, gateway::NICK, History::None).await?;
    let posting = Instant::now();
    let events = events(count);
    let (mut sent, mut reflected) = (0, 0);
    let mut reflections = async |reflected: &mut usize, until: usize| -> anyhow::Result<()> {
        while *reflected < until {
            match incoming.recv().await.context("session ended")? {
                XmppEvent::GroupchatMessage(_) => *reflected += 1,
                XmppEvent::Disconnected { error } => bail!("disconnected: {error:?}"),
                _ => {}
            }
        }
        Ok(())
    };
    // At most two chunks unconfirmed, so Prosody's queues stay short.
    for chunk in events.chunks(CHUNK) {
        for event in chunk {
            let room = room_jid(room_for(event.kind));
            handle
                .send_groupchat_with_id(&room, &event.id, &event.body(), Some(event.to_element()))
                .await?;
        }
        sent += chunk.len();
        reflections(&mut reflected, sent.saturating_sub(CHUNK)).await?;
    }
    reflections(&mut reflected, count).await?;
    handle.close().await;
    eprintln!(
        "catchup: posted {count} events in {:.1} s",
        posting.elapsed().as_secs_f64()
    );

    let args = CollectorArgs {
        database_url,
        xmpp: servers.collector.clone(),
        nick: "collector".into(),
        gateway_nick: gateway::NICK.into(),
    };
    let processes = CatchupProcesses::find(servers, &pool).await?;
    let cpu_before = processes.cpu_seconds()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let started = Instant::now();
    let run = tokio::spawn(vigie_pipeline::collector::run(args, async {
        let _ = stopped.await;
    }));
    // Each room's pages are stored in order, so the catch-up is over once every room's last
    // event is: point lookups, where polling a COUNT(*) would scan the table and take MariaDB's
    // CPU from the collector.
    let last_events: Vec<&str> = rooms
        .iter()
        .filter_map(|room| {
            events
                .iter()
                .rev()
                .find(|e| room_jid(room_for(e.kind)) == *room)
        })
        .map(|e| e.id.as_str())
        .collect();
    while !all_stored(&pool, &last_events).await? {
        if run.is_finished() {
            run.await??;
            bail!("the collector stopped");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        stored(&pool).await? == count,
        "events missing or duplicated"
    );
    let cpu = processes.cpu_used_since(cpu_before)?;
    let _ = stop.send(());
    run.await??;
    println!(
        "catchup: {count} events stored by the collector from the archives in {seconds:.2} s: {:.0} events/s",
        count as f64 / seconds
    );
    println!("catchup: CPU used meanwhile: {}", cpu.per_event(count));

    // The ceiling: the same archives read page by page with nothing else done.
    let cpu_before = processes.cpu_seconds()?;
    let started = Instant::now();
    let read = bare_archive_read(&servers.collector, &rooms).await?;
    let bare_seconds = started.elapsed().as_secs_f64();
    let cpu = processes.cpu_used_since(cpu_before)?;
    println!(
        "catchup: bare archive reader: {read} messages in {bare_seconds:.2} s: {:.0} messages/s; \
         collector ÷ bare reader {:.2}; CPU used: {}",
        read as f64 / bare_seconds,
        (count as f64 / seconds) / (read as f64 / bare_seconds),
        cpu.per_event(read)
    );
    Ok(())
}

/// The processes of a catch-up, to see which one spends the CPU: Prosody, MariaDB (both
/// serving the archive, MariaDB also the collector's writes) and this one (the collector, its
/// XMPP session included).
struct CatchupProcesses {
    pids: [String; 3],
}

/// CPU seconds used by Prosody, MariaDB and this process.
struct CpuUsed([f64; 3]);

impl CatchupProcesses {
    async fn find(servers: &Servers, pool: &sqlx::MySqlPool) -> anyhow::Result<CatchupProcesses> {
        let pid_of = |file: &Path| -> anyhow::Result<String> {
            let pid = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            Ok(pid.trim().to_owned())
        };
        let prosody = pid_of(&servers.prosody.config_path().with_file_name("prosody.pid"))?;
        let mariadb_file: String = sqlx::query_scalar("SELECT @@pid_file")
            .fetch_one(pool)
            .await?;
        let mariadb = pid_of(Path::new(&mariadb_file))?;
        Ok(CatchupProcesses {
            pids: [prosody, mariadb, "self".into()],
        })
    }

    /// Linux's utime + stime of each process, in clock ticks of 1/100 s.
    fn cpu_seconds(&self) -> anyhow::Result<[f64; 3]> {
        let mut seconds = [0.0; 3];
        for (pid, seconds) in self.pids.iter().zip(&mut seconds) {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
            // The fields after the command name (in parentheses): utime and stime are 12th and 13th.
            let after_name = &stat[stat.rfind(')').context("malformed stat")? + 2..];
            let fields: Vec<&str> = after_name.split(' ').collect();
            let ticks = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
            *seconds = ticks as f64 / 100.0;
        }
        Ok(seconds)
    }

    fn cpu_used_since(&self, before: [f64; 3]) -> anyhow::Result<CpuUsed> {
        let now = self.cpu_seconds()?;
        Ok(CpuUsed(std::array::from_fn(|i| now[i] - before[i])))
    }
}

impl CpuUsed {
    fn per_event(&self, events: usize) -> String {
        let [prosody, mariadb, this] = self.0.map(|s| s * 1e6 / events as f64);
        format!(
            "Prosody {:.2} s ({prosody:.0} µs/event), MariaDB {:.2} s ({mariadb:.0} µs/event), \
             collector {:.2} s ({this:.0} µs/event)",
            self.0[0], self.0[1], self.0[2]
        )
    }
}

/// Reads every room's archive to the end, all rooms at once, in the collector's page size,
/// as the collector's account: how many messages were read.
async fn bare_archive_read(account: &XmppArgs, rooms: &[String]) -> anyhow::Result<usize> {
    let resource = format!("{}/bare-reader", account.xmpp_jid);
    let config = ClientConfig::login(&resource, &account.xmpp_password)?;
    let (handle, mut incoming) = connect(&account.xmpp_ws_url, config).await?;
    let page = |after_id| vigie_xmpp::ArchiveQuery {
        after_id,
        max: Some(vigie_pipeline::collector::PAGE),
        ..Default::default()
    };
    let mut reading = HashMap::new();
    for room in rooms {
        reading.insert(handle.query_room_archive(room, page(None)).await?, room);
    }
    let mut read = 0;
    while !reading.is_empty() {
        match incoming.recv().await.context("session ended")? {
            XmppEvent::ArchivedMessage { .. } => read += 1,
            XmppEvent::ArchiveQueryDone { query_id, result } => {
                let room = reading
                    .remove(&query_id)
                    .context("an unknown archive query")?;
                let done = result?;
                if !done.complete {
                    let next = handle.query_room_archive(room, page(done.last_id)).await?;
                    reading.insert(next, room);
                }
            }
            XmppEvent::Disconnected { error } => bail!("disconnected: {error:?}"),
            _ => {}
        }
    }
    handle.close().await;
    Ok(read)
}

async fn latency(servers: &Servers, samples: usize, per_second: f64) -> anyhow::Result<()> {
    let client_id = "bench-latency";
    subscribe_persistently(&servers.broker, client_id).await?;
    let args = GatewayArgs {
        mqtt_url: servers.broker.url(),
        mqtt_client_id: client_id.into(),
        xmpp: servers.gateway.clone(),
        nick: gateway::NICK.into(),
        city: None,
        emitted_log: None,
        // Events are posted as soon as they are detected; checkpoints delay only the acks.
        state: None,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(gateway::run(args, async {
        let _ = stopped.await;
    }));

    let (viewer, mut seen) = connect(
        &servers.prosody.ws_url(),
        ClientConfig::anonymous(ANON_DOMAIN),
    )
    .await?;
    viewer
        .join_room(
            &room_jid(room_for(EventKind::Accident)),
            "bench",
            History::None,
        )
        .await?;

    while !matches!(
        seen.recv().await.context("session ended")?,
        XmppEvent::RoomJoined { .. }
    ) {}

    let (publisher, mut eventloop) = mqtt_client(&servers.broker, "bench-vehicles", true)?;
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let city = City::builtin();
    let [lon, lat] = city.roads[0].points[0];
    let crash = |vehicle: &str| {
        let fix = Telemetry {
            ts: now_ms(),
            lat,
            lon,
            speed_kmh: 0.0,
            heading: 0.0,
            flags: vec![vigie_model::telemetry::FLAG_CRASH.into()],
        };
        publisher.publish(
            telemetry_topic(vehicle),
            QoS::AtLeastOnce,
            false,
            fix.encode(),
        )
    };
    // Warm-up: the first crash waits for the gateway to be in the rooms.
    crash("bench-warmup").await?;
    loop {
        if let XmppEvent::GroupchatMessage(_) = seen.recv().await.context("session ended")? {
            break;
        }
    }
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut latencies = Vec::with_capacity(samples);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    let deadline = Instant::now() + Duration::from_secs_f64(samples as f64 / per_second + 30.0);
    while latencies.len() < samples {
        tokio::select! {
            _ = ticker.tick(), if sent.len() < samples => {
                let vehicle = format!("bench-{:05}", sent.len());
                sent.insert(vehicle.clone(), Instant::now());
                crash(&vehicle).await?;
            }
            event = seen.recv() => {
                let Some(XmppEvent::GroupchatMessage(message)) = event else { continue };
                let Some(Ok(event)) = Event::find_in(&message.payloads) else { continue };
                if let Some(at) = event.vehicles.first().and_then(|v| sent.get(v)) {
                    latencies.push(at.elapsed());
                }
            }
        }
        if Instant::now() > deadline {
            bail!("only {} of {samples} events arrived", latencies.len());
        }
    }
    let _ = stop.send(());
    run.await??;
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    println!(
        "latency: {samples} crash fixes at {per_second}/s, telemetry published → accident in the room: \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
        percentile(1.0).as_secs_f64() * 1000.0,
    );
    Ok(())
}
