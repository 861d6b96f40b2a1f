//! Opt-in reconnection on the virtual clock: backoff, a new login, rooms rejoined without
//! history.

mod common;

use std::time::Duration;

use common::{reconnecting_config, user_config, FakeRoom, FakeServer, Pair};
use vigie_xmpp::{ClientConfig, Element, Error, Event, History, Refusal};

const ROOM: &str = "ops@rooms.localhost";

fn joined_pair() -> Pair {
    let mut server = FakeServer::new().with_room(FakeRoom {
        jid: ROOM.into(),
        ..FakeRoom::default()
    });
    // The fake's SCRAM replays one RFC 5802 exchange, and every login needs a new nonce.
    server.mechanisms = vec!["PLAIN"];
    let mut pair = Pair::online_with(reconnecting_config(), server);
    pair.client
        .join_room(ROOM, "me", History::MaxStanzas(20))
        .unwrap();
    pair.drive();
    pair.take_events();
    pair
}

fn lose_transport(pair: &mut Pair) -> Vec<Event> {
    pair.client.handle_disconnected(pair.now);
    pair.drive();
    pair.take_events()
}

#[test]
fn lost_connection_reconnects_after_backoff_and_rejoins_without_history() {
    let mut pair = joined_pair();
    pair.server.silent = true;
    let query = pair
        .client
        .send_iq(vigie_xmpp::Iq::get(None, Element::new("q", "urn:x")))
        .unwrap();
    pair.server.silent = false;
    let lost_at = pair.now;
    let events = lose_transport(&mut pair);
    let lost = Error::Transport("connection closed".into());
    assert_eq!(
        events,
        [
            Event::IqResult {
                id: query,
                from: None,
                result: Err(lost.clone())
            },
            Event::ConnectionLost {
                error: lost,
                reconnect_at: lost_at + Duration::from_secs(1)
            },
        ]
    );
    assert!(!pair.client.wants_transport());
    assert!(matches!(
        pair.client.send_groupchat(ROOM, "x", None),
        Err(Error::Misuse(_))
    ));

    pair.advance(Duration::from_secs(1));
    assert!(pair.client.wants_transport());
    pair.connect();
    let events = pair.take_events();
    assert!(matches!(&events[0], Event::Online { .. }), "{events:?}");
    assert!(
        matches!(&events[1], Event::RoomJoined { room, .. } if room == ROOM),
        "{events:?}"
    );
    let rejoin = *pair.server.received_named("presence").last().unwrap();
    let history = rejoin.children().next().unwrap().children().next().unwrap();
    assert_eq!(history.attr("maxstanzas"), Some("0"));
    pair.client.send_groupchat(ROOM, "back", None).unwrap();
}

#[test]
fn failed_attempts_back_off_exponentially_up_to_the_maximum() {
    let mut pair = joined_pair();
    lose_transport(&mut pair);
    let mut delays = Vec::new();
    for _ in 0..7 {
        pair.advance(Duration::from_secs(60));
        assert!(pair.client.wants_transport());
        let before = pair.now;
        // Opening the transport fails.
        match &lose_transport(&mut pair)[..] {
            [Event::ConnectionLost { reconnect_at, .. }] => delays.push(*reconnect_at - before),
            other => panic!("{other:?}"),
        }
    }
    let seconds: Vec<u64> = delays.iter().map(Duration::as_secs).collect();
    assert_eq!(seconds, [2, 4, 8, 16, 30, 30, 30]);
    // A successful login resets the backoff.
    pair.advance(Duration::from_secs(60));
    pair.connect();
    pair.take_events();
    let lost_at = pair.now;
    assert!(matches!(
        &lose_transport(&mut pair)[..],
        [Event::ConnectionLost { reconnect_at, .. }] if *reconnect_at == lost_at + Duration::from_secs(1)
    ));
}

#[test]
fn refusals_and_close_end_the_client_for_good() {
    let mut pair = joined_pair();
    lose_transport(&mut pair);
    pair.client.close();
    assert_eq!(
        pair.take_events_after_drive(),
        [Event::Disconnected { error: None }]
    );
    assert!(!pair.client.wants_transport());

    let mut pair = joined_pair();
    lose_transport(&mut pair);
    pair.advance(Duration::from_secs(1));
    pair.server.password_ok = false;
    pair.connect();
    assert!(matches!(
        &pair.take_events()[..],
        [Event::Disconnected {
            error: Some(Error::ServerRefused(Refusal::Auth { .. }))
        }]
    ));
}

#[test]
fn a_first_connection_that_fails_is_final() {
    let mut pair = Pair::new(reconnecting_config(), FakeServer::new());
    pair.client.handle_disconnected(pair.now);
    pair.drive();
    assert!(matches!(
        &pair.take_events()[..],
        [Event::Disconnected {
            error: Some(Error::Transport(_))
        }]
    ));
    assert_eq!(
        ClientConfig::anonymous("anon.localhost").reconnect,
        None,
        "reconnection is opt-in"
    );
    assert_eq!(user_config().reconnect, None);
}
