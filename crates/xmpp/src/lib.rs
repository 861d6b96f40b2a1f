//! Vigie's XMPP client core, sans-IO in the manner of quinn-proto and str0m: frames and
//! `now` go in; frames to send, [`Event`]s and the next deadline come out. The same core runs
//! natively (gateway, collector, tests) and in the browser (dashboard, wasm32).
//!
//! # Calling rules
//!
//! One [`Client`] per session. The driver, over either transport
//! ([`ClientConfig::transport`]):
//!
//! - calls [`Client::handle_timeout`] when the instant from [`Client::poll_timeout`] has
//!   passed;
//! - after every `handle_*` call and every command, drains [`Client::poll_transmit`] (or, over
//!   BOSH, [`Client::poll_bosh_request`]) and [`Client::poll_event`] until `None`, then waits
//!   for the next input or deadline;
//! - after [`Event::ConnectionLost`], sends what `poll_transmit` still holds, drops the
//!   transport, and starts again (`handle_connected`) once [`Client::wants_transport`] turns
//!   true; after [`Event::Disconnected`], flushes and stops: it is final.
//!
//! ## WebSocket ([`Transport::WebSocket`], RFC 7395)
//!
//! 1. Open a WebSocket with subprotocol [`framing::SUBPROTOCOL`], then call
//!    [`Client::handle_connected`].
//! 2. Send each string from `poll_transmit` as one text frame; pass every received text frame
//!    to [`Client::handle_frame`]; call [`Client::handle_disconnected`] when the socket closes
//!    (or could not be opened).
//!
//! ## BOSH ([`Transport::Bosh`], XEP-0124/XEP-0206)
//!
//! 1. Call [`Client::handle_connected`] (there is no connection to open): the first request
//!    is the session creation body.
//! 2. POST each body from `poll_transmit` (or each [`bosh::Request`] from
//!    `poll_bosh_request`, which carries its rid) to the connection manager as its own HTTP
//!    request, concurrently: the client never has more in flight than the server allows, and
//!    keeps one pending at the server while the stream is open, so always drain.
//! 3. Pass each HTTP 200 response body to [`Client::handle_bosh_response`] with the request's
//!    rid (any order: the client processes them in rid order), or to [`Client::handle_frame`]
//!    if the driver cannot tell which request it answers (then responses must be passed in
//!    request order).
//! 4. A request without a usable response (network error, HTTP 5xx, no answer within
//!    [`Client::bosh_request_timeout`]): call [`Client::handle_http_error`] with its rid; the
//!    client sends the same body with the same rid again. Any other HTTP status means the
//!    session is gone: call [`Client::handle_disconnected`].
//! 5. After `ConnectionLost` or `Disconnected`, ignore answers to the old session's requests.
//!
//! With [`ClientConfig::stream_management`] (XEP-0198) and a `reconnect` policy, a lost
//! connection is resumed where the server allows it: [`Event::Resumed`] instead of
//! [`Event::Online`], rooms still joined, stanzas lost in flight either way sent again.
//! Otherwise the client rejoins its rooms, and with [`ClientConfig::catch_up`] fills the
//! gap from each room's archive ([`catchup`]): every message shown once, live or archived.
//!
//! The core never reads the clock ([`web_time::Instant`] is passed in, so it works on wasm32)
//! and never draws random numbers (the caller supplies the SCRAM nonce).
//!
//! ```
//! use vigie_xmpp::{Client, ClientConfig, Event};
//! use web_time::Instant;
//!
//! let config = ClientConfig::login("gateway@localhost/gw", "secret").unwrap();
//! let mut client = Client::new(config, "n0nce-from-a-real-rng".into());
//! client.handle_connected(Instant::now());
//! assert_eq!(
//!     client.poll_transmit().unwrap(),
//!     "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>"
//! );
//! assert!(client.join_room("ops@rooms.localhost", "gw", vigie_xmpp::History::None).is_err());
//! ```
//!
//! With the `tokio` feature, [`driver_tokio`] carries the client over tokio-tungstenite
//! (WebSocket) or hyper (BOSH).

pub mod bind;
pub mod bosh;
pub mod catchup;
pub mod chatstates;
pub mod client;
pub mod config;
pub mod data_form;
pub mod disco;
pub mod discovery;
#[cfg(feature = "tokio")]
pub mod driver_tokio;
pub mod error;
pub mod event;
pub mod framing;
pub mod jid;
pub mod keyed;
pub mod mam;
pub mod muc;
pub mod ping;
pub mod register;
pub mod roster;
pub mod sasl;
pub mod selfping;
pub mod sm;
pub mod stanza;
pub mod timer;
pub mod vcard;
pub mod version;
mod wire;
/// XML 1.0 with namespaces as RFC 6120 §11 restricts it (the `vigie-xml` crate, built apart so
/// the parser can be optimised for speed while the rest of the core is optimised for size).
pub use vigie_xml as xml;

pub use chatstates::ChatState;
pub use client::{Backoff, Client, ClientConfig, Event, Transport};
pub use data_form::{DataForm, FormField};
pub use error::{Error, Refusal};
pub use jid::Jid;
pub use mam::{ArchivePage, ArchiveQuery};
pub use muc::{Affiliation, History, LeaveReason, Occupant, Role, RoomMessage};
pub use roster::{Roster, RosterItem, Subscription, SubscriptionAction};
pub use stanza::{Iq, IqType, Message, MessageType, Presence, PresenceType, Show, StanzaError};
pub use vcard::VCard;
pub use version::SoftwareVersion;
pub use web_time::Instant;
pub use xml::{Element, Limits, Node, XmlError};
