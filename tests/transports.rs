//! Both browser transports against a real Prosody, in headless Chromium: over WebSocket and
//! over BOSH the dashboard's [`Connection`] logs in anonymously, joins a room and receives a
//! groupchat message that a native client posts; a WebSocket nobody answers ends without
//! getting online (what sends the page to BOSH). Also the number reader's browser half: the
//! numbers `vigie_model::number::parse_decimal` leaves to `parseFloat`.
//!
//! `crates/e2e/tests/browser_transports.rs` runs these: it starts Prosody and the native
//! poster, then builds this file with their addresses in `VIGIE_TEST_*` (read at compile
//! time: the browser has no environment) and runs it with wasm-bindgen-test-runner.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use vigie_dashboard::transport::{Connection, Endpoint, Kind};
use vigie_model::contract::ANON_DOMAIN;
use vigie_model::number::parse_decimal;
use vigie_xmpp::{ClientConfig, Event, History};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_time::{Duration, Instant};

wasm_bindgen_test_configure!(run_in_browser);

/// What the native poster writes at the start of each body.
const POST_PREFIX: &str = "native post";
const PATIENCE: Duration = Duration::from_secs(30);

fn setting(value: Option<&'static str>, name: &str) -> &'static str {
    value.unwrap_or_else(|| {
        panic!("{name} is unset: run these through crates/e2e/tests/browser_transports.rs")
    })
}

/// A connection whose events are kept for the test to look through.
struct Session {
    connection: Connection,
    events: Rc<RefCell<Vec<Event>>>,
}

impl Session {
    /// Connects anonymously and joins `room` once online.
    fn open(kind: Kind, url: &str, room: &'static str) -> Session {
        let events = Rc::new(RefCell::new(Vec::new()));
        let seen = events.clone();
        let endpoint = Endpoint {
            kind,
            url: url.to_owned(),
        };
        let connection = Connection::open(
            endpoint,
            ClientConfig::anonymous(ANON_DOMAIN),
            move |connection, event| {
                if matches!(event, Event::Online { .. }) {
                    connection
                        .with_client(|client| client.join_room(room, "browser", History::None))
                        .expect("join the room");
                }
                seen.borrow_mut().push(event);
            },
        );
        Session { connection, events }
    }

    /// Waits for an event that `wanted` picks, failing with every event seen so far.
    async fn wait_for<T>(&self, what: &str, wanted: impl Fn(&Event) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(found) = self.events.borrow().iter().find_map(&wanted) {
                return found;
            }
            if Instant::now() > deadline {
                panic!(
                    "no {what} within {PATIENCE:?}; events: {:?}",
                    self.events.borrow()
                );
            }
            TimeoutFuture::new(50).await;
        }
    }
}

async fn receives_a_native_post(kind: Kind, url: &'static str) {
    let room = setting(option_env!("VIGIE_TEST_ROOM"), "VIGIE_TEST_ROOM");
    let session = Session::open(kind, url, room);
    assert_eq!(session.connection.kind(), kind);
    let joined = session
        .wait_for("room join", |event| match event {
            Event::RoomJoined { room, .. } => Some(room.clone()),
            Event::RoomJoinFailed { error, .. } => panic!("join refused: {error:?}"),
            Event::Disconnected { error } => panic!("the session ended: {error:?}"),
            _ => None,
        })
        .await;
    assert_eq!(joined, room);
    assert!(session.connection.was_online());
    let body = session
        .wait_for("live post from the native client", |event| match event {
            Event::GroupchatMessage(message) if message.delay.is_none() => message
                .body
                .as_ref()
                .filter(|body| body.starts_with(POST_PREFIX))
                .cloned(),
            _ => None,
        })
        .await;
    assert!(body.len() > POST_PREFIX.len(), "{body}");
    // Closing ends the session cleanly (over BOSH: a terminate the server answers).
    session.connection.with_client(|client| client.close());
    let error = session
        .wait_for("the end of the session", |event| match event {
            Event::Disconnected { error } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error, None, "closing is no error");
}

#[wasm_bindgen_test]
async fn websocket_receives_a_native_post() {
    let url = setting(option_env!("VIGIE_TEST_WS_URL"), "VIGIE_TEST_WS_URL");
    receives_a_native_post(Kind::WebSocket, url).await;
}

#[wasm_bindgen_test]
async fn bosh_receives_a_native_post() {
    let url = setting(option_env!("VIGIE_TEST_BOSH_URL"), "VIGIE_TEST_BOSH_URL");
    receives_a_native_post(Kind::Bosh, url).await;
}

#[wasm_bindgen_test]
async fn a_refused_websocket_ends_without_getting_online() {
    let url = setting(
        option_env!("VIGIE_TEST_REFUSED_URL"),
        "VIGIE_TEST_REFUSED_URL",
    );
    let session = Session::open(Kind::WebSocket, url, "unused@rooms.localhost");
    let error = session
        .wait_for("the end of the session", |event| match event {
            Event::Disconnected { error } => Some(error.clone()),
            Event::Online { .. } => panic!("online over a refused WebSocket"),
            _ => None,
        })
        .await;
    assert!(error.is_some(), "a refused connection is an error");
    assert!(!session.connection.was_online());
}

#[wasm_bindgen_test]
fn numbers_off_the_exact_path_read_as_rust_reads_them() {
    // Expected: the literals, which rustc rounds correctly.
    for (text, expected) in [
        ("9007199254740993", 9007199254740993.0),
        ("12345678901234567890123", 12345678901234567890123.0),
        ("123456789012345678.9", 123456789012345678.9),
        ("1e23", 1e23),
        ("-4.9e-324", -4.9e-324),
        ("2e-400", 0.0),
        ("1e309", f64::INFINITY),
        ("0.1000000000000000055511151231257827", 0.1),
    ] {
        assert_eq!(
            parse_decimal(text).map(f64::to_bits),
            Some(f64::to_bits(expected)),
            "{text}"
        );
    }
    assert_eq!(parse_decimal("1e400x"), None);
}
