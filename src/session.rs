//! The viewer's XMPP session: anonymous login, the rooms the reader wants joined (the MUC
//! service's list asked at each login, XEP-0030; joins and leaves as the reader asks, see
//! [`Rooms`]), events into the feed, and reconnection with backoff, over WebSocket or, where
//! WebSockets are blocked, BOSH (see [`Fallback`]). Every attempt is a new client: each room's
//! archive cursor is carried over, so the core fills the gap from the room's archive
//! (XEP-0313) and the missed events come once, as live ones (the feed also drops any repeat).
//! The open incidents are loaded from the REST API at start, after each reconnection and after
//! a join, since the rooms' histories hold only their latest events.

use std::collections::HashMap;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use leptos::task::spawn_local;
use vigie_dashboard::transport::{self, Connection, Endpoint, Fallback, Kind, Retry};
use vigie_model::contract::CONFIG_ELEMENT_ID;
use vigie_model::Event;
use vigie_xmpp::{Backoff, ClientConfig, Event as XmppEvent, History, LeaveReason};
use web_time::Instant;

use crate::api;
use crate::feed::{Batch, Feed};
use crate::json;
use crate::open::OpenIncidents;
use crate::remembered;
use crate::rooms::Rooms;

/// Where the rooms the reader chose to be in are remembered (bare JIDs, one a line).
const CHOSEN_ROOMS: &str = "vigie-rooms";

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
    /// The event rooms: listed, joined or not, unread counts, the one shown.
    pub rooms: RwSignal<Rooms>,
    /// Bumped on every new live event, so the history refreshes.
    pub live_events: RwSignal<u64>,
    /// Events received and not yet in the feed: their room, and whether they arrived live.
    pending: StoredValue<Batch<(String, Event, bool)>, LocalStorage>,
    /// Our nick in the rooms, drawn at each login.
    nick: StoredValue<String, LocalStorage>,
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
            rooms: RwSignal::new(Rooms::default()),
            live_events: RwSignal::new(0),
            pending: StoredValue::new_local(Batch::default()),
            nick: StoredValue::new_local(String::new()),
            connection: StoredValue::new_local(None),
            fallback: StoredValue::new_local(Fallback::default()),
            cursors: StoredValue::new_local(HashMap::new()),
        }
    }

    /// Connects with `config`, and again after every loss.
    pub fn start(self, config: api::ClientConfig) {
        let chosen = remembered::recall(CHOSEN_ROOMS)
            .map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>());
        self.rooms.set(Rooms::new(
            &config.muc_service,
            &config.event_rooms,
            &config.ops_room,
            chosen.as_deref(),
        ));
        let kind = self.fallback.with_value(Fallback::preferred);
        self.connect(config, kind, 0);
    }

    /// `failures`: attempts that failed since the session was last online.
    fn connect(self, config: api::ClientConfig, kind: Kind, failures: u32) {
        self.link.set(Link::Connecting(kind));
        let service = config.muc_service.clone();
        let xmpp = ClientConfig {
            catch_up: true,
            ..ClientConfig::anonymous(&config.anonymous_domain)
        };
        let retry_config = config.clone();
        let opened = Connection::open(
            Endpoint::of(&config, kind),
            xmpp,
            move |connection, event| match event {
                XmppEvent::Online { .. } => {
                    self.fallback.update_value(|fallback| fallback.online(kind));
                    let rooms = self.rooms.with_untracked(Rooms::wanted);
                    self.await_histories(rooms.len());
                    let nick = viewer_nick();
                    self.nick.set_value(nick.clone());
                    self.cursors.with_value(|cursors| {
                        for room in &rooms {
                            let _ = connection.with_client(|c| join(c, room, &nick, cursors));
                        }
                    });
                    self.show_link(kind);
                    let _ = connection.with_client(|c| c.list_rooms(&service));
                    // What opened long ago and got buried in the rooms, or cleared while
                    // we were away, is the API's to tell; asked once the joins are out,
                    // so the page's way to live does not wait behind it.
                    self.load_open_incidents();
                }
                // Another viewer holds the nick drawn: draw again.
                XmppEvent::RoomJoinFailed { room, error } if error.condition == "conflict" => {
                    let nick = viewer_nick();
                    self.nick.set_value(nick.clone());
                    let _ = (self.cursors).with_value(|cursors| {
                        connection.with_client(|c| join(c, &room, &nick, cursors))
                    });
                }
                XmppEvent::RoomJoinFailed { room, error } => {
                    leptos::logging::warn!("cannot join {room}: {}", error.condition);
                    self.rooms
                        .update(|rooms| rooms.refused(&room, &error.condition));
                    self.history_ended();
                    self.show_link(kind);
                }
                XmppEvent::RoomJoined { room, .. } => {
                    // Left by the reader while the join was on its way.
                    if self.rooms.try_update(|rooms| rooms.confirmed(&room)) == Some(false) {
                        let _ = connection.with_client(|c| c.leave_room(&room));
                    }
                    self.show_link(kind);
                }
                XmppEvent::RoomLeft { room, reason } => {
                    if let Some(why) = put_out(&reason) {
                        leptos::logging::warn!("out of {room}: {why}");
                        self.rooms.update(|rooms| rooms.refused(&room, why));
                    }
                    self.show_link(kind);
                }
                XmppEvent::RoomList {
                    result: Ok(items), ..
                } => self.rooms.update(|rooms| rooms.discovered(items)),
                XmppEvent::RoomList {
                    result: Err(error), ..
                } => leptos::logging::warn!("the rooms could not be listed: {error}"),
                XmppEvent::GroupchatMessage(message) => {
                    if let Some(Ok(event)) = Event::find_in(&message.payloads) {
                        // Rooms with a cursor were rejoined without room history: their
                        // archive fills the gap, so whatever comes delayed there was
                        // missed, and is shown as live.
                        let missed = (self.cursors)
                            .with_value(|cursors| cursors.contains_key(&message.room));
                        let live = message.delay.is_none() || missed;
                        self.receive(message.room, event, live);
                    }
                }
                // The subject follows the room's history: once every room joined has
                // sent its own, show them all in one render, not at the next batch.
                XmppEvent::RoomSubject { .. } => self.history_ended(),
                XmppEvent::RoomCaughtUp {
                    room,
                    result: Err(error),
                } => leptos::logging::warn!("events missed in {room} not recovered: {error}"),
                XmppEvent::Disconnected { error } => {
                    if let Some(error) = error {
                        leptos::logging::warn!("XMPP session over {} lost: {error}", kind.label());
                    }
                    self.stop_awaiting();
                    let was_online = connection.was_online();
                    self.keep_cursors(connection);
                    self.rooms.update(Rooms::disconnected);
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
    /// Joins `room` for the reader, now if online (else at the next login), and remembers it.
    pub fn join_room(self, room: &str) {
        if self.rooms.try_update(|rooms| rooms.want(room)) != Some(true) {
            return;
        }
        self.remember_rooms();
        self.with_online_client(|client, nick, cursors| join(client, room, nick, cursors));
        // Its incidents were not kept current while out of it.
        self.load_open_incidents();
    }

    /// Leaves `room` for the reader, and remembers it: its cards go, and a later join brings
    /// its history again rather than its archive since.
    pub fn leave_room(self, room: &str) {
        if self.rooms.try_update(|rooms| rooms.leave(room)) != Some(true) {
            return;
        }
        self.remember_rooms();
        self.cursors.update_value(|cursors| {
            cursors.remove(room);
        });
        self.feed.update(|feed| feed.forget_room(room));
        self.with_online_client(|client, _, _| client.leave_room(room));
    }

    /// Runs `command` on the client if the session is online (what it would do otherwise
    /// happens at the next login); a refusal is only logged.
    fn with_online_client(
        self,
        command: impl FnOnce(
            &mut vigie_xmpp::Client,
            &str,
            &HashMap<String, String>,
        ) -> Result<(), vigie_xmpp::Error>,
    ) {
        let nick = self.nick.get_value();
        let result = self.connection.with_value(|connection| {
            let connection = connection.as_ref()?;
            let online = connection.with_client(|client| client.is_online());
            online.then(|| {
                self.cursors.with_value(|cursors| {
                    connection.with_client(|client| command(client, &nick, cursors))
                })
            })
        });
        if let Some(Err(error)) = result {
            leptos::logging::warn!("room command refused: {error}");
        }
    }

    fn remember_rooms(self) {
        let chosen = self.rooms.with_untracked(Rooms::wanted);
        remembered::remember(CHOSEN_ROOMS, &chosen.join("\n"));
    }

    /// The indicator: online once a room is joined, or when none is wanted.
    fn show_link(self, kind: Kind) {
        let (joined, wanted) =
            (self.rooms).with_untracked(|rooms| (rooms.joined(), rooms.wanted().len()));
        self.link.set(if joined > 0 || wanted == 0 {
            Link::Online {
                transport: kind,
                rooms: joined,
            }
        } else {
            Link::Joining(kind)
        });
    }

    /// A room's history is over (or will never come): flush if it was the last awaited.
    fn history_ended(self) {
        if self.pending.try_update_value(Batch::history_ended) == Some(true) {
            self.flush();
        }
    }

    /// Keeps the archive cursors of the rooms `connection` got to, for the next connection
    /// (one that never got online leaves the previous ones in place).
    fn keep_cursors(self, connection: &Connection) {
        let rooms = self.rooms.with_untracked(Rooms::wanted);
        let reached: Vec<(String, String)> = connection.with_client(|client| {
            rooms
                .iter()
                .filter_map(|room| Some((room.clone(), client.archive_cursor(room)?.to_owned())))
                .collect()
        });
        self.cursors.update_value(|cursors| cursors.extend(reached));
    }

    /// Queues the event that came in `room` for the next flush, scheduling one if none is
    /// pending.
    fn receive(self, room: String, event: Event, live: bool) {
        let schedule = self
            .pending
            .try_update_value(|pending| pending.push((room, event, live)))
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
            events.iter().fold(false, |changed, (_, event, _)| {
                open.apply(event, now) || changed
            })
        });
        let new_live: Vec<String> = self
            .feed
            .try_update(|feed| {
                events
                    .into_iter()
                    .filter_map(|(room, event, live)| {
                        (feed.accept(&room, event, live) && live).then_some(room)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !new_live.is_empty() {
            self.rooms.maybe_update(|rooms| {
                // Every one counted, so no short-circuit.
                let unread = new_live.iter().filter(|room| rooms.arrived(room)).count();
                unread > 0
            });
            self.live_events.update(|n| *n += 1);
        }
    }
}

/// Why a room put us out, unless we asked or the service is only shutting down (the session
/// ends, and the next one joins again).
fn put_out(reason: &LeaveReason) -> Option<&'static str> {
    match reason {
        LeaveReason::Left | LeaveReason::Removed { status: 332 } => None,
        LeaveReason::Kicked { .. } => Some("kicked"),
        LeaveReason::Banned { .. } => Some("banned"),
        LeaveReason::Destroyed(_) => Some("the room was closed"),
        LeaveReason::Removed { .. } => Some("removed by the service"),
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
