//! XEP-0198 against the fake server on a virtual clock: enable, acks both ways, resume after
//! a cut connection with what was lost in flight sent again, and a fresh session when the
//! server cannot resume.

mod common;

use std::time::Duration;

use common::{groupchat_ids, reconnecting_config, FakeRoom, FakeServer, Pair, SM_NS};
use vigie_xmpp::stanza::{Message, MessageType};
use vigie_xmpp::{ClientConfig, Element, Event, History};

const ROOM: &str = "ops@rooms.localhost";

fn sm_config() -> ClientConfig {
    ClientConfig {
        stream_management: true,
        ..reconnecting_config()
    }
}

/// Online with stream management enabled and joined to [`ROOM`].
fn joined_pair() -> Pair {
    let mut server = FakeServer::new().with_room(FakeRoom {
        jid: ROOM.into(),
        subject: "Ops".into(),
        ..FakeRoom::default()
    });
    server.stream_management = true;
    // SCRAM's nonce changes per login; the fake only knows the RFC 5802 exchange.
    server.mechanisms = vec!["PLAIN"];
    let mut pair = Pair::online_with(sm_config(), server);
    pair.client.join_room(ROOM, "me", History::None).unwrap();
    let events = pair.take_events_after_drive();
    assert!(
        events.iter().any(|e| matches!(e, Event::RoomJoined { .. })),
        "{events:?}"
    );
    pair
}

/// After `wait`, the client connects again and, its resumption refused, starts afresh.
fn fresh_session_after(pair: &mut Pair, wait: Duration) -> Vec<Event> {
    pair.server.resume_ok = false;
    pair.advance(wait);
    pair.connect();
    let events = pair.take_events();
    assert!(
        matches!(events.first(), Some(Event::Online { .. })),
        "{events:?}"
    );
    events
}

/// A message from another occupant, as the room would route it to us.
fn from_room(id: &str) -> Element {
    let mut message = Message::new(MessageType::Groupchat)
        .with_to("user@localhost/test")
        .with_body(format!("{id} from the room"));
    message.from = Some(format!("{ROOM}/other"));
    message.id = Some(id.into());
    message.to_element()
}

#[test]
fn enable_follows_bind_and_acks_flow_both_ways() {
    let mut pair = joined_pair();
    let names: Vec<&str> = pair.server.received.iter().map(Element::name).collect();
    let bind = names.iter().position(|n| *n == "iq").unwrap();
    assert_eq!(names[bind + 1], "enable");
    // The server asks; the client reports the stanzas it handled (join presence + subject).
    pair.server.send(Element::new("r", SM_NS));
    pair.drive();
    let answer = pair.server.received.last().unwrap();
    assert!(answer.is("a", SM_NS));
    let handled = pair.server.sm.as_ref().unwrap().sent.len();
    assert_eq!(answer.attr("h"), Some(handled.to_string().as_str()));

    // Our stanzas are acknowledged after a short delay.
    pair.client.send_groupchat(ROOM, "hello", None).unwrap();
    pair.drive();
    assert!(!pair.server.received.last().unwrap().is("r", SM_NS));
    pair.advance(Duration::from_secs(1));
    let asked = pair.server.received_named("r").len();
    assert_eq!(asked, 1);
    // Acknowledged: nothing is sent again on resumption.
    pair.cut();
    pair.advance(Duration::from_secs(1));
    pair.connect();
    let events = pair.take_events();
    assert!(events.iter().any(|e| matches!(e, Event::Resumed { .. })));
    let sent_after_resume: Vec<&Element> = pair
        .server
        .received
        .iter()
        .skip_while(|e| !e.is("resume", SM_NS))
        .filter(|e| e.name() == "message")
        .collect();
    assert!(sent_after_resume.is_empty(), "{sent_after_resume:?}");
}

#[test]
fn resume_after_a_cut_loses_and_duplicates_nothing() {
    let mut pair = joined_pair();
    let before = pair.client.send_groupchat(ROOM, "before", None).unwrap();
    pair.drive();
    assert_eq!(
        groupchat_ids(&pair.take_events()),
        std::slice::from_ref(&before)
    );

    // In flight when the connection dies: one message each way.
    let ours = pair
        .client
        .send_groupchat(ROOM, "lost on the way up", None)
        .unwrap();
    pair.server.send(from_room("theirs-1"));
    pair.cut();
    let events = pair.take_events();
    assert!(
        matches!(events.as_slice(), [Event::ConnectionLost { .. }]),
        "{events:?}"
    );
    assert_eq!(
        pair.server.received_named("close").len(),
        0,
        "no <close/>: we resume"
    );
    // Posted while we are away: the hibernating session queues it.
    pair.server.send(from_room("theirs-2"));
    pair.server.outbox.clear();
    assert!(pair.client.send_groupchat(ROOM, "away", None).is_err());

    pair.advance(Duration::from_secs(1));
    assert!(pair.client.wants_transport());
    pair.connect();
    let events = pair.take_events();
    assert!(
        matches!(events.first(), Some(Event::Resumed { jid }) if jid == "user@localhost/test"),
        "{events:?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::Online { .. } | Event::RoomJoined { .. })));
    assert_eq!(
        groupchat_ids(&events),
        ["theirs-1".to_owned(), "theirs-2".to_owned(), ours.clone()],
        "the server's lost stanzas, then our message sent again and reflected"
    );
    let resume = pair.server.received_named("resume")[0].clone();
    assert_eq!(resume.attr("previd"), Some("sm-1"));
    // Each of our messages reached the room exactly once.
    let archived: Vec<String> = pair.server.rooms[0]
        .archive
        .iter()
        .filter_map(|(_, m)| m.id.clone())
        .collect();
    assert_eq!(archived, [before, ours]);
    // Still joined: commands work at once.
    pair.client.send_groupchat(ROOM, "after", None).unwrap();
}

#[test]
fn failed_resumption_starts_a_fresh_session_and_rejoins() {
    let mut pair = joined_pair();
    let ours = pair.client.send_groupchat(ROOM, "unacked", None).unwrap();
    pair.cut();
    pair.take_events();
    let events = fresh_session_after(&mut pair, Duration::from_secs(1));
    assert!(events.iter().any(|e| matches!(e, Event::RoomJoined { .. })));
    assert_eq!(
        groupchat_ids(&events),
        std::slice::from_ref(&ours),
        "sent again after the rejoin"
    );
    // The new session enabled stream management again, and the names follow in order.
    let names: Vec<&str> = pair
        .server
        .received
        .iter()
        .skip_while(|e| !e.is("resume", SM_NS))
        .map(Element::name)
        .collect();
    assert_eq!(names, ["resume", "iq", "enable", "presence", "message"]);
}

#[test]
fn an_ack_for_more_than_was_sent_is_a_protocol_error() {
    let mut pair = joined_pair();
    pair.server.send_raw("<a xmlns='urn:xmpp:sm:3' h='99'/>");
    pair.drive();
    let events = pair.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ConnectionLost { .. })),
        "{events:?}"
    );
}

#[test]
fn without_the_option_nothing_is_enabled() {
    let mut server = FakeServer::new();
    server.stream_management = true;
    let pair = Pair::online(server);
    assert!(pair.server.received_named("enable").is_empty());
}

#[test]
fn a_failed_reconnection_attempt_does_not_forfeit_resumption() {
    let mut pair = joined_pair();
    pair.cut();
    pair.advance(Duration::from_secs(1));
    // The network is still down: opening the transport fails.
    assert!(pair.client.wants_transport());
    pair.client.handle_disconnected(pair.now);
    pair.drive();
    pair.take_events();
    pair.advance(Duration::from_secs(2));
    pair.connect();
    let events = pair.take_events();
    assert!(
        matches!(events.as_slice(), [Event::Resumed { .. }]),
        "{events:?}"
    );
}

#[test]
fn a_resumption_the_server_never_answers_gives_way_to_a_fresh_session() {
    let mut pair = joined_pair();
    pair.cut();
    pair.take_events();
    pair.advance(Duration::from_secs(1));
    // The server takes `<resume/>` and says nothing (Prosody 0.12 over BOSH does that).
    pair.server.silent_after_resume = true;
    pair.connect();
    pair.advance(Duration::from_secs(31));
    let events = pair.take_events();
    assert!(
        matches!(events.as_slice(), [Event::ConnectionLost { .. }]),
        "{events:?}"
    );
    pair.server.silent_after_resume = false;
    fresh_session_after(&mut pair, Duration::from_secs(5));
    let resumes = pair.server.received_named("resume").len();
    assert_eq!(resumes, 1, "no second attempt at the dead session");
}

#[test]
fn a_malformed_frame_on_a_resumable_session_sends_neither_stream_error_nor_close() {
    let mut pair = joined_pair();
    let sent_before = pair.server.received.len();
    pair.server
        .send_raw("<message xmlns='jabber:client'><body>unclosed</message>");
    pair.drive();
    assert!(matches!(
        &pair.take_events()[..],
        [Event::ConnectionLost {
            error: vigie_xmpp::Error::Peer(_),
            ..
        }]
    ));
    // The session is kept for resumption: nothing may end the stream on the server's side.
    assert!(
        pair.server.received[sent_before..]
            .iter()
            .all(|sent| !matches!(sent.name(), "error" | "close")),
        "{:?}",
        &pair.server.received[sent_before..]
    );
}
