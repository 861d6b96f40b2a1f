//! The viewer's XMPP session: anonymous login, the event rooms joined, events into the feed,
//! and reconnection with backoff (the feed drops what the room history repeats).

use std::time::Duration;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use vigie_model::Event;
use vigie_xmpp::{ClientConfig, Event as XmppEvent, History};

use crate::api;
use crate::connection::Connection;
use crate::feed::Feed;

/// What the connection indicator shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Connecting,
    Online { rooms: usize },
    Reconnecting { attempt: u32, delay: Duration },
    Failed(String),
}

/// Room history asked for on join, so a new viewer sees the latest events at once.
const HISTORY: u32 = 20;

/// The signals a session writes.
#[derive(Clone, Copy)]
pub struct Session {
    pub feed: RwSignal<Feed>,
    pub link: RwSignal<Link>,
    /// Bumped on every new live event, so the history refreshes.
    pub live_events: RwSignal<u64>,
    /// The open connection; only this keeps it alive (its callbacks hold it weakly).
    connection: StoredValue<Option<Connection>, LocalStorage>,
}

impl Session {
    pub fn new() -> Session {
        Session {
            feed: RwSignal::new(Feed::new(500)),
            link: RwSignal::new(Link::Connecting),
            live_events: RwSignal::new(0),
            connection: StoredValue::new_local(None),
        }
    }

    /// Connects with `config`, and again after every loss.
    pub fn start(self, config: api::ClientConfig) {
        self.connect(config, 0);
    }

    fn connect(self, config: api::ClientConfig, attempt: u32) {
        self.link.set(Link::Connecting);
        let nick = format!("viewer-{:04x}", (random_unit() * 65535.0) as u32);
        let rooms: Vec<String> = config
            .event_rooms
            .iter()
            .map(|room| format!("{room}@{}", config.muc_service))
            .collect();
        let xmpp = ClientConfig::anonymous(&config.anonymous_domain);
        let retry_config = config.clone();
        let opened =
            Connection::open(
                &config.websocket_url,
                xmpp,
                move |connection, event| match event {
                    XmppEvent::Online { .. } => {
                        for room in &rooms {
                            let _ = connection.with_client(|c| {
                                c.join_room(room, &nick, History::MaxStanzas(HISTORY))
                            });
                        }
                    }
                    XmppEvent::RoomJoined { .. } => self.link.update(|link| {
                        *link = match link {
                            Link::Online { rooms } => Link::Online { rooms: *rooms + 1 },
                            _ => Link::Online { rooms: 1 },
                        }
                    }),
                    XmppEvent::GroupchatMessage(message) => {
                        if let Some(Ok(event)) = Event::find_in(&message.payloads) {
                            let live = message.delay.is_none();
                            if self
                                .feed
                                .try_update(|feed| feed.accept(event, live))
                                .unwrap_or(false)
                                && live
                            {
                                self.live_events.update(|n| *n += 1);
                            }
                        }
                    }
                    XmppEvent::Disconnected { error } => {
                        let delay = backoff(attempt);
                        self.link.set(Link::Reconnecting {
                            attempt: attempt + 1,
                            delay,
                        });
                        if let Some(error) = error {
                            leptos::logging::warn!("XMPP session lost: {error}");
                        }
                        let config = retry_config.clone();
                        Timeout::new(delay.as_millis() as u32, move || {
                            self.connect(config, attempt + 1)
                        })
                        .forget();
                    }
                    _ => {}
                },
            );
        match opened {
            Ok(connection) => self.connection.set_value(Some(connection)),
            Err(error) => self.link.set(Link::Failed(error)),
        }
    }
}

/// 1 s doubling to 30 s, with jitter so viewers don't come back all at once.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1 << attempt.min(5))
        .min(Duration::from_secs(30));
    base.mul_f64(0.5 + random_unit() / 2.0)
}

fn random_unit() -> f64 {
    let mut byte = [0u8; 2];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut byte);
    }
    f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX)
}
