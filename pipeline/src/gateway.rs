//! The gateway: telemetry in from MQTT, road events out to the rooms.
//!
//! A telemetry message is acknowledged to the broker only once every event it caused has come
//! back from its room (the room's reflection is its confirmation), and acknowledgements keep
//! the order the messages arrived in (MQTT 3.1.1 §4.6). With a persistent session at QoS 1,
//! a gateway that dies therefore loses nothing: the broker redelivers what was not confirmed.
//! While the XMPP server is away, events wait in the outbox and are sent again on reconnect.
//! Given a state file, the gateway also checkpoints its detectors (`checkpoint.rs`) and
//! acknowledges a message only once a checkpoint covers it, so a crash does not forget the
//! detections in progress either.
//! The gateway holds at most [`MAX_HELD`] messages unacknowledged: past it, it stops reading,
//! and a backlog (telemetry published while it was down, or faster than the rooms confirm)
//! waits in the broker's persistent session rather than in the gateway's memory.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use rumqttc::mqttbytes::v4::{PubAck, PubRec};
use rumqttc::{AsyncClient, MqttState, Packet, Publish, QoS, Request};
use tokio::sync::mpsc;
use tokio::time::Instant;
use vigie_model::contract::{self, room_for, room_jid, vehicle_of_topic, TELEMETRY_FILTER};
use vigie_model::{City, Event, EventKind, Telemetry};
use vigie_xmpp::driver_tokio::Handle;
use vigie_xmpp::{ArchiveQuery, Event as XmppEvent, History};

use crate::checkpoint::{self, Checkpoint};
use crate::detect::{still_open, Detector, Thresholds};
use crate::session::{backoff, join_rooms, XmppArgs};
use crate::stats::Stats;

#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// The broker, e.g. mqtt://127.0.0.1:1883.
    #[arg(long, env = "MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    /// MQTT client id; the broker keeps this session's subscription and unacknowledged messages.
    #[arg(long, env = "GATEWAY_MQTT_CLIENT_ID", default_value = "vigie-gateway")]
    pub mqtt_client_id: String,
    #[command(flatten)]
    pub xmpp: XmppArgs,
    /// Nick in the event rooms.
    #[arg(long, env = "GATEWAY_NICK", default_value = "gateway")]
    pub nick: String,
    /// The city to detect in (JSON, the format of data/city.json); the built-in one by default.
    #[arg(long, env = "VIGIE_CITY")]
    pub city: Option<PathBuf>,
    /// Appends the id of every event a room confirmed to this file, one per line: the ground
    /// truth of what the gateway emitted, for fault tests and audits.
    #[arg(long, env = "GATEWAY_EMITTED_LOG")]
    pub emitted_log: Option<PathBuf>,
    /// Keeps the detectors' checkpoint in this file and goes on from it at start, so that a
    /// crash loses no detection in progress. Without it, a crash forgets what was only being
    /// detected (docs/detection.md).
    #[arg(long, env = "GATEWAY_STATE")]
    pub state: Option<PathBuf>,
}

/// Nick the gateway uses unless told otherwise; its messages are the only events viewers trust.
pub const NICK: &str = contract::GATEWAY_USER;

/// Largest MQTT packet accepted; the broker's `max_packet_size` (deploy/mosquitto.conf) stays
/// below it.
const MAX_PACKET_BYTES: usize = 8 * 1024 * 1024;

/// How often refused events are sent again and counters logged.
const TICK: Duration = Duration::from_secs(5);

/// Telemetry stamped further ahead of the gateway's clock than this is rejected (`future`):
/// generous for clock skew, yet a fix from next year cannot hold a vehicle's state hostage.
const MAX_AHEAD_MS: i64 = 5 * 60 * 1000;

/// Per-vehicle admission by telemetry time: a fix from the far future, or not after the
/// vehicle's last admitted one (out of order, or a broker redelivering what was already
/// handled), is rejected with its reason.
#[derive(Default)]
struct Admission {
    last_ts: HashMap<String, i64>,
}

impl Admission {
    fn admit(&mut self, vehicle: &str, ts: i64, now_ms: i64) -> Result<(), &'static str> {
        if ts > now_ms.saturating_add(MAX_AHEAD_MS) {
            return Err("future");
        }
        match self.last_ts.get_mut(vehicle) {
            Some(last) if ts <= *last => Err("out_of_order"),
            Some(last) => {
                *last = ts;
                Ok(())
            }
            None => {
                self.last_ts.insert(vehicle.to_owned(), ts);
                Ok(())
            }
        }
    }
}

/// The detectors and what goes with them from one message to the next: all a checkpoint saves.
struct Detection {
    detector: Detector,
    admission: Admission,
    /// The newest telemetry time admitted, and the one at which incidents last expired.
    latest_ms: i64,
    expired_ms: i64,
}

impl Detection {
    /// Admits one message and returns the events it completes, or the reason it is rejected.
    fn telemetry(&mut self, publish: &Publish, now_ms: i64) -> Result<Vec<Event>, &'static str> {
        let (vehicle, fix) = decode(publish)?;
        self.admission.admit(vehicle, fix.ts, now_ms)?;
        self.latest_ms = self.latest_ms.max(fix.ts);
        let mut events = self.detector.observe(vehicle, &fix);
        if self.latest_ms >= self.expired_ms.saturating_add(EXPIRE_EVERY_MS) {
            events.extend(self.expire());
        }
        Ok(events)
    }

    /// Clears what timed out by the newest telemetry time.
    fn expire(&mut self) -> Vec<Event> {
        self.expired_ms = self.latest_ms;
        self.detector.expire(self.latest_ms)
    }

    fn checkpoint(&self, unconfirmed: Vec<Event>) -> postcard::Result<Vec<u8>> {
        let times = (self.latest_ms, self.expired_ms);
        let state = self.detector.state();
        Checkpoint::new(state, &self.admission.last_ts, times, unconfirmed).to_bytes()
    }

    /// Goes on from `checkpoint`; returns the events it holds unconfirmed.
    fn restore(&mut self, checkpoint: Checkpoint<'_>) -> anyhow::Result<Vec<Event>> {
        self.detector.restore(checkpoint.detector)?;
        self.admission.last_ts = checkpoint.admitted.into_owned();
        (self.latest_ms, self.expired_ms) = (checkpoint.latest_ms, checkpoint.expired_ms);
        Ok(checkpoint.unconfirmed)
    }
}

/// Checkpoints written in the background, one at a time.
struct Checkpoints {
    path: PathBuf,
    /// The checkpoint being written, and the sequence number it covers messages up to.
    writing: Option<(u64, tokio::task::JoinHandle<std::io::Result<()>>)>,
    /// What the last written checkpoint covers, and the one being written.
    covered: u64,
    started: u64,
    failures: u64,
    /// When the last checkpoint was serialized, and how long that took.
    serialized_at: Option<Instant>,
    cost: Duration,
}

impl Checkpoints {
    fn new(path: PathBuf) -> Checkpoints {
        Checkpoints {
            path,
            writing: None,
            covered: 0,
            started: 0,
            failures: 0,
            serialized_at: None,
            cost: Duration::ZERO,
        }
    }

    /// Starts writing a checkpoint if one is due at `now`, after `handled` messages: some are
    /// not covered yet, the period is over or many are waiting, and the loop has had its share
    /// of time since the last one ([`CHECKPOINT_SHARE`]) — unless reading has stopped (`held`
    /// at [`MAX_HELD`]): then there is no reading to leave time for, and only a checkpoint
    /// lets it go on.
    fn write_if_due(
        &mut self,
        (handled, held): (u64, usize),
        period_over: bool,
        now: Instant,
        checkpoint: impl FnOnce() -> postcard::Result<Vec<u8>>,
    ) {
        let waiting = handled.saturating_sub(self.started);
        let rested = held >= MAX_HELD
            || self
                .serialized_at
                .is_none_or(|at| now.saturating_duration_since(at) >= self.cost * CHECKPOINT_SHARE);
        if self.writing.is_some()
            || waiting == 0
            || !(period_over || waiting >= CHECKPOINT_EVERY)
            || !rested
        {
            return;
        }
        let serializing = std::time::Instant::now();
        let serialized = checkpoint();
        (self.serialized_at, self.cost) = (Some(now), serializing.elapsed());
        let bytes = match serialized {
            Ok(bytes) => bytes,
            Err(error) => return self.failed(&error),
        };
        let path = self.path.clone();
        let write = tokio::task::spawn_blocking(move || checkpoint::write(&path, &bytes));
        self.writing = Some((handled, write));
        self.started = handled;
    }

    /// Waits for the checkpoint being written; returns the sequence number it covers messages
    /// up to, once it is durable.
    async fn written(&mut self) -> Option<u64> {
        let Some((seq, write)) = self.writing.as_mut() else {
            return std::future::pending().await;
        };
        let seq = *seq;
        let result = write.await;
        self.writing = None;
        match result
            .map_err(std::io::Error::other)
            .and_then(|written| written)
        {
            Ok(()) => {
                self.covered = seq;
                self.failures = 0;
                Some(seq)
            }
            Err(error) => {
                self.started = self.covered;
                self.failed(&error);
                None
            }
        }
    }

    /// Tried again at the next period; telemetry stays unacknowledged meanwhile.
    fn failed(&mut self, error: &dyn std::fmt::Display) {
        self.failures += 1;
        if self.failures.is_power_of_two() {
            let (failures, path) = (self.failures, self.path.display());
            tracing::error!(%error, failures, %path, "cannot write the checkpoint");
        }
    }
}

async fn checkpoint_written(checkpoints: &mut Option<Checkpoints>) -> Option<u64> {
    match checkpoints {
        Some(checkpoints) => checkpoints.written().await,
        None => std::future::pending().await,
    }
}

/// Most telemetry messages held unacknowledged (about 260 bytes each, 13 MB in all): room for
/// a checkpoint's worth of messages and the one being written at this machine's rates (up to
/// ~120k messages/s handled with 100,000 vehicles in the ingest benchmark). Reading stops here
/// until the rooms confirm or a checkpoint covers what is held; with 100,000 vehicles, whose
/// checkpoints are spaced ~475 ms apart ([`CHECKPOINT_SHARE`]), it does at times
/// (docs/benchmarks/pipeline.md, session 13).
pub const MAX_HELD: usize = 50_000;

/// Messages handled after which a checkpoint is written at once, rather than at the next
/// [`CHECKPOINT_PERIOD`]: half of [`MAX_HELD`], the other half for what comes in while it is
/// written.
const CHECKPOINT_EVERY: u64 = MAX_HELD as u64 / 2;

/// How often a checkpoint is written while telemetry comes in.
const CHECKPOINT_PERIOD: Duration = Duration::from_millis(250);

/// A checkpoint starts no sooner than this many times its serialization's duration after the
/// last one started, so that checkpoints take at most a fifth of the gateway's loop: serializing
/// walks every vehicle's state, ~90 ms at 100,000 vehicles (docs/benchmarks/pipeline.md), which
/// every [`CHECKPOINT_PERIOD`] would be over a third of the loop.
const CHECKPOINT_SHARE: u32 = 5;

/// The detectors expire incidents each time telemetry time has moved on this much: at points
/// of the stream, never of the wall clock, so that telemetry handled again after a restart
/// expires the same incidents at the same time, under the same ids. (When telemetry stops,
/// so does expiry: what times out is measured in telemetry time anyway.)
const EXPIRE_EVERY_MS: i64 = 1_000;

/// How many times an event is sent before a room's refusal is taken as final: one try and
/// four more at [`TICK`]s, 20 s in all, for a rate limit to pass or a rejoin to happen.
const MAX_REFUSALS: u32 = 5;

/// The wall clock in Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One telemetry message waiting for its events to be confirmed before its ack.
struct Pending {
    publish: Publish,
    unconfirmed: usize,
    /// False for a second copy of a message still held (the broker sends what was not
    /// acknowledged again after a reconnect, under the same packet id): the first copy's ack
    /// acknowledges it, and a second ack could acknowledge another message given that id.
    ack: bool,
}

/// Events sent but not yet reflected, and the MQTT messages they hold back.
struct Outbox {
    queue: VecDeque<Pending>,
    /// Event id → the event and the sequence number of the telemetry message it holds back,
    /// if any (timeouts are caused by no message).
    events: HashMap<String, (Event, Option<u64>)>,
    /// Sequence number of `queue[0]`.
    first_seq: u64,
    /// Messages before this sequence number are covered by a checkpoint and may be acknowledged
    /// (all of them when the gateway keeps no checkpoint).
    covered: u64,
    /// Packet ids of the held messages that will be acknowledged.
    ids_to_ack: HashSet<u16>,
    /// Event id → how many times a room refused it.
    refusals: HashMap<String, u32>,
    /// Refused events to send again at the next tick.
    to_retry: Vec<String>,
}

/// What becomes of an event a room refused.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// Sent again at the next tick: the refusal may pass (a rate limit, a rejoin under way).
    Retry,
    /// Refused [`MAX_REFUSALS`] times: released, so that it holds no telemetry back.
    GivenUp(Event),
    /// Not an event waiting for confirmation.
    Unknown,
}

impl Outbox {
    /// An outbox whose messages may be acknowledged once their events are confirmed and a
    /// checkpoint covers them ([`Outbox::cover`]).
    fn acked_when_covered() -> Outbox {
        Outbox {
            covered: 0,
            ..Outbox::acked_when_confirmed()
        }
    }

    /// An outbox whose messages may be acknowledged as soon as their events are confirmed.
    fn acked_when_confirmed() -> Outbox {
        Outbox {
            queue: VecDeque::new(),
            events: HashMap::new(),
            first_seq: 0,
            covered: u64::MAX,
            ids_to_ack: HashSet::new(),
            refusals: HashMap::new(),
            to_retry: Vec::new(),
        }
    }

    /// The sequence number the next message will get: how many were handled.
    fn handled(&self) -> u64 {
        self.first_seq + self.queue.len() as u64
    }

    /// A checkpoint covers the messages before sequence number `seq`.
    fn cover(&mut self, seq: u64) {
        self.covered = self.covered.max(seq);
    }

    /// Queues a message and the events it caused; returns the events to send. An event already
    /// waiting (the same id: one restored from a checkpoint and detected again) is sent again
    /// but holds the message back no more than it is: one confirmation will clear it.
    fn push(&mut self, publish: Publish, events: Vec<Event>) -> Vec<Event> {
        let seq = self.handled();
        let mut unconfirmed = 0;
        for event in &events {
            if let Entry::Vacant(entry) = self.events.entry(event.id.clone()) {
                entry.insert((event.clone(), Some(seq)));
                unconfirmed += 1;
            }
        }
        let ack = publish.qos == QoS::AtMostOnce || self.ids_to_ack.insert(publish.pkid);
        self.queue.push_back(Pending {
            publish,
            unconfirmed,
            ack,
        });
        events
    }

    /// Queues events no telemetry message waits for.
    fn push_unprompted(&mut self, events: Vec<Event>) -> Vec<Event> {
        for event in &events {
            let waiting = (event.clone(), None);
            self.events.entry(event.id.clone()).or_insert(waiting);
        }
        events
    }

    /// Marks an event confirmed; false if it was not waiting (a duplicate reflection).
    fn confirm(&mut self, id: &str) -> bool {
        let Some((_, seq)) = self.events.remove(id) else {
            return false;
        };
        self.refusals.remove(id);
        if let Some(pending) =
            seq.and_then(|seq| self.queue.get_mut((seq - self.first_seq) as usize))
        {
            pending.unconfirmed -= 1;
        }
        true
    }

    /// A room refused event `id` (a stanza error in answer to it).
    fn refuse(&mut self, id: &str) -> Refusal {
        let Some((event, _)) = self.events.get(id) else {
            return Refusal::Unknown;
        };
        let refusals = self.refusals.entry(id.to_owned()).or_default();
        *refusals += 1;
        if *refusals < MAX_REFUSALS {
            self.to_retry.push(id.to_owned());
            return Refusal::Retry;
        }
        let event = event.clone();
        self.confirm(id);
        Refusal::GivenUp(event)
    }

    /// The refused events to send again, still waiting for confirmation.
    fn retries(&mut self) -> Vec<Event> {
        let ids = std::mem::take(&mut self.to_retry);
        ids.iter()
            .filter_map(|id| self.events.get(id).map(|(event, _)| event.clone()))
            .collect()
    }

    /// Messages whose events are all confirmed and which a checkpoint covers, in arrival order.
    /// (A second copy of a message is passed over: one ack is due for both.)
    fn ready(&mut self) -> impl Iterator<Item = Publish> + '_ {
        std::iter::from_fn(|| loop {
            if self.queue.front()?.unconfirmed > 0 || self.first_seq >= self.covered {
                return None;
            }
            let pending = self.queue.pop_front()?;
            self.first_seq += 1;
            if pending.ack {
                self.ids_to_ack.remove(&pending.publish.pkid);
                return Some(pending.publish);
            }
        })
    }

    /// Every unconfirmed event, oldest first, to send again after a reconnect (the refused
    /// ones among them too, so none is due again at the next tick).
    fn unconfirmed(&mut self) -> Vec<Event> {
        self.to_retry.clear();
        self.waiting()
    }

    /// Every unconfirmed event, oldest first.
    fn waiting(&self) -> Vec<Event> {
        let mut events: Vec<_> = self
            .events
            .values()
            .map(|(event, _)| event.clone())
            .collect();
        // ULIDs sort by the time the events occurred.
        events.sort_by(|a, b| a.id.cmp(&b.id));
        events
    }

    fn depth(&self) -> usize {
        self.events.len()
    }

    /// Telemetry messages waiting for their events, or behind one that does.
    fn held(&self) -> usize {
        self.queue.len()
    }
}

/// The XMPP session in the rooms, and the queue of events its poster task sends.
struct Rooms {
    handle: Handle,
    events: mpsc::Receiver<XmppEvent>,
    outgoing: mpsc::UnboundedSender<Event>,
}

async fn join(args: &GatewayArgs) -> anyhow::Result<Rooms> {
    let rooms: Vec<String> = contract::EVENT_ROOMS.iter().map(|r| room_jid(r)).collect();
    let (handle, events, _) = join_rooms(&args.xmpp, &rooms, &args.nick, History::None).await?;
    let (outgoing, queue) = mpsc::unbounded_channel();
    tokio::spawn(post(handle.clone(), queue));
    Ok(Rooms {
        handle,
        events,
        outgoing,
    })
}

/// Whether a failed join may succeed later: the server down or restarting, not a refusal.
fn transient(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<vigie_xmpp::Error>())
        .is_none_or(vigie_xmpp::Error::is_transient)
}

/// Hands the detectors the incidents a previous run left open, read back from the rooms;
/// returns the events that supersede some of them. Detecting matters more than tidying up
/// after a previous run: an archive that cannot be read is only a warning.
async fn take_over(joined: &mut Rooms, detector: &mut Detector) -> Vec<Event> {
    match left_open(joined, now_ms()).await {
        Ok(open) => {
            let superseded: Vec<Event> = open
                .iter()
                .filter_map(|incident| detector.adopt(incident))
                .collect();
            tracing::info!(
                incidents = open.len(),
                superseded = superseded.len(),
                "gateway joined the event rooms and took over the incidents a previous run left open"
            );
            superseded
        }
        Err(error) => {
            tracing::warn!(
                %error,
                "cannot read back the incidents a previous run left open; they stay open"
            );
            Vec::new()
        }
    }
}

/// How far back, at start, the gateway reads the archive of each kind's room for incidents a
/// previous run left open. A jam lasts as long as its traffic. An accident times out 15 minutes
/// after it opened, but only while a gateway runs: one left open by a gateway that was down
/// longer than that is taken over like the others and times out at the first fix.
const ADOPTION_WINDOWS: [(EventKind, Duration); 2] = [
    (EventKind::Accident, Duration::from_secs(24 * 3600)),
    (EventKind::Jam, Duration::from_secs(24 * 3600)),
];

/// Archive results per query; Prosody caps them (`max_archive_query_results`).
const ARCHIVE_PAGE: u32 = 250;

/// The accidents and jams a previous run of the gateway posted and never cleared, read from
/// the rooms' archives: without them a restart would leave them open for ever.
async fn left_open(rooms: &mut Rooms, now_ms: i64) -> anyhow::Result<Vec<Event>> {
    let mut posted = Vec::new();
    for (kind, window) in ADOPTION_WINDOWS {
        let since = crate::detect::time_of(now_ms) - window;
        posted.extend(
            posted_events(
                &rooms.handle,
                &mut rooms.events,
                room_for(kind),
                Some(vigie_model::event::format_time(since)),
            )
            .await?,
        );
    }
    Ok(still_open(posted))
}

/// The events the gateway posted to `room`, read back from its archive (XEP-0313) in the order
/// posted, from `start` (an XEP-0082 time) or from the beginning. Other messages are skipped;
/// a malformed event is an error. Reads `events` until the archive is read, dropping what else
/// arrives meanwhile.
pub async fn posted_events(
    handle: &Handle,
    events: &mut mpsc::Receiver<XmppEvent>,
    room: &str,
    start: Option<String>,
) -> anyhow::Result<Vec<Event>> {
    let mut posted = Vec::new();
    let mut after_id = None;
    loop {
        let query = ArchiveQuery {
            after_id,
            start: start.clone(),
            max: Some(ARCHIVE_PAGE),
            ..ArchiveQuery::default()
        };
        let asked = handle.query_room_archive(&room_jid(room), query).await?;
        let page = loop {
            match events.recv().await.context("XMPP session ended")? {
                XmppEvent::ArchivedMessage { query_id, message }
                    if query_id == asked && message.nick == NICK =>
                {
                    if let Some(event) = Event::find_in(&message.payloads) {
                        posted.push(event.with_context(|| format!("an event in {room}"))?);
                    }
                }
                XmppEvent::ArchiveQueryDone { query_id, result } if query_id == asked => {
                    break result.with_context(|| format!("reading the archive of {room}"))?;
                }
                _ => {}
            }
        };
        if page.complete || page.last_id.is_none() {
            return Ok(posted);
        }
        after_id = page.last_id;
    }
}

/// Posts queued events to their rooms, in order. A task of its own: posting waits for the XMPP
/// driver, which waits for `run` to read the reflections, so `run` must never wait for posting.
/// The queue needs no bound of its own: events wait for confirmation in the outbox, and the
/// MQTT acks they hold back stop the broker (its in-flight window) from sending more telemetry.
/// What cannot be sent stays in the outbox for the next session.
async fn post(handle: Handle, mut queue: mpsc::UnboundedReceiver<Event>) {
    let mut failed = 0u64;
    while let Some(event) = queue.recv().await {
        let room = room_jid(room_for(event.kind));
        let sent = handle
            .send_groupchat_with_id(&room, &event.id, &event.body(), Some(event.to_element()))
            .await;
        if let Err(error) = sent {
            failed += 1;
            if failed == 1 {
                tracing::warn!(%error, event = %event.id, %room, "events kept in the outbox");
            }
        }
    }
    if failed > 0 {
        tracing::warn!(
            failed,
            "events not sent in this XMPP session; kept in the outbox"
        );
    }
}

/// Queues events for posting; without a session they simply stay in the outbox.
fn send_all(rooms: Option<&Rooms>, events: &[Event]) {
    let Some(rooms) = rooms else { return };
    for event in events {
        // A closed queue means the session is going: the outbox keeps the event.
        let _ = rooms.outgoing.send(event.clone());
    }
}

/// Runs until `shutdown` resolves; returns an error only for what retrying cannot fix.
pub async fn run(
    args: GatewayArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut options = crate::mqtt::options(&args.mqtt_url, &args.mqtt_client_id)?;
    // Oversize payloads must arrive to be counted and acknowledged: a packet over rumqttc's
    // limit would end the connection and come back forever from the persistent session.
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(15))
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
    let (mqtt, mut eventloop) = AsyncClient::new(options, 1024);
    mqtt.subscribe(TELEMETRY_FILTER, QoS::AtLeastOnce).await?;

    // A server still starting is waited for (telemetry stays in the broker meanwhile); only
    // what retrying cannot fix, such as a refused login, ends the program.
    let mut rooms = match join(&args).await {
        Ok(joined) => Some(joined),
        Err(error) if transient(&error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "XMPP unreachable at start; retrying"
            );
            None
        }
        Err(error) => return Err(error),
    };
    let city = match &args.city {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the city {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("the city {} is not valid", path.display()))?
        }
        None => City::builtin(),
    };
    let mut emitted_log = match &args.emitted_log {
        Some(path) => Some(
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?,
        ),
        None => None,
    };
    let mut detection = Detection {
        detector: Detector::new(city, Thresholds::default()),
        admission: Admission::default(),
        latest_ms: 0,
        expired_ms: 0,
    };
    let mut stats = Stats::default();
    let mut checkpoints = args.state.clone().map(Checkpoints::new);
    let (mut outbox, restored) = match &args.state {
        Some(path) => (Outbox::acked_when_covered(), restore(path, &mut detection)),
        None => (Outbox::acked_when_confirmed(), None),
    };
    // Restored, the detectors know the incidents left open; otherwise they are taken over from
    // the rooms, once, at the first join, before any telemetry is read.
    let mut taken_over = restored.is_some();
    let unconfirmed = outbox.push_unprompted(restored.unwrap_or_default());
    send_all(rooms.as_ref(), &unconfirmed);
    if let Some(joined) = rooms.as_mut().filter(|_| !taken_over) {
        taken_over = true;
        let superseded = outbox.push_unprompted(take_over(joined, &mut detection.detector).await);
        stats.events(&superseded);
        send_all(rooms.as_ref(), &superseded);
    }
    let mut tick = tokio::time::interval(TICK);
    let mut checkpoint_tick = tokio::time::interval(CHECKPOINT_PERIOD);
    let mut reconnect_attempt = 0;
    // When to try joining again: a deadline, not a delay, since every turn of the loop (a
    // checkpoint period, a tick) would start a delay anew.
    let mut rejoin_at = rooms.is_none().then(|| Instant::now() + backoff(0));
    let mut acks = VecDeque::new();
    tokio::pin!(shutdown);

    loop {
        // Hold telemetry back while the rooms are away or behind: the broker keeps it for us.
        let connected = rooms.is_some();
        let reading = connected && outbox.held() < MAX_HELD;
        if connected {
            // The rest of what the last poll read, as one batch, so that its acks leave in one
            // write rather than one per message.
            let now = now_ms();
            while let Some(event) = eventloop.state.events.pop_front() {
                if let rumqttc::Event::Incoming(Packet::Publish(publish)) = event {
                    let mut handle = Handling {
                        detection: &mut detection,
                        outbox: &mut outbox,
                        stats: &mut stats,
                        acks: &mut acks,
                    };
                    handle.telemetry(publish, rooms.as_ref(), now);
                }
            }
            if let Some(checkpoints) = &mut checkpoints {
                let checkpoint = || detection.checkpoint(outbox.waiting());
                let progress = (outbox.handled(), outbox.held());
                checkpoints.write_if_due(progress, false, Instant::now(), checkpoint);
            }
        }
        let acked = send_acks(&mqtt, &mut eventloop.state, &mut acks);
        stats.acked(acked);
        tokio::select! {
            () = &mut shutdown => break,
            polled = eventloop.poll(), if reading => match polled {
                Ok(rumqttc::Event::Incoming(Packet::Publish(publish))) => {
                    let mut handle = Handling { detection: &mut detection, outbox: &mut outbox, stats: &mut stats, acks: &mut acks };
                    handle.telemetry(publish, rooms.as_ref(), now_ms());
                }
                Ok(rumqttc::Event::Incoming(Packet::ConnAck(ack))) => {
                    tracing::info!(session_present = ack.session_present, "connected to the MQTT broker");
                    if !ack.session_present {
                        mqtt.try_subscribe(TELEMETRY_FILTER, QoS::AtLeastOnce)?;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "MQTT connection lost; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            xmpp = next_xmpp(&mut rooms) => match xmpp {
                Some(XmppEvent::GroupchatMessage(message)) if message.nick == args.nick => {
                    let id = message.origin_id.as_deref().or(message.id.as_deref()).unwrap_or_default();
                    if outbox.confirm(id) {
                        if let Some(log) = &mut emitted_log {
                            if let Err(error) = writeln!(log, "{id}") {
                                tracing::error!(%error, "cannot append to the emitted log");
                            }
                        }
                        acks.extend(outbox.ready());
                    }
                }
                Some(XmppEvent::MessageError { id, error, .. }) => {
                    let condition = error.condition;
                    match outbox.refuse(id.as_deref().unwrap_or_default()) {
                        Refusal::Retry => tracing::warn!(?id, %condition, "a room refused an event; sending it again"),
                        Refusal::GivenUp(event) => {
                            tracing::error!(?id, %condition, ?event, "a room refused an event {MAX_REFUSALS} times; given up");
                            stats.refused();
                            acks.extend(outbox.ready());
                        }
                        Refusal::Unknown => tracing::error!(?id, %condition, "a room refused a message"),
                    }
                }
                Some(XmppEvent::Disconnected { error }) => {
                    tracing::warn!(?error, "XMPP session lost");
                    rooms = None;
                    rejoin_at = Some(Instant::now() + backoff(0));
                }
                Some(XmppEvent::ConnectionLost { error, .. }) => {
                    tracing::warn!(%error, "XMPP connection lost");
                }
                None => {
                    tracing::warn!("XMPP session lost");
                    rooms = None;
                    rejoin_at = Some(Instant::now() + backoff(0));
                }
                Some(_) => {}
            },
            () = deadline(rejoin_at) => {
                match join(&args).await {
                    Ok(mut joined) => {
                        reconnect_attempt = 0;
                        rejoin_at = None;
                        if !std::mem::replace(&mut taken_over, true) {
                            let superseded = outbox.push_unprompted(take_over(&mut joined, &mut detection.detector).await);
                            stats.events(&superseded);
                        }
                        let resend = outbox.unconfirmed();
                        tracing::info!(outbox = resend.len(), "XMPP session back; sending the outbox");
                        send_all(Some(&joined), &resend);
                        rooms = Some(joined);
                    }
                    Err(error) => {
                        reconnect_attempt += 1;
                        rejoin_at = Some(Instant::now() + backoff(reconnect_attempt));
                        tracing::warn!(%error, attempt = reconnect_attempt, "XMPP reconnect failed");
                    }
                }
            },
            Some(covered) = checkpoint_written(&mut checkpoints) => {
                outbox.cover(covered);
                acks.extend(outbox.ready());
            }
            _ = checkpoint_tick.tick(), if checkpoints.is_some() => {
                if let Some(checkpoints) = &mut checkpoints {
                    let checkpoint = || detection.checkpoint(outbox.waiting());
                    let progress = (outbox.handled(), outbox.held());
                    checkpoints.write_if_due(progress, true, Instant::now(), checkpoint);
                }
            }
            _ = tick.tick() => {
                if detection.latest_ms > 0 {
                    stats.set_lag(now_ms() - detection.latest_ms);
                }
                if rooms.is_some() {
                    send_all(rooms.as_ref(), &outbox.retries());
                }
                stats.set_outbox_depth(outbox.depth());
                stats.log();
            }
        }
    }
    if let Some(joined) = rooms {
        // Reflections nobody reads any more must not hold the XMPP driver up while it closes.
        drop(joined.events);
        joined.handle.close().await;
    }
    // Nothing polls the event loop any more: a full request channel must not hold us here.
    mqtt.try_disconnect().ok();
    Ok(())
}

/// What handling one telemetry message touches.
struct Handling<'a> {
    detection: &'a mut Detection,
    outbox: &'a mut Outbox,
    stats: &'a mut Stats,
    acks: &'a mut VecDeque<Publish>,
}

impl Handling<'_> {
    /// Admits and detects on one message, sends the events it caused and queues the acks that
    /// became due.
    fn telemetry(&mut self, publish: Publish, rooms: Option<&Rooms>, now_ms: i64) {
        let events = match self.detection.telemetry(&publish, now_ms) {
            Ok(events) => {
                self.stats.receive();
                events
            }
            Err(reason) => {
                self.stats.reject(reason);
                Vec::new()
            }
        };
        let events = self.outbox.push(publish, events);
        self.stats.events(&events);
        send_all(rooms, &events);
        self.acks.extend(self.outbox.ready());
    }
}

/// The checkpoint at `path` restored into `detection`; returns the events it held unconfirmed,
/// or `None` if there was no usable checkpoint (the gateway then starts afresh: a checkpoint of
/// another city or version, or a damaged one, is worth less than a running gateway).
fn restore(path: &std::path::Path, detection: &mut Detection) -> Option<Vec<Event>> {
    let restored = checkpoint::read(path).and_then(|checkpoint| match checkpoint {
        Some(checkpoint) => detection.restore(checkpoint).map(Some),
        None => Ok(None),
    });
    match restored {
        Ok(Some(unconfirmed)) => {
            tracing::info!(path = %path.display(), unconfirmed = unconfirmed.len(), "going on from the checkpoint");
            Some(unconfirmed)
        }
        Ok(None) => None,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "cannot go on from the checkpoint; starting afresh"
            );
            None
        }
    }
}

async fn next_xmpp(rooms: &mut Option<Rooms>) -> Option<XmppEvent> {
    match rooms {
        Some(joined) => joined.events.recv().await,
        None => std::future::pending().await,
    }
}

async fn deadline(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Sends acks, in order. rumqttc writes each ack from its request channel with a write of its
/// own; so all but the last go straight into the event loop's write buffer, and the last through
/// the channel, whose handling writes the whole buffer at once. If the channel is full, the last
/// waits for the next turn of `run`'s loop (the buffer leaves with the next write anyway). An ack
/// is never dropped: a lost one would keep a message in the broker's in-flight window until the
/// next reconnect, and enough of them stall delivery altogether. Returns how many were sent.
fn send_acks(mqtt: &AsyncClient, state: &mut MqttState, acks: &mut VecDeque<Publish>) -> usize {
    let before = acks.len();
    while acks.len() > 1 {
        let Some(publish) = acks.front() else { break };
        let request = match publish.qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => Some(Request::PubAck(PubAck::new(publish.pkid))),
            QoS::ExactlyOnce => Some(Request::PubRec(PubRec::new(publish.pkid))),
        };
        if let Some(request) = request {
            if state.handle_outgoing_packet(request).is_err() {
                break; // an ack is never too big; the channel will take it
            }
        }
        acks.pop_front();
    }
    while let Some(publish) = acks.front() {
        if mqtt.try_ack(publish).is_err() {
            break;
        }
        acks.pop_front();
    }
    before - acks.len()
}

/// The vehicle and its fix, or the reason the message is rejected.
fn decode(publish: &Publish) -> Result<(&str, Telemetry), &'static str> {
    let vehicle = vehicle_of_topic(&publish.topic).ok_or("topic")?;
    let fix = Telemetry::decode(&publish.payload).map_err(|e| e.reason())?;
    Ok((vehicle, fix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::time_of;
    use std::collections::HashSet;
    use vigie_model::{EventKind, Severity, Status};

    #[tokio::test]
    async fn a_checkpoint_waits_until_the_loop_has_had_its_share_of_time() {
        let folder = vigie_stack::StateDir::temporary("checkpoint-share").unwrap();
        let mut checkpoints = Checkpoints::new(folder.path().join("gateway.state"));
        let slow = || {
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_millis(3) {}
            Ok(b"state".to_vec())
        };
        let start = Instant::now();
        checkpoints.write_if_due((1, 1), true, start, slow);
        assert_eq!(checkpoints.written().await, Some(1));
        let cost = checkpoints.cost;
        assert!(cost >= Duration::from_millis(3), "{cost:?}");

        let many = CHECKPOINT_EVERY * 2;
        let too_soon = start + cost * CHECKPOINT_SHARE - Duration::from_micros(1);
        let reading = (many, MAX_HELD - 1);
        checkpoints.write_if_due(reading, true, too_soon, || panic!("serialized too soon"));
        assert!(checkpoints.writing.is_none());
        let rested = start + cost * CHECKPOINT_SHARE;
        checkpoints.write_if_due(reading, false, rested, || Ok(b"state".to_vec()));
        assert_eq!(checkpoints.written().await, Some(many));

        // Reading stopped: nothing to leave time for, so no waiting.
        let stopped = (many + 1, MAX_HELD);
        checkpoints.write_if_due(stopped, true, rested, || Ok(b"state".to_vec()));
        assert_eq!(checkpoints.written().await, Some(many + 1));
    }

    fn publish(n: u16) -> Publish {
        let mut publish = Publish::new("vigie/vehicles/v1/telemetry", QoS::AtLeastOnce, vec![]);
        publish.pkid = n;
        publish
    }

    fn event(id: &str) -> Event {
        Event {
            id: id.into(),
            incident: id.into(),
            kind: EventKind::Accident,
            status: Status::Open,
            severity: Severity::Major,
            zone: None,
            road: None,
            vehicles: vec!["v1".into()],
            lat: 45.0,
            lon: 4.0,
            occurred_at: time_of(0),
            detail: String::new(),
        }
    }

    fn ids(events: &[Event]) -> Vec<&str> {
        events.iter().map(|event| event.id.as_str()).collect()
    }

    fn pkids(publishes: impl Iterator<Item = Publish>) -> Vec<u16> {
        publishes.map(|p| p.pkid).collect()
    }

    #[test]
    fn acks_wait_for_confirmation_and_keep_arrival_order() {
        let mut outbox = Outbox::acked_when_confirmed();
        outbox.push(publish(1), vec![event("A"), event("B")]);
        outbox.push(publish(2), vec![]);
        outbox.push(publish(3), vec![event("C")]);
        assert_eq!(pkids(outbox.ready()), [] as [u16; 0]);
        assert_eq!(
            outbox.held(),
            3,
            "message 2 caused nothing but waits behind message 1"
        );
        assert!(outbox.confirm("C"));
        assert!(outbox.confirm("A"));
        assert_eq!(
            pkids(outbox.ready()),
            [] as [u16; 0],
            "B still holds message 1 back"
        );
        assert_eq!(outbox.held(), 3);
        assert!(outbox.confirm("B"));
        assert_eq!(pkids(outbox.ready()), [1, 2, 3]);
        assert_eq!(outbox.held(), 0);
        assert!(!outbox.confirm("B"), "a second reflection confirms nothing");
        assert_eq!(outbox.depth(), 0);
    }

    #[test]
    fn a_refused_event_is_sent_again_then_given_up_so_it_holds_nothing_back_for_ever() {
        let mut outbox = Outbox::acked_when_confirmed();
        outbox.push(publish(1), vec![event("A")]);
        outbox.push(publish(2), vec![]);
        assert_eq!(outbox.refuse("unknown"), Refusal::Unknown);
        for _ in 1..MAX_REFUSALS {
            assert_eq!(outbox.refuse("A"), Refusal::Retry);
            assert_eq!(ids(&outbox.retries()), ["A"]);
            assert!(outbox.retries().is_empty(), "due once per refusal");
        }
        assert_eq!(pkids(outbox.ready()), [] as [u16; 0]);
        assert_eq!(outbox.refuse("A"), Refusal::GivenUp(event("A")));
        assert_eq!(pkids(outbox.ready()), [1, 2]);
        assert_eq!((outbox.depth(), outbox.held()), (0, 0));
        assert!(!outbox.confirm("A"), "a late reflection confirms nothing");
    }

    #[test]
    fn a_refusal_then_a_reconnect_sends_the_event_once_and_a_confirmation_clears_it() {
        let mut outbox = Outbox::acked_when_confirmed();
        outbox.push(publish(1), vec![event("A")]);
        assert_eq!(outbox.refuse("A"), Refusal::Retry);
        assert_eq!(ids(&outbox.unconfirmed()), ["A"]);
        assert!(outbox.retries().is_empty(), "the reconnect sent it already");
        assert!(outbox.confirm("A"));
        assert_eq!(pkids(outbox.ready()), [1]);
        assert_eq!(outbox.refuse("A"), Refusal::Unknown);
    }

    #[test]
    fn far_future_and_out_of_order_fixes_are_rejected_by_reason() {
        let now = 1_800_000_000_000;
        let mut admission = Admission::default();
        assert_eq!(admission.admit("v1", now, now), Ok(()));
        assert_eq!(
            admission.admit("v1", now + MAX_AHEAD_MS + 1, now),
            Err("future")
        );
        assert_eq!(admission.admit("v1", now - 1, now), Err("out_of_order"));
        assert_eq!(
            admission.admit("v1", now, now),
            Err("out_of_order"),
            "a repeat"
        );
        assert_eq!(admission.admit("v1", now + 1000, now), Ok(()));
        assert_eq!(
            admission.admit("v2", now - 60_000, now),
            Ok(()),
            "per vehicle"
        );
        // Skew within the allowance is accepted; the rejected future fix moved nothing.
        assert_eq!(admission.admit("v2", now + MAX_AHEAD_MS, now), Ok(()));
    }

    #[test]
    fn with_checkpoints_a_message_is_acknowledged_once_confirmed_and_covered() {
        let mut outbox = Outbox::acked_when_covered();
        outbox.push(publish(1), vec![]);
        outbox.push(publish(2), vec![event("A")]);
        outbox.push(publish(3), vec![]);
        assert_eq!(outbox.handled(), 3);
        assert_eq!(pkids(outbox.ready()), [] as [u16; 0], "no checkpoint yet");
        outbox.cover(2);
        assert_eq!(pkids(outbox.ready()), [1], "2 waits for its event");
        assert!(outbox.confirm("A"));
        assert_eq!(pkids(outbox.ready()), [2], "3 is not covered yet");
        outbox.cover(1);
        assert_eq!(
            pkids(outbox.ready()),
            [] as [u16; 0],
            "a cover never goes back"
        );
        outbox.cover(3);
        assert_eq!(pkids(outbox.ready()), [3]);
    }

    /// A gateway's telemetry: a seeded fleet with a crash, a stationary jam and zone crossings,
    /// plus a vehicle that brakes hard and stays stopped (an accident without a crash flag).
    fn telemetry_stream() -> Vec<Publish> {
        use crate::fleet::{Crash, Fleet, Jam, Scenario};
        use vigie_model::contract::telemetry_topic;
        const START_MS: i64 = 1_700_000_000_000;
        let scenario = Scenario {
            crashes: vec![Crash {
                vehicle: 1,
                at_ms: 5_000,
                stopped_for_ms: 20_000,
            }],
            jams: vec![Jam {
                road: "ring-north".into(),
                at_ms: 5_000,
                lasting_ms: 40_000,
                speed_fraction: 0.05,
            }],
            repeat_every_ms: None,
        };
        let mut fleet = Fleet::new(&City::builtin(), 11, 3, scenario, START_MS);
        let mut stream = Vec::new();
        for tick in 0..=220 {
            let elapsed_ms = tick * 500;
            let mut fixes = fleet.tick(elapsed_ms);
            let speed_kmh = if elapsed_ms < 30_000 { 50.0 } else { 0.0 };
            let braking = Telemetry {
                ts: START_MS + elapsed_ms,
                lat: 45.76,
                lon: 4.835,
                speed_kmh,
                heading: 90.0,
                flags: Vec::new(),
            };
            fixes.push(("brakes".into(), braking));
            for (vehicle, fix) in fixes {
                let topic = telemetry_topic(&vehicle);
                stream.push(Publish::new(topic, QoS::AtLeastOnce, fix.encode()));
            }
        }
        stream
    }

    fn detection() -> Detection {
        Detection {
            detector: Detector::new(City::builtin(), Thresholds::default()),
            admission: Admission::default(),
            latest_ms: 0,
            expired_ms: 0,
        }
    }

    fn detect(detection: &mut Detection, messages: &[Publish]) -> Vec<Event> {
        const NOW_MS: i64 = 1_800_000_000_000;
        let events = messages.iter().map(|m| detection.telemetry(m, NOW_MS));
        events.flat_map(Result::unwrap_or_default).collect()
    }

    /// The checkpoints' contract: a gateway restarted from any checkpoint, given again what the
    /// broker had not had acknowledged, emits exactly what an uninterrupted one does, ids
    /// included; one restarted without it loses or changes events.
    #[test]
    fn a_gateway_restarted_from_any_checkpoint_emits_what_an_uninterrupted_one_does() {
        let stream = telemetry_stream();
        let uninterrupted = detect(&mut detection(), &stream);
        let kinds: HashSet<EventKind> = uninterrupted.iter().map(|e| e.kind).collect();
        assert_eq!(kinds.len(), 4, "every kind: {uninterrupted:#?}");
        let accidents = uninterrupted
            .iter()
            .filter(|e| e.kind == EventKind::Accident);
        let braked = accidents.filter(|e| e.vehicles == ["brakes"]).count();
        assert_eq!(
            braked, 1,
            "the hard brake opens an accident: {uninterrupted:#?}"
        );
        let mut forgetful = 0;
        for split in (0..stream.len()).step_by(11) {
            let mut before = detection();
            let mut events = detect(&mut before, &stream[..split]);
            let saved = before.checkpoint(Vec::new()).unwrap();
            let mut after = detection();
            let unconfirmed = after
                .restore(Checkpoint::from_bytes(&saved).unwrap())
                .unwrap();
            assert!(unconfirmed.is_empty());
            // The broker delivers again the messages not acknowledged before the crash: some
            // before the checkpoint too.
            events.extend(detect(&mut after, &stream[split.saturating_sub(120)..]));
            assert_eq!(events, uninterrupted, "restarted at message {split}");

            let mut without = detect(&mut detection(), &stream[..split]);
            without.extend(detect(&mut detection(), &stream[split..]));
            forgetful += usize::from(without != uninterrupted);
        }
        assert!(
            forgetful > 20,
            "without a checkpoint, restarts lose detections: {forgetful}"
        );
    }

    #[test]
    fn an_event_detected_again_while_it_waits_is_confirmed_once_and_holds_nothing_for_ever() {
        let mut outbox = Outbox::acked_when_confirmed();
        outbox.push_unprompted(vec![event("A")]);
        assert_eq!(ids(&outbox.push(publish(1), vec![event("A")])), ["A"]);
        assert_eq!(
            pkids(outbox.ready()),
            [1],
            "A waits already, for no message"
        );
        outbox.push(publish(2), vec![event("B"), event("B")]);
        outbox.push(publish(3), vec![event("B")]);
        assert!(outbox.confirm("B"));
        assert_eq!(pkids(outbox.ready()), [2, 3]);
        assert!(outbox.confirm("A"));
        assert_eq!((outbox.depth(), outbox.held()), (0, 0));
    }

    #[test]
    fn a_message_delivered_again_while_held_is_acknowledged_once() {
        let mut outbox = Outbox::acked_when_confirmed();
        outbox.push(publish(1), vec![event("A")]);
        outbox.push(publish(2), vec![]);
        // After a reconnect the broker sends message 1 again, under its packet id.
        outbox.push(publish(1), vec![]);
        outbox.confirm("A");
        assert_eq!(
            pkids(outbox.ready()),
            [1, 2],
            "one ack for both copies of 1"
        );
        // Acknowledged, the id is free: the broker may give it to a new message.
        outbox.push(publish(1), vec![]);
        assert_eq!(pkids(outbox.ready()), [1]);
        assert_eq!(outbox.held(), 0);
    }

    #[test]
    fn unconfirmed_events_are_resent_oldest_first() {
        let mut outbox = Outbox::acked_when_confirmed();
        outbox.push(publish(1), vec![event("01B"), event("01A")]);
        outbox.push_unprompted(vec![event("01C")]);
        outbox.confirm("01B");
        let ids: Vec<String> = outbox.unconfirmed().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["01A", "01C"]);
        outbox.confirm("01A");
        assert_eq!(pkids(outbox.ready()), [1]);
    }
}
