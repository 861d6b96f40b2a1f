//! The native driver against a real server in tests: logging in, creating rooms, waiting
//! for events.

use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use vigie_xmpp::driver_tokio::{connect, Handle};
use vigie_xmpp::{ClientConfig, Element, Event, History, Role, RoomMessage, Transport};

use super::prosody::Prosody;

/// Every test account's password.
pub const PASSWORD: &str = "secret";

/// How long a test waits for any one event.
pub const WAIT: Duration = Duration::from_secs(10);

/// The next event `wanted` picks out, skipping others (occupants, subjects…); a
/// disconnection or a failed join on the way fails the test.
pub async fn expect<T>(
    events: &mut Receiver<Event>,
    what: &str,
    mut wanted: impl FnMut(Event) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events
                .recv()
                .await
                .unwrap_or_else(|| panic!("channel closed waiting for {what}"));
            let unexpected = matches!(
                event,
                Event::Disconnected { .. } | Event::RoomJoinFailed { .. }
            )
            .then(|| format!("{event:?}"));
            if let Some(found) = wanted(event) {
                return found;
            }
            if let Some(unexpected) = unexpected {
                panic!("{unexpected} while waiting for {what}");
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The groupchat messages `ids`, each once, in any order, and no other occupant's message
/// until half a second after the last (the room's own notices, e.g. status 104, do not
/// count). Returns them in the order they came.
pub async fn expect_each_once(events: &mut Receiver<Event>, ids: &[String]) -> Vec<RoomMessage> {
    let mut seen: Vec<RoomMessage> = Vec::new();
    let is_ours = |message: &RoomMessage| message.id.as_ref().is_some_and(|id| ids.contains(id));
    while seen.len() < ids.len() {
        let message = expect(events, "the remaining messages", |event| match event {
            Event::GroupchatMessage(message) if !message.nick.is_empty() => Some(message),
            _ => None,
        })
        .await;
        assert!(is_ours(&message), "unexpected {message:?}");
        assert!(
            !seen.iter().any(|earlier| earlier.id == message.id),
            "message {:?} shown twice",
            message.id
        );
        seen.push(message);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        assert!(
            !matches!(&event, Event::GroupchatMessage(m) if !m.nick.is_empty()),
            "{event:?} after {ids:?}, each shown once"
        );
    }
    seen
}

/// The groupchat message `id`, once (see [`expect_each_once`]).
pub async fn expect_once(events: &mut Receiver<Event>, id: &str) -> RoomMessage {
    let mut seen = expect_each_once(events, &[id.to_owned()]).await;
    seen.remove(0)
}

/// `user@localhost/user` over `transport`.
pub fn account(user: &str, transport: Transport) -> ClientConfig {
    ClientConfig::login(&format!("{user}@localhost/{user}"), PASSWORD)
        .unwrap()
        .with_transport(transport)
}

/// Logs in at `url` with `config` (the account must exist) and waits until online, bound
/// to the resource asked for if any.
pub async fn connect_at(url: &str, config: ClientConfig) -> (Handle, Receiver<Event>) {
    let asked = (config.jid.as_ref())
        .zip(config.resource.as_ref())
        .map(|(jid, resource)| format!("{jid}/{resource}"));
    let (handle, mut events) = connect(url, config).await.expect("login");
    let bound = expect(&mut events, "online", |e| match e {
        Event::Online { jid } => Some(jid),
        _ => None,
    })
    .await;
    if let Some(asked) = asked {
        assert_eq!(bound, asked);
    }
    (handle, events)
}

/// As [`connect_at`], at `prosody`'s endpoint for the configured transport.
pub async fn connect_as(prosody: &Prosody, config: ClientConfig) -> (Handle, Receiver<Event>) {
    connect_at(&prosody.url(config.transport), config).await
}

/// Registers `user` and logs in as [`account`].
pub async fn login(
    prosody: &Prosody,
    user: &str,
    transport: Transport,
) -> (Handle, Receiver<Event>) {
    prosody.register(user, PASSWORD);
    connect_as(prosody, account(user, transport)).await
}

/// `count` groupchat messages to `room`, the bodies `"{label} {n}"`; returns their ids.
pub async fn send_groupchats(
    handle: &Handle,
    room: &str,
    label: &str,
    count: usize,
) -> Vec<String> {
    let mut sent = Vec::new();
    for n in 0..count {
        let body = format!("{label} {n}");
        sent.push(handle.send_groupchat(room, &body, None).await.unwrap());
    }
    sent
}

/// The payload of the successful answer to request `id`.
pub async fn iq_ok(events: &mut Receiver<Event>, id: &str) -> Option<Element> {
    expect(events, "an IQ answer", |e| match e {
        Event::IqResult {
            id: got, result, ..
        } if got == id => Some(result),
        _ => None,
    })
    .await
    .unwrap_or_else(|error| panic!("request {id} failed: {error}"))
}

/// Creates `room` as `nick` (its first occupant, a moderator), submitting `fields`, which
/// also unlocks it: Prosody locks a new room until its owner accepts a configuration.
pub async fn create_room(
    handle: &Handle,
    events: &mut Receiver<Event>,
    room: &str,
    nick: &str,
    fields: &[(&str, &str)],
) {
    handle.join_room(room, nick, History::None).await.unwrap();
    let joined = expect(events, "room created", |e| match e {
        Event::RoomJoined { created, role, .. } => Some((created, role)),
        _ => None,
    })
    .await;
    assert_eq!(joined, (true, Role::Moderator), "a new room, ours");
    let fields = fields
        .iter()
        .map(|(var, value)| (var.to_string(), value.to_string()))
        .collect();
    let request = handle.configure_room(room, fields).await.unwrap();
    iq_ok(events, &request).await;
}
