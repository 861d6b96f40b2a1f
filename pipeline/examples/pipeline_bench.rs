//! Pipeline benchmarks on real servers: a private Mosquitto, Prosody and MariaDB from
//! `vigie-stack` (MariaDB from `VIGIE_MYSQL_ADMIN_URL` when set), all on this machine.
//!
//! - `ingest`: how fast the gateway drains a backlog of telemetry from its persistent session,
//!   against a bare MQTT subscriber draining the same messages from the same broker. Both
//!   backlogs are published while the consumer is offline, so the publisher's CPU is not in the
//!   measurement: only the consumer's.
//! - `catchup`: events posted in the rooms while the collector is down; the collector starts
//!   and catches up through the rooms' archives (XEP-0313) into MySQL.
//! - `latency`: a crash fix published → its accident event in the room, seen by a viewer.
//!
//! `cargo run --profile release-native -p vigie-pipeline --example pipeline_bench -- ingest`
//! (`bench/pipeline/run.sh` runs all three with the documented settings).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Parser;
use rumqttc::{AsyncClient, Event as MqttEvent, Packet, QoS};
use tokio::sync::oneshot;
use vigie_model::city::{Bounds, Zone};
use vigie_model::contract::{
    room_for, room_jid, telemetry_topic, ANON_DOMAIN, COLLECTOR_USER, EVENT_ROOMS, GATEWAY_USER,
    TELEMETRY_FILTER, XMPP_DOMAIN,
};
use vigie_model::{City, Event, EventKind, Severity, Status, Telemetry};
use vigie_pipeline::collector::CollectorArgs;
use vigie_pipeline::detect::time_of;
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
    let account = |user: &str| -> anyhow::Result<XmppArgs> {
        let password = format!("{user}-secret");
        prosody.register(user, XMPP_DOMAIN, &password)?;
        Ok(XmppArgs {
            xmpp_ws_url: prosody.ws_url(),
            xmpp_jid: format!("{user}@{XMPP_DOMAIN}"),
            xmpp_password: password,
        })
    };
    let (gateway, collector) = (account(GATEWAY_USER)?, account(COLLECTOR_USER)?);
    prosody.create_event_rooms(&gateway.xmpp_jid, &collector.xmpp_jid)?;
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
            } => ingest(&servers, vehicles, seconds, zones).await,
            Bench::Catchup { events } => catchup(&servers, events).await,
            Bench::Latency {
                samples,
                per_second,
            } => latency(&servers, samples, per_second).await,
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

/// Rate (messages/s) between the first and the last of `total` messages a bare subscriber
/// drains from its persistent session (acknowledging each, as rumqttc does by default).
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

/// The sum of a counter over all its labels, from Prometheus text.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn ingest(
    servers: &Servers,
    vehicles: usize,
    seconds: i64,
    zones: usize,
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

    subscribe_persistently(&servers.broker, "bench-bare").await?;
    publish_all(&servers.broker, &messages).await?;
    let bare = bare_drain(&servers.broker, "bench-bare", total).await?;
    eprintln!("bare subscriber: {bare:.0} msgs/s");

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let client_id = "bench-gateway";
    subscribe_persistently(&servers.broker, client_id).await?;
    publish_all(&servers.broker, &messages).await?;
    let args = GatewayArgs {
        mqtt_url: servers.broker.url(),
        mqtt_client_id: client_id.into(),
        xmpp: servers.gateway.clone(),
        nick: gateway::NICK.into(),
        city: Some(city_file),
        emitted_log: None,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(gateway::run(args, async {
        let _ = stopped.await;
    }));
    let handled = || {
        let text = recorder.render();
        counter(&text, "vigie_telemetry_received_total") + counter(&text, "vigie_rejected_total")
    };
    let mut first = None;
    loop {
        let done = handled() as usize;
        if done > 0 {
            first.get_or_insert((Instant::now(), done));
        }
        if done >= total {
            break;
        }
        if run.is_finished() {
            run.await??;
            bail!("the gateway stopped");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (started, at_start) = first.context("nothing handled")?;
    let gateway_rate = (total - at_start) as f64 / started.elapsed().as_secs_f64();
    let text = recorder.render();
    let events = counter(&text, "vigie_events_total");
    let _ = stop.send(());
    run.await??;
    println!(
        "ingest: {total} messages, {vehicles} vehicles, {} zones: bare subscriber {bare:.0} msgs/s, \
         gateway {gateway_rate:.0} msgs/s ({events} events), ratio {:.2}",
        city.zones.len(),
        gateway_rate / bare
    );
    Ok(())
}

/// `count` valid events spread over the kinds (and so the rooms), all in the last hour.
fn events(count: usize) -> Vec<Event> {
    let city = City::builtin();
    let (zone, road) = (city.zones[0].id.clone(), city.roads[0].id.clone());
    let start_ms = now_ms() - 3_600_000;
    let mut ids = vigie_pipeline::detect::IdSource::seeded(1);
    (0..count)
        .map(|i| {
            let at_ms = start_ms + i as i64;
            let id = ids.next(at_ms);
            let kind = [EventKind::Accident, EventKind::Jam, EventKind::ZoneEnter][i % 3];
            Event {
                incident: id.clone(),
                id,
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
            }
        })
        .collect()
}

async fn stored(pool: &sqlx::MySqlPool) -> anyhow::Result<usize> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incident_updates")
        .fetch_one(pool)
        .await?;
    Ok(count as usize)
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
    let (stop, stopped) = oneshot::channel::<()>();
    let started = Instant::now();
    let run = tokio::spawn(vigie_pipeline::collector::run(args, async {
        let _ = stopped.await;
    }));
    while stored(&pool).await? < count {
        if run.is_finished() {
            run.await??;
            bail!("the collector stopped");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    run.await??;
    println!(
        "catchup: {count} events stored by the collector from the archives in {seconds:.2} s: {:.0} events/s",
        count as f64 / seconds
    );
    Ok(())
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
