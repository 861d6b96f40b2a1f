//! Waiting for events from the native driver in tests against a real server.

use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use vigie_xmpp::{Event, RoomMessage};

/// How long a test waits for any one event.
pub const WAIT: Duration = Duration::from_secs(10);

/// The next event `wanted` picks out, skipping others (occupants, subjects…); a
/// disconnection or a failed join on the way fails the test.
pub async fn expect<T>(
    events: &mut Receiver<Event>,
    what: &str,
    wanted: impl Fn(Event) -> Option<T>,
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
