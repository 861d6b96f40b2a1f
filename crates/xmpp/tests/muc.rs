//! XEP-0045 rooms against the in-memory fake server: join, history, groupchat, conflict, leave,
//! kicked/banned/destroyed, nick change, and XEP-0410 self-ping on the virtual clock.

mod common;

use common::{FakeRoom, FakeServer, Pair};
use vigie_xmpp::stanza::Delay;
use vigie_xmpp::{
    Affiliation, Element, Error, Event, History, LeaveReason, Message, MessageType, Role,
};

const ROOM: &str = "accidents@rooms.localhost";
const EVENT_NS: &str = "urn:vigie:event:1";

fn server_with_room() -> FakeServer {
    let mut old = Message::new(MessageType::Groupchat)
        .with_id("h1")
        .with_body("older accident");
    old.from = Some(format!("{ROOM}/gateway"));
    old.delay = Some(Delay {
        stamp: "2026-11-22T00:00:00Z".into(),
        from: Some(ROOM.into()),
    });
    FakeServer::new().with_room(FakeRoom {
        jid: ROOM.into(),
        others: vec![("gateway".into(), "moderator".into())],
        subject: "Accidents".into(),
        history: vec![old],
        archive: Vec::new(),
    })
}

fn joined_pair() -> Pair {
    let mut pair = Pair::online(server_with_room());
    pair.client
        .join_room(ROOM, "me", History::MaxStanzas(10))
        .unwrap();
    pair.drive();
    pair.take_events();
    pair
}

#[test]
fn join_reports_occupants_then_self_then_history_then_subject() {
    let mut pair = Pair::online(server_with_room());
    pair.client
        .join_room(ROOM, "me", History::MaxStanzas(10))
        .unwrap();
    pair.drive();
    let join = pair.server.received_named("presence")[0];
    assert_eq!(join.attr("to"), Some("accidents@rooms.localhost/me"));
    let history = join.children().next().unwrap().children().next().unwrap();
    assert_eq!(history.attr("maxstanzas"), Some("10"));

    let events = pair.take_events();
    assert!(
        matches!(&events[0], Event::Occupant(o) if o.nick == "gateway" && o.role == Role::Moderator && o.available)
    );
    assert_eq!(
        events[1],
        Event::RoomJoined {
            room: ROOM.into(),
            nick: "me".into(),
            role: Role::Moderator,
            affiliation: Affiliation::Owner,
            created: false,
        }
    );
    let Event::GroupchatMessage(old) = &events[2] else {
        panic!("expected history, got {:?}", events[2]);
    };
    assert_eq!(old.delay.as_deref(), Some("2026-11-22T00:00:00Z"));
    assert_eq!(
        (old.nick.as_str(), old.body.as_deref()),
        ("gateway", Some("older accident"))
    );
    assert_eq!(
        events[3],
        Event::RoomSubject {
            room: ROOM.into(),
            subject: "Accidents".into()
        }
    );
    assert_eq!(events.len(), 4);
}

#[test]
fn groupchat_with_payload_comes_back_once_with_the_rooms_stanza_id() {
    let mut pair = joined_pair();
    let event = Element::new("event", EVENT_NS)
        .with_attr("id", "01JD0000000000000000000000")
        .with_attr("kind", "accident");
    let id = pair
        .client
        .send_groupchat(ROOM, "Accident on A7", Some(event.clone()))
        .unwrap();
    pair.drive();
    let events = pair.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    let Event::GroupchatMessage(message) = &events[0] else {
        panic!("expected the reflected message");
    };
    assert_eq!(message.id.as_deref(), Some(id.as_str()));
    assert_eq!(message.origin_id.as_deref(), Some(id.as_str()));
    assert_eq!(message.stanza_id.as_deref(), Some("archive-1"));
    assert_eq!(message.body.as_deref(), Some("Accident on A7"));
    assert_eq!(message.payload("event", EVENT_NS), Some(&event));
    assert_eq!(message.delay, None);
}

#[test]
fn caller_chosen_ids_are_kept() {
    let mut pair = joined_pair();
    pair.client
        .send_groupchat_with_id(ROOM, "01JD-event", "jam", None)
        .unwrap();
    pair.drive();
    let sent = pair.server.received_named("message")[0];
    assert_eq!(sent.attr("id"), Some("01JD-event"));
    assert!(
        matches!(&pair.take_events()[..], [Event::GroupchatMessage(m)] if m.origin_id.as_deref() == Some("01JD-event"))
    );
}

#[test]
fn nick_conflict_fails_the_join() {
    let mut pair = Pair::online(server_with_room());
    pair.client
        .join_room(ROOM, "gateway", History::None)
        .unwrap();
    pair.drive();
    let events = pair.take_events();
    assert!(
        matches!(&events[..], [Event::RoomJoinFailed { room, error }] if room == ROOM && error.condition == "conflict"),
        "{events:?}"
    );
    // The failed room is forgotten, so joining again under another nick works.
    pair.client.join_room(ROOM, "me", History::None).unwrap();
}

#[test]
fn leave_is_confirmed_and_the_room_forgotten() {
    let mut pair = joined_pair();
    pair.client.leave_room(ROOM).unwrap();
    pair.drive();
    assert_eq!(
        pair.take_events(),
        [Event::RoomLeft {
            room: ROOM.into(),
            reason: LeaveReason::Left
        }]
    );
    assert!(matches!(
        pair.client.send_groupchat(ROOM, "x", None),
        Err(Error::Misuse(_))
    ));
}

#[test]
fn misuse_is_reported_to_the_caller() {
    let mut pair = joined_pair();
    assert!(matches!(
        pair.client.join_room(ROOM, "again", History::None),
        Err(Error::Misuse(_))
    ));
    assert!(matches!(
        pair.client.join_room("not a jid/x", "n", History::None),
        Err(Error::Misuse(_))
    ));
    assert!(matches!(
        pair.client
            .send_groupchat("jams@rooms.localhost", "x", None),
        Err(Error::Misuse(_))
    ));
    assert!(matches!(
        pair.client.leave_room("jams@rooms.localhost"),
        Err(Error::Misuse(_))
    ));
}

#[test]
fn messages_from_rooms_we_are_not_in_are_plain_messages() {
    let mut pair = joined_pair();
    pair.server.send_raw(
        "<message xmlns='jabber:client' from='jams@rooms.localhost/x' type='groupchat'><body>hi</body></message>",
    );
    pair.server.send_raw(
        "<message xmlns='jabber:client' from='accidents@rooms.localhost' type='error' id='m9'>\
         <error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    );
    pair.drive();
    let events = pair.take_events();
    assert!(matches!(&events[0], Event::Message(m) if m.body.as_deref() == Some("hi")));
    assert!(
        matches!(&events[1], Event::MessageError { id: Some(id), error, .. } if id == "m9" && error.condition == "forbidden")
    );
}

#[test]
fn self_ping_finds_us_out_of_the_room_and_rejoins() {
    let config = vigie_xmpp::ClientConfig {
        muc_self_ping: std::time::Duration::from_secs(120),
        ..common::user_config()
    };
    let mut pair = Pair::online_with(config, server_with_room());
    pair.client.join_room(ROOM, "me", History::None).unwrap();
    pair.drive();
    pair.take_events();
    let joins = |pair: &Pair| pair.server.received_named("presence").len();
    let pings_to_us = |pair: &Pair| {
        pair.server
            .received_named("iq")
            .iter()
            .filter(|iq| iq.attr("to") == Some("accidents@rooms.localhost/me"))
            .count()
    };
    // Still in: the ping is answered and nothing happens.
    pair.advance(std::time::Duration::from_secs(120));
    assert_eq!(pings_to_us(&pair), 1);
    assert_eq!(joins(&pair), 1);
    assert_eq!(pair.take_events(), []);

    // The room's service restarted and forgot us: the next ping says so, and we rejoin.
    pair.server.muc_forgot_us = true;
    pair.advance(std::time::Duration::from_secs(120));
    assert_eq!(pings_to_us(&pair), 2);
    assert_eq!(joins(&pair), 2);
    let rejoin = *pair.server.received_named("presence").last().unwrap();
    assert!(rejoin.to_xml().contains("maxstanzas='0'"), "{rejoin}");
    let events = pair.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::RoomJoined { room, .. } if room == ROOM)),
        "{events:?}"
    );
    pair.client.send_groupchat(ROOM, "back", None).unwrap();
}

#[test]
fn self_ping_can_be_turned_off() {
    let config = vigie_xmpp::ClientConfig {
        muc_self_ping: std::time::Duration::ZERO,
        ..common::user_config()
    };
    let mut pair = Pair::online_with(config, server_with_room());
    pair.client.join_room(ROOM, "me", History::None).unwrap();
    pair.drive();
    pair.advance(std::time::Duration::from_secs(3600));
    assert!(pair
        .server
        .received_named("iq")
        .iter()
        .all(|iq| iq.attr("to") != Some("accidents@rooms.localhost/me")));
}

/// Our own unavailable presence with `inner` inside the muc#user `<x/>`.
fn thrown_out(pair: &mut Pair, inner: &str) -> Vec<Event> {
    pair.server.send_raw(&format!(
        "<presence xmlns='jabber:client' from='{ROOM}/me' type='unavailable'>\
         <x xmlns='http://jabber.org/protocol/muc#user'>{inner}<status code='110'/></x></presence>"
    ));
    pair.drive();
    let events = pair.take_events();
    // Out of the room: rejoining is allowed again.
    pair.client.join_room(ROOM, "me", History::None).unwrap();
    pair.drive();
    pair.take_events();
    events
}

#[test]
fn kicked_banned_and_destroyed_are_reported_with_their_reason() {
    let mut pair = joined_pair();
    let left = |reason| {
        vec![Event::RoomLeft {
            room: ROOM.into(),
            reason,
        }]
    };
    assert_eq!(
        thrown_out(
            &mut pair,
            "<item affiliation='none' role='none'><actor nick='boss'/><reason>flood</reason></item>\
             <status code='307'/>"
        ),
        left(LeaveReason::Kicked {
            reason: Some("flood".into()),
            actor: Some("boss".into())
        })
    );
    assert_eq!(
        thrown_out(
            &mut pair,
            "<item affiliation='outcast' role='none'/><status code='301'/>"
        ),
        left(LeaveReason::Banned {
            reason: None,
            actor: None
        })
    );
    assert_eq!(
        thrown_out(
            &mut pair,
            "<item affiliation='none' role='none'/>\
             <destroy jid='new@rooms.localhost'><reason>moved &lt;here&gt;</reason></destroy>"
        ),
        left(LeaveReason::Destroyed(vigie_xmpp::muc::Destroyed {
            reason: Some("moved <here>".into()),
            alternate: Some("new@rooms.localhost".into())
        }))
    );
}

#[test]
fn nick_change_keeps_us_in_the_room() {
    let mut pair = joined_pair();
    pair.client.change_nick(ROOM, "me2").unwrap();
    let sent = pair.client.poll_transmit().unwrap();
    assert!(
        sent.contains("to='accidents@rooms.localhost/me2'"),
        "{sent}"
    );
    pair.server.send_raw(&format!(
        "<presence xmlns='jabber:client' from='{ROOM}/me' type='unavailable'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator' nick='me2'/>\
         <status code='303'/><status code='110'/></x></presence>"
    ));
    pair.server.send_raw(&format!(
        "<presence xmlns='jabber:client' from='{ROOM}/me2'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator'/>\
         <status code='110'/></x></presence>"
    ));
    pair.drive();
    let events = pair.take_events();
    assert_eq!(
        events[0],
        Event::RoomNickChanged {
            room: ROOM.into(),
            nick: "me2".into()
        }
    );
    assert!(matches!(&events[1], Event::Occupant(o) if o.nick == "me2" && o.available));
    pair.client
        .send_groupchat(ROOM, "still here", None)
        .unwrap();
}

#[test]
fn subject_and_private_messages_need_a_joined_room() {
    let mut pair = joined_pair();
    assert!(matches!(
        pair.client.set_room_subject("jams@rooms.localhost", "x"),
        Err(Error::Misuse(_))
    ));
    assert!(matches!(
        pair.client.send_private_message(ROOM, "a/b", "x"),
        Err(Error::Misuse(_))
    ));
    let id = pair.client.set_room_subject(ROOM, "New subject").unwrap();
    let sent = pair.client.poll_transmit().unwrap();
    assert!(
        sent.contains(&format!("id='{id}'")) && sent.contains("<subject>New subject</subject>")
    );
}
