//! Vigie's XMPP client core, sans-IO in the manner of quinn-proto and str0m: frames and
//! `now` go in; frames to send, [`Event`]s and the next deadline come out. The same core runs
//! natively (gateway, collector, tests) and in the browser (dashboard, wasm32).
//!
//! # Calling rules
//!
//! One [`Client`] per connection. The driver:
//!
//! 1. opens a WebSocket with subprotocol [`framing::SUBPROTOCOL`] and calls
//!    [`Client::handle_connected`];
//! 2. passes every received text frame to [`Client::handle_frame`], calls
//!    [`Client::handle_timeout`] when the instant from [`Client::poll_timeout`] has passed, and
//!    [`Client::handle_disconnected`] when the transport closes;
//! 3. after every such call and every command, drains [`Client::poll_transmit`] (one text frame
//!    each) and [`Client::poll_event`] until `None`, then waits for the next frame or deadline;
//! 4. after [`Event::Disconnected`], flushes the remaining transmits and closes the transport.
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
//! With the `tokio` feature, [`driver_tokio`] carries the client over tokio-tungstenite.

pub mod bind;
pub mod client;
pub mod config;
pub mod disco;
#[cfg(feature = "tokio")]
pub mod driver_tokio;
pub mod error;
pub mod event;
pub mod framing;
pub mod jid;
pub mod mam;
pub mod muc;
pub mod ping;
pub mod sasl;
pub mod stanza;
pub mod timer;
pub mod xml;

pub use client::{Backoff, Client, ClientConfig, Event};
pub use error::{Error, Refusal};
pub use jid::Jid;
pub use mam::{ArchivePage, ArchiveQuery};
pub use muc::{Affiliation, History, Occupant, Role, RoomMessage};
pub use stanza::{Iq, IqType, Message, MessageType, Presence, PresenceType, StanzaError};
pub use web_time::Instant;
pub use xml::{Element, Limits, Node, XmlError};
