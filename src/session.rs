//! The viewer's XMPP session: anonymous login, the event rooms joined, events into the feed,
//! and reconnection with backoff, over WebSocket or, where WebSockets are blocked, BOSH (see
//! [`Fallback`]). Every attempt is a new client: each room's archive cursor is carried over,
//! so the core fills the gap from the room's archive (XEP-0313) and the missed events come
//! once, as live ones (the feed also drops any repeat). The open incidents are loaded from the
//! REST API at start and after each reconnection, since the rooms' histories hold only their
//! latest events.

use std::collections::HashMap;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use leptos::task::spawn_local;
use vigie_dashboard::transport::{self, Connection, Endpoint, Fallback, Kind, Retry};
use vigie_model::contract::CONFIG_ELEMENT_ID;
use vigie_model::Event;
use vigie_xmpp::{Backoff, ClientConfig, Event as XmppEvent, History};
use web_time::Instant;

use crate::api;
use crate::feed::{Batch, Feed};
use crate::json;
use crate::open::OpenIncidents;

/// The client configuration the server inlined in the page (what `/api/v1/config` answers):
/// with it, the session starts before the page is even built, with no request first. `None`
/// where the page came from elsewhere (e.g. `trunk serve`).
pub fn config_in_page() -> Option<Result<api::ClientConfig, String>> {
    let text = document()
        .get_element_by_id(CONFIG_ELEMENT_ID)?
        .text_content()?;
    Some(
        json::parse(&text)
            .and_then(|config| api::read_config(&config))
            .map_err(|error| ["the page's configuration: ", &error].concat()),
    )
}

/// What the connection indicator shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Connecting(Kind),
    /// Logged in, the event rooms asked for.
    Joining(Kind),
    Online {
        transport: Kind,
        rooms: usize,
    },
    /// Attempt `attempt` starts at `at`.
    Reconnecting {
        attempt: u32,
        at: Instant,
    },
    Failed(String),
}

/// Room history asked for on join, so a new viewer sees the latest events at once.
const HISTORY: u32 = 20;

/// Events reach the feed at most this often, in batches: at 100 events/s the page renders ten
/// times a second, not a hundred.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The rooms' histories are shown by then even if one never ended.
const HISTORIES_AT_THE_LATEST: Duration = Duration::from_secs(2);

/// The signals a session writes.
#[derive(Clone, Copy)]
pub struct Session {
    pub feed: RwSignal<Feed>,
    /// Apart from the feed, whose bounded buffer forgets an incident that is still open.
    pub open: RwSignal<OpenIncidents>,
    pub link: RwSignal<Link>,
    /// Bumped on every new live event, so the history refreshes.
    pub live_events: RwSignal<u64>,
    /// Events received and not yet in the feed, with whether they arrived live.
    pending: StoredValue<Batch<(Event, bool)>, LocalStorage>,
    /// The open connection; only this keeps it alive (its callbacks hold it weakly).
    connection: StoredValue<Option<Connection>, LocalStorage>,
    fallback: StoredValue<Fallback, LocalStorage>,
    /// Per room, the archive id of the newest event shown, kept across connections.
    cursors: StoredValue<HashMap<String, String>, LocalStorage>,
}

impl Session {
    pub fn new() -> Session {
        Session {
            feed: RwSignal::new(Feed::new(500)),
            open: RwSignal::new(OpenIncidents::default()),
            link: RwSignal::new(Link::Connecting(Kind::WebSocket)),
            live_events: RwSignal::new(0),
            pending: StoredValue::new_local(Batch::default()),
            connection: StoredValue::new_local(None),
            fallback: StoredValue::new_local(Fallback::default()),
            cursors: StoredValue::new_local(HashMap::new()),
        }
    }

    /// Connects with `config`, and again after every loss.
    pub fn start(self, config: api::ClientConfig) {
        let kind = self.fallback.with_value(Fallback::preferred);
        self.connect(config, kind, 0);
    }

    /// `failures`: attempts that failed since the session was last online.
    fn connect(self, config: api::ClientConfig, kind: Kind, failures: u32) {
        self.link.set(Link::Connecting(kind));
        let url = match kind {
            Kind::WebSocket => config.websocket_url.clone(),
            Kind::Bosh => config.bosh_url.clone(),
        };
        let rooms: Vec<String> = config
            .event_rooms
            .iter()
            .map(|room| format!("{room}@{}", config.muc_service))
            .collect();
        // Rooms with a cursor are rejoined without room history: their archive fills the
        // gap, so whatever comes delayed there was missed, and is shown as live.
        let cursors = self.cursors.get_value();
        let xmpp = ClientConfig {
            catch_up: true,
            ..ClientConfig::anonymous(&config.anonymous_domain)
        };
        let retry_config = config.clone();
        let opened =
            Connection::open(
                Endpoint { kind, url },
                xmpp,
                move |connection, event| match event {
                    XmppEvent::Online { .. } => {
                        self.fallback.update_value(|fallback| fallback.online(kind));
                        self.link.set(Link::Joining(kind));
                        self.await_histories(rooms.len());
                        let nick = viewer_nick();
                        for room in &rooms {
                            let _ = connection.with_client(|c| join(c, room, &nick, &cursors));
                        }
                        // What opened long ago and got buried in the rooms, or cleared while
                        // we were away, is the API's to tell; asked once the joins are out,
                        // so the page's way to live does not wait behind it.
                        self.load_open_incidents();
                    }
                    // Another viewer holds the nick drawn: draw again.
                    XmppEvent::RoomJoinFailed { room, error } if error.condition == "conflict" => {
                        let _ =
                            connection.with_client(|c| join(c, &room, &viewer_nick(), &cursors));
                    }
                    XmppEvent::RoomJoinFailed { room, error } => {
                        leptos::logging::warn!("cannot join {room}: {}", error.condition)
                    }
                    XmppEvent::RoomJoined { .. } => self.link.update(|link| {
                        *link = match link {
                            Link::Online { rooms, .. } => Link::Online {
                                transport: kind,
                                rooms: *rooms + 1,
                            },
                            _ => Link::Online {
                                transport: kind,
                                rooms: 1,
                            },
                        }
                    }),
                    XmppEvent::GroupchatMessage(message) => {
                        if let Some(Ok(event)) = Event::find_in(&message.payloads) {
                            let missed = cursors.contains_key(&message.room);
                            self.receive(event, message.delay.is_none() || missed);
                        }
                    }
                    // The subject follows the room's history: once every room joined has
                    // sent its own, show them all in one render, not at the next batch.
                    XmppEvent::RoomSubject { .. }
                        if self.pending.try_update_value(Batch::history_ended) != Some(false) =>
                    {
                        self.flush()
                    }
                    XmppEvent::RoomCaughtUp {
                        room,
                        result: Err(error),
                    } => leptos::logging::warn!("events missed in {room} not recovered: {error}"),
                    XmppEvent::Disconnected { error } => {
                        if let Some(error) = error {
                            leptos::logging::warn!(
                                "XMPP session over {} lost: {error}",
                                kind.label()
                            );
                        }
                        self.stop_awaiting();
                        let was_online = connection.was_online();
                        self.keep_cursors(connection, &rooms);
                        let retry = self
                            .fallback
                            .try_update_value(|fallback| fallback.ended(kind, was_online))
                            .unwrap_or(Retry::AfterBackoff(kind));
                        let config = retry_config.clone();
                        let (next, failures, delay) = match retry {
                            Retry::Now(next) => (next, failures, Duration::ZERO),
                            Retry::AfterBackoff(next) => {
                                let failures = if was_online { 0 } else { failures + 1 };
                                let delay = backoff(failures);
                                self.link.set(Link::Reconnecting {
                                    attempt: failures + 1,
                                    at: Instant::now() + delay,
                                });
                                (next, failures, delay)
                            }
                        };
                        Timeout::new(delay.as_millis() as u32, move || {
                            self.connect(config, next, failures)
                        })
                        .forget();
                    }
                    _ => {}
                },
            );
        self.connection.set_value(Some(opened));
    }
}

/// A nick for an anonymous viewer; visitors' presence is not broadcast, so only moderators see
/// it. One in four billion, and a conflict draws again.
fn viewer_nick() -> String {
    format!(
        "viewer-{:08x}",
        (random_unit() * f64::from(u32::MAX)) as u32
    )
}

/// Joins `room`: with its recent history on a first join; on a rejoin without it, from the
/// archive position reached before (its archive fills the gap).
fn join(
    client: &mut vigie_xmpp::Client,
    room: &str,
    nick: &str,
    cursors: &HashMap<String, String>,
) -> Result<(), vigie_xmpp::Error> {
    match cursors.get(room) {
        Some(cursor) => client
            .join_room(room, nick, History::None)
            .and_then(|()| client.set_archive_cursor(room, cursor)),
        None => client.join_room(room, nick, History::MaxStanzas(HISTORY)),
    }
}

impl Session {
    /// Keeps the archive cursors of the rooms `connection` got to, for the next connection
    /// (one that never got online leaves the previous ones in place).
    fn keep_cursors(self, connection: &Connection, rooms: &[String]) {
        let reached: Vec<(String, String)> = connection.with_client(|client| {
            rooms
                .iter()
                .filter_map(|room| Some((room.clone(), client.archive_cursor(room)?.to_owned())))
                .collect()
        });
        self.cursors.update_value(|cursors| cursors.extend(reached));
    }

    /// Queues the event for the next flush, scheduling one if none is pending.
    fn receive(self, event: Event, live: bool) {
        let schedule = self
            .pending
            .try_update_value(|pending| pending.push((event, live)))
            .unwrap_or(false);
        if schedule {
            set_timeout(move || self.flush(), FLUSH_EVERY);
        }
    }

    /// The histories of `rooms` just joined render together, once the last has ended (or after
    /// HISTORIES_AT_THE_LATEST).
    fn await_histories(self, rooms: usize) {
        self.pending
            .update_value(|pending| pending.await_histories(rooms));
        set_timeout(move || self.stop_awaiting(), HISTORIES_AT_THE_LATEST);
    }

    fn stop_awaiting(self) {
        if self.pending.try_update_value(Batch::stop_awaiting) == Some(true) {
            self.flush();
        }
    }

    /// Folds the open incidents the API lists into [`Session::open`].
    fn load_open_incidents(self) {
        let requested = Instant::now();
        spawn_local(async move {
            match api::open_incidents().await {
                Ok(page) => {
                    let complete = page.next_cursor.is_none();
                    self.open
                        .try_update(|open| open.load(page.incidents, complete, requested));
                }
                Err(error) => leptos::logging::warn!("open incidents not loaded: {error}"),
            }
        });
    }

    /// Applies the queued events in one feed update (one render), one update of the open
    /// incidents if they changed, and one history nudge.
    fn flush(self) {
        let events = self
            .pending
            .try_update_value(Batch::take)
            .unwrap_or_default();
        let now = Instant::now();
        self.open.maybe_update(|open| {
            events.iter().fold(false, |changed, (event, _)| {
                open.apply(event, now) || changed
            })
        });
        let new_live = self
            .feed
            .try_update(|feed| {
                events
                    .into_iter()
                    .map(|(event, live)| feed.accept(event, live) && live)
                    .filter(|&new_live| new_live)
                    .count()
            })
            .unwrap_or(0);
        if new_live > 0 {
            self.live_events.update(|n| *n += 1);
        }
    }
}

/// 1 s doubling to 30 s, with jitter so viewers don't come back all at once.
fn backoff(attempt: u32) -> Duration {
    let steps = Backoff {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(30),
    };
    steps.delay(attempt, u32::from_le_bytes(transport::random_bytes()))
}

fn random_unit() -> f64 {
    f64::from(u16::from_le_bytes(transport::random_bytes())) / f64::from(u16::MAX)
}
