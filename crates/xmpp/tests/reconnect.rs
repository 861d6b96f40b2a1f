//! Opt-in reconnection on the virtual clock: backoff, a new login, rooms rejoined without
//! history, and with `catch_up` the gap filled from the room's archive (XEP-0313), each
//! message shown once.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{
    final_error, groupchat_ids, reconnecting_config, user_config, FakeRoom, FakeServer, Pair,
};
use vigie_xmpp::{Client, ClientConfig, Element, Error, Event, History, Instant, Refusal};

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
    let lost_at = pair.now;
    pair.server.silent = true;
    let query = pair
        .client
        .send_iq(vigie_xmpp::Iq::get(None, Element::new("q", "urn:x")))
        .unwrap();
    pair.server.silent = false;
    let events = lose_transport(&mut pair);
    let lost = Error::Transport("connection closed".into());
    let [answer, Event::ConnectionLost {
        error,
        reconnect_at,
    }] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(
        *answer,
        Event::IqResult {
            id: query,
            from: None,
            result: Err(lost.clone())
        }
    );
    assert_eq!(*error, lost);
    // The first step, 1 s, with jitter.
    let delay = *reconnect_at - lost_at;
    assert!(
        (Duration::from_millis(500)..=Duration::from_secs(1)).contains(&delay),
        "{delay:?}"
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
    // Each delay is drawn in the upper half of its doubling step.
    let steps = [2, 4, 8, 16, 30, 30, 30].map(Duration::from_secs);
    for (delay, step) in delays.iter().zip(steps) {
        assert!((step / 2..=step).contains(delay), "{delay:?} for {step:?}");
    }
    assert!(
        delays
            .iter()
            .zip(steps)
            .any(|(delay, step)| *delay * 4 != step * 3),
        "every draw the same: {delays:?}"
    );
    // A successful login resets the backoff.
    pair.advance(Duration::from_secs(60));
    pair.connect();
    pair.take_events();
    let lost_at = pair.now;
    assert!(matches!(
        &lose_transport(&mut pair)[..],
        [Event::ConnectionLost { reconnect_at, .. }]
            if (lost_at + Duration::from_millis(500)..=lost_at + Duration::from_secs(1)).contains(reconnect_at)
    ));
}

#[test]
fn clients_that_lose_their_server_together_come_back_at_different_moments() {
    let lost_at = Instant::now();
    let reconnect_at = |nonce: String| {
        let mut server = FakeServer::new();
        server.mechanisms = vec!["PLAIN"];
        let mut pair = Pair::new(reconnecting_config(), server);
        // Each client has its own random nonce from its caller.
        pair.client = Client::new(reconnecting_config(), nonce);
        pair.now = lost_at;
        pair.connect();
        match &lose_transport(&mut pair)[..] {
            [.., Event::ConnectionLost { reconnect_at, .. }] => *reconnect_at,
            other => panic!("{other:?}"),
        }
    };
    let moments: BTreeSet<Instant> = (0..8)
        .map(|client| reconnect_at(format!("random-nonce-of-client-{client}")))
        .collect();
    assert_eq!(moments.len(), 8, "{moments:?}");
    let first_step = lost_at + Duration::from_millis(500)..=lost_at + Duration::from_secs(1);
    assert!(moments.iter().all(|moment| first_step.contains(moment)));
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
    let error = final_error(pair.take_events());
    assert!(
        matches!(error, Some(Error::ServerRefused(Refusal::Auth { .. }))),
        "{error:?}"
    );
}

#[test]
fn a_first_connection_that_fails_is_final() {
    let mut pair = Pair::new(reconnecting_config(), FakeServer::new());
    pair.client.handle_disconnected(pair.now);
    pair.drive();
    assert!(matches!(
        final_error(pair.take_events()),
        Some(Error::Transport(_))
    ));
    assert_eq!(
        ClientConfig::anonymous("anon.localhost").reconnect,
        None,
        "reconnection is opt-in"
    );
    assert_eq!(user_config().reconnect, None);
}

/// Joined to a room whose archive holds two messages we never saw, with `catch_up` on.
fn catching_up_pair() -> Pair {
    let mut server = FakeServer::new().with_room(FakeRoom {
        jid: ROOM.into(),
        ..FakeRoom::default()
    });
    server.mechanisms = vec!["PLAIN"];
    let config = vigie_xmpp::ClientConfig {
        catch_up: true,
        ..reconnecting_config()
    };
    let mut pair = Pair::online_with(config, server);
    pair.server.post(ROOM, "gateway", "old-1", "before we came");
    pair.server.post(ROOM, "gateway", "old-2", "before we came");
    pair.client.join_room(ROOM, "me", History::None).unwrap();
    pair.drive();
    pair.take_events();
    pair
}

fn post_live(pair: &mut Pair, id: &str) {
    let live = pair.server.post(ROOM, "gateway", id, "live");
    pair.server.send(live);
    pair.drive();
}

#[test]
fn catch_up_fills_the_gap_in_pages_and_shows_each_message_once() {
    let mut pair = catching_up_pair();
    // The baseline query asked for the newest id only, and showed nothing.
    let baseline = *pair.server.received_named("iq").last().unwrap();
    assert!(
        baseline.to_xml().contains("<max>1</max><before/>"),
        "{baseline}"
    );
    post_live(&mut pair, "live-1");
    assert_eq!(groupchat_ids(&pair.take_events()), ["live-1"]);

    lose_transport(&mut pair);
    let missed: Vec<String> = (1..=60).map(|n| format!("missed-{n}")).collect();
    for id in &missed {
        pair.server.post(ROOM, "gateway", id, "while away");
    }
    pair.server.hold_archive = true;
    pair.advance(Duration::from_secs(1));
    pair.connect();
    let events = pair.take_events();
    assert!(matches!(&events[0], Event::Online { .. }), "{events:?}");
    assert!(matches!(&events[1], Event::RoomJoined { .. }), "{events:?}");
    let query = *pair.server.received_named("iq").last().unwrap();
    assert!(
        query
            .to_xml()
            .contains("<max>50</max><after>archive-3</after>"),
        "catch up after the last id shown: {query}"
    );

    // Live while the first page is on its way: shown at once…
    post_live(&mut pair, "during-1");
    assert_eq!(groupchat_ids(&pair.take_events()), ["during-1"]);
    pair.server.release_archive();
    pair.drive();
    assert_eq!(groupchat_ids(&pair.take_events()), missed[..50]);
    // …archived before the second page is read, but delivered live only after it.
    let late_live = pair.server.post(ROOM, "gateway", "during-2", "live");
    pair.server.release_archive();
    pair.drive();
    pair.server.send(late_live);
    pair.drive();
    let events = pair.take_events();
    // during-1 was in the page too, during-2 came live after its archived copy: once each.
    let mut expected: Vec<String> = missed[50..].to_vec();
    expected.push("during-2".into());
    assert_eq!(groupchat_ids(&events), expected);
    assert_eq!(
        events.last(),
        Some(&Event::RoomCaughtUp {
            room: ROOM.into(),
            result: Ok(61)
        })
    );
    let Some(Event::GroupchatMessage(archived)) = events.first() else {
        panic!("{events:?}");
    };
    assert_eq!(archived.delay.as_deref(), Some("2026-11-22T00:30:00Z"));

    // A second loss: the cursor is where the live stream got us, not behind it.
    pair.server.hold_archive = false;
    lose_transport(&mut pair);
    pair.server
        .post(ROOM, "gateway", "missed-again", "while away");
    pair.advance(Duration::from_secs(1));
    pair.connect();
    let events = pair.take_events();
    assert_eq!(groupchat_ids(&events), ["missed-again"]);
    assert_eq!(
        events.last(),
        Some(&Event::RoomCaughtUp {
            room: ROOM.into(),
            result: Ok(1)
        })
    );
}

#[test]
fn a_catch_up_cut_short_by_another_loss_resumes_without_repeats() {
    let mut pair = catching_up_pair();
    post_live(&mut pair, "live-1");
    lose_transport(&mut pair);
    for n in 1..=3 {
        pair.server
            .post(ROOM, "gateway", &format!("missed-{n}"), "away");
    }
    pair.server.hold_archive = true;
    pair.advance(Duration::from_secs(1));
    pair.connect();
    post_live(&mut pair, "during");
    pair.take_events();
    // Lost again before the archive answered.
    let events = lose_transport(&mut pair);
    assert!(
        matches!(&events[0], Event::RoomCaughtUp { result: Err(_), .. }),
        "{events:?}"
    );
    pair.server.hold_archive = false;
    pair.advance(Duration::from_secs(1));
    pair.connect();
    let events = pair.take_events();
    assert_eq!(groupchat_ids(&events), ["missed-1", "missed-2", "missed-3"]);
}

#[test]
fn without_catch_up_the_archive_is_left_to_the_application() {
    let mut pair = joined_pair();
    lose_transport(&mut pair);
    pair.advance(Duration::from_secs(1));
    pair.connect();
    pair.take_events();
    assert!(
        pair.server
            .received_named("iq")
            .iter()
            .all(|iq| !iq.to_xml().contains("urn:xmpp:mam:2")),
        "no archive query"
    );
}

#[test]
fn a_cursor_kept_by_the_application_is_caught_up_from_at_the_first_join() {
    let mut server = FakeServer::new().with_room(FakeRoom {
        jid: ROOM.into(),
        ..FakeRoom::default()
    });
    for n in 1..=4 {
        server.post(
            ROOM,
            "gateway",
            &format!("event-{n}"),
            "stored earlier or not",
        );
    }
    let config = vigie_xmpp::ClientConfig {
        catch_up: true,
        ..user_config()
    };
    let mut pair = Pair::online_with(config, server);
    pair.client
        .join_room(ROOM, "collector", History::None)
        .unwrap();
    // A collector stored everything up to event-2 in an earlier run.
    pair.client.set_archive_cursor(ROOM, "archive-2").unwrap();
    pair.drive();
    let events = pair.take_events();
    assert_eq!(groupchat_ids(&events), ["event-3", "event-4"]);
    assert_eq!(pair.client.archive_cursor(ROOM), Some("archive-4"));
    assert!(matches!(
        pair.client.set_archive_cursor("jams@rooms.localhost", "x"),
        Err(Error::Misuse(_))
    ));
}
