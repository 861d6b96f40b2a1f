//! The dashboard benchmark's back end (bench/dashboard/run.mjs drives it): a whole Vigie on
//! private servers (crates/e2e's `Stack`, serving a built dashboard) whose gateway is this
//! program, posting generated events into the event rooms at a chosen rate, as the real gateway
//! posts what it detects.
//!
//! Protocol, one JSON object per stdout line:
//! - once the seeded events are in the rooms and in MySQL:
//!   `{"url", "seeded_events", "seeded_incidents", "history_cards"}`;
//! - for each stdin line `publish RATE SECONDS`: `{"published", "confirmed", "seconds", "stored"}`
//!   (any line while publishing stops it early);
//! - at the end of stdin, even while publishing, the stack stops and the program exits.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use time::OffsetDateTime;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use vigie_e2e::{eventually, Program, Stack};
use vigie_model::contract::{room_for, room_jid, EVENT_ROOMS, GATEWAY_USER, XMPP_DOMAIN};
use vigie_model::{City, Event, EventKind, Severity, Status};
use vigie_pipeline::gateway::NICK;
use vigie_pipeline::session::{join_rooms, XmppArgs};
use vigie_xmpp::driver_tokio::Handle;
use vigie_xmpp::{Event as XmppEvent, History};

#[derive(Parser)]
#[command(about = "A private Vigie serving the dashboard, with events posted at a chosen rate")]
struct Args {
    /// The built dashboard (`trunk build --release --dist DIR`).
    #[arg(long)]
    dist: PathBuf,
    /// Events posted before the page opens: the rooms' history and the incident table.
    #[arg(long, default_value_t = 90)]
    seed_events: usize,
    /// Messages of history the dashboard asks each room for on join (session.rs `HISTORY`).
    #[arg(long, default_value_t = 20)]
    room_history: usize,
    /// Seed of the generated traffic.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// Accidents and jams open at once in the generated traffic, about.
const ACTIVE_INCIDENTS: usize = 20;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.dist.join("index.html").is_file(),
        "no dashboard in {}",
        args.dist.display()
    );
    let mut stack = Stack::start(Some(args.dist.clone())).await?;
    let result = run(&args, &mut stack).await;
    let stopped = stack.stop().await;
    result.and(stopped)
}

async fn run(args: &Args, stack: &mut Stack) -> anyhow::Result<()> {
    // This program is the gateway: the detecting one would add events of its own.
    stack.kill(Program::Gateway).await;
    let rooms: Vec<String> = EVENT_ROOMS.iter().map(|room| room_jid(room)).collect();
    let xmpp = XmppArgs {
        xmpp_ws_url: stack.prosody.ws_url(),
        xmpp_jid: format!("{GATEWAY_USER}@{XMPP_DOMAIN}"),
        xmpp_password: vigie_e2e::GATEWAY_PASSWORD.to_owned(),
    };
    let (handle, events, _) = join_rooms(&xmpp, &rooms, NICK, History::None).await?;
    let confirmed = Arc::new(AtomicU64::new(0));
    tokio::spawn(count_confirmations(events, confirmed.clone()));

    let mut traffic = Traffic::new(args.seed);
    let seeded = seed(&handle, &mut traffic, args.seed_events).await?;
    let seeded_count = seeded.len() as u64;
    eventually(
        Duration::from_secs(30),
        "the rooms to echo the seed",
        || {
            let confirmed = confirmed.load(Ordering::SeqCst);
            async move { Ok((confirmed >= seeded_count).then_some(())) }
        },
    )
    .await?;
    eventually(
        Duration::from_secs(30),
        "the collector to store the seed",
        || async { Ok((stack.stored_event_ids().await?.len() >= seeded.len()).then_some(())) },
    )
    .await?;
    let mut per_room: HashMap<&str, usize> = HashMap::new();
    for event in &seeded {
        *per_room.entry(room_for(event.kind)).or_default() += 1;
    }
    let history_cards: usize = per_room.values().map(|n| (*n).min(args.room_history)).sum();
    let incidents: HashSet<&str> = seeded.iter().map(|e| e.incident.as_str()).collect();
    println!(
        "{}",
        json!({
            "url": format!("{}/", stack.server_url),
            "seeded_events": seeded.len(),
            "seeded_incidents": incidents.len(),
            "history_cards": history_cards,
        })
    );

    let mut commands = commands();
    while let Some(line) = commands.recv().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (rate, seconds) = match words.as_slice() {
            ["publish", rate, seconds] => (rate.parse::<f64>()?, seconds.parse::<f64>()?),
            [] => continue,
            _ => bail!("unknown command {line:?} (expected `publish RATE SECONDS`)"),
        };
        anyhow::ensure!(
            rate > 0.0 && seconds >= 0.0,
            "bad rate or duration: {line:?}"
        );
        let before = confirmed.load(Ordering::SeqCst);
        let started = tokio::time::Instant::now();
        let published = publish(&handle, &mut traffic, rate, seconds, &mut commands).await?;
        let elapsed = started.elapsed().as_secs_f64();
        // Every echo back, or give up after a while and say how many came.
        let expected = before + published;
        let _ = eventually(Duration::from_secs(30), "the rooms to echo", || {
            let confirmed = confirmed.load(Ordering::SeqCst);
            async move { Ok((confirmed >= expected).then_some(())) }
        })
        .await;
        let stored = stack.stored_event_ids().await?.len();
        println!(
            "{}",
            json!({
                "published": published,
                "confirmed": confirmed.load(Ordering::SeqCst) - before,
                "seconds": elapsed,
                "stored": stored,
            })
        );
    }
    handle.close().await;
    Ok(())
}

/// The lines of stdin; the channel closes at its end.
fn commands() -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sender.send(line).await.is_err() {
                break;
            }
        }
    });
    receiver
}

/// Counts our events as the rooms send them back (live, not history).
async fn count_confirmations(mut events: mpsc::Receiver<XmppEvent>, confirmed: Arc<AtomicU64>) {
    while let Some(event) = events.recv().await {
        if let XmppEvent::GroupchatMessage(message) = event {
            if message.nick == NICK && message.delay.is_none() {
                confirmed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

async fn post(handle: &Handle, event: &Event) -> anyhow::Result<()> {
    let room = room_jid(room_for(event.kind));
    handle
        .send_groupchat_with_id(&room, &event.id, &event.body(), Some(event.to_element()))
        .await
        .with_context(|| format!("posting {} to {room}", event.id))
}

/// `count` events that happened over the last `count` × 20 s.
async fn seed(handle: &Handle, traffic: &mut Traffic, count: usize) -> anyhow::Result<Vec<Event>> {
    let now = OffsetDateTime::now_utc();
    let mut events = Vec::with_capacity(count);
    for n in 0..count {
        let at = now - time::Duration::seconds(20 * (count - n) as i64);
        let event = traffic.next(at);
        post(handle, &event).await?;
        events.push(event);
    }
    Ok(events)
}

/// Posts `rate` events a second for `seconds`, evenly spaced, unless a command line or the end
/// of stdin comes first; returns how many.
async fn publish(
    handle: &Handle,
    traffic: &mut Traffic,
    rate: f64,
    seconds: f64,
    interrupt: &mut mpsc::Receiver<String>,
) -> anyhow::Result<u64> {
    let total = (rate * seconds).round() as u64;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    for posted in 0..total {
        tokio::select! {
            _ = ticks.tick() => post(handle, &traffic.next(OffsetDateTime::now_utc())).await?,
            _ = interrupt.recv() => return Ok(posted),
        }
    }
    Ok(total)
}

/// Generated events shaped as the pipeline's: zone crossings (single `open` events, most of the
/// traffic), and accidents and jams that open on a road, get updates and clear, about
/// [`ACTIVE_INCIDENTS`] of them open at a time. Deterministic for a seed, but for the times.
struct Traffic {
    rng: StdRng,
    city: City,
    /// The latest event of each open accident or jam, with the updates it has left.
    open: Vec<(Event, u32)>,
}

impl Traffic {
    fn new(seed: u64) -> Traffic {
        Traffic {
            rng: StdRng::seed_from_u64(seed),
            city: City::builtin(),
            open: Vec::new(),
        }
    }

    fn next(&mut self, at: OffsetDateTime) -> Event {
        let roll = self.rng.random_range(0..10);
        if roll < 6 {
            self.zone_crossing(at)
        } else if self.open.len() < ACTIVE_INCIDENTS {
            self.opening(at)
        } else {
            self.follow_up(at)
        }
    }

    fn id(&mut self, at: OffsetDateTime) -> String {
        let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
        ulid::Ulid::from_parts(ms, self.rng.random()).to_string()
    }

    fn vehicle(&mut self) -> String {
        format!("v{}", self.rng.random_range(1..=500))
    }

    fn zone_crossing(&mut self, at: OffsetDateTime) -> Event {
        let zone = &self.city.zones[self.rng.random_range(0..self.city.zones.len())];
        let [lon, lat] = zone.polygon[self.rng.random_range(0..zone.polygon.len())];
        let (zone, name) = (zone.id.clone(), zone.name.clone());
        let kind = if self.rng.random_bool(0.5) {
            EventKind::ZoneEnter
        } else {
            EventKind::ZoneExit
        };
        let id = self.id(at);
        Event {
            incident: id.clone(),
            id,
            kind,
            status: Status::Open,
            severity: Severity::Minor,
            zone: Some(zone),
            road: None,
            vehicles: vec![self.vehicle()],
            lat,
            lon,
            occurred_at: at,
            detail: format!("crossed the border of {name}"),
        }
    }

    fn opening(&mut self, at: OffsetDateTime) -> Event {
        let road = &self.city.roads[self.rng.random_range(0..self.city.roads.len())];
        let [lon, lat] = road.points[self.rng.random_range(0..road.points.len())];
        let road = road.id.clone();
        let zone = self.city.zone_at(lat, lon).map(|zone| zone.id.clone());
        let (kind, vehicles, detail) = if self.rng.random_bool(0.4) {
            (EventKind::Accident, 1..=2, "crash flag, speed 0 km/h")
        } else {
            (EventKind::Jam, 3..=8, "queue forming, 8 km/h")
        };
        let vehicles = (0..self.rng.random_range(vehicles))
            .map(|_| self.vehicle())
            .collect();
        let id = self.id(at);
        let event = Event {
            incident: id.clone(),
            id,
            kind,
            status: Status::Open,
            severity: Severity::ALL[self.rng.random_range(0..Severity::ALL.len())],
            zone,
            road: Some(road),
            vehicles,
            lat,
            lon,
            occurred_at: at,
            detail: detail.to_owned(),
        };
        let updates = self.rng.random_range(0..4);
        self.open.push((event.clone(), updates));
        event
    }

    fn follow_up(&mut self, at: OffsetDateTime) -> Event {
        let index = self.rng.random_range(0..self.open.len());
        let id = self.id(at);
        let (latest, updates_left) = &mut self.open[index];
        let status = if *updates_left == 0 {
            Status::Cleared
        } else {
            *updates_left -= 1;
            Status::Update
        };
        let event = Event {
            id,
            status,
            occurred_at: at,
            detail: format!("{} {status}", latest.kind),
            ..latest.clone()
        };
        if status == Status::Cleared {
            self.open.swap_remove(index);
        } else {
            *latest = event.clone();
        }
        event
    }
}
