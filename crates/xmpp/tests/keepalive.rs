//! XEP-0199 keepalive, answering server requests and IQ deadlines on the virtual clock.

mod common;

use std::time::Duration;

use common::{final_error, FakeServer, Pair};
use vigie_xmpp::stanza::IqType;
use vigie_xmpp::{Element, Error, Event, Iq};

#[test]
fn idle_connection_is_pinged_and_stays_up_when_answered() {
    let mut pair = Pair::online(FakeServer::new());
    pair.advance(Duration::from_secs(59));
    assert!(
        pair.server.received_named("iq").len() == 1,
        "only the bind so far"
    );
    pair.advance(Duration::from_secs(1));
    let pings = pair.server.received_named("iq");
    assert_eq!(pings.len(), 2);
    assert!(pings[1].get_child("ping", "urn:xmpp:ping").is_some());
    pair.advance(Duration::from_secs(600));
    assert!(pair.take_events().is_empty(), "pongs are not surfaced");
    assert_eq!(
        pair.server.received_named("iq").len(),
        12,
        "one ping per idle minute"
    );
}

#[test]
fn unanswered_ping_ends_the_session() {
    let mut server = FakeServer::new();
    server.answer_pings = false;
    let mut pair = Pair::online(server);
    pair.advance(Duration::from_secs(60 + 19));
    assert!(pair.take_events().is_empty());
    pair.advance(Duration::from_secs(1));
    assert_eq!(
        final_error(pair.take_events()),
        Some(Error::Timeout("an answer to our ping"))
    );
    assert_eq!(pair.server.received.last().unwrap().name(), "close");
}

#[test]
fn traffic_postpones_the_ping() {
    let mut pair = Pair::online(FakeServer::new());
    for _ in 0..5 {
        pair.advance(Duration::from_secs(50));
        pair.server
            .send_raw("<presence xmlns='jabber:client' from='friend@localhost/x'/>");
        pair.drive();
    }
    assert_eq!(
        pair.server.received_named("iq").len(),
        1,
        "no ping while the server talks"
    );
}

#[test]
fn server_requests_are_answered() {
    let mut pair = Pair::online(FakeServer::new());
    pair.server.send_raw(
        "<iq xmlns='jabber:client' from='localhost' id='s1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
    );
    pair.server.send_raw(
        "<iq xmlns='jabber:client' from='localhost' id='s2' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    pair.server.send_raw(
        "<iq xmlns='jabber:client' from='localhost' id='s3' type='get'><query xmlns='jabber:iq:last'/></iq>",
    );
    pair.drive();
    let answers: Vec<Iq> = pair.server.received_named("iq")[1..]
        .iter()
        .map(|e| Iq::from_element(e).unwrap())
        .collect();
    assert_eq!(answers.len(), 3);
    assert_eq!(
        (answers[0].id.as_str(), answers[0].kind),
        ("s1", IqType::Result)
    );
    assert!(answers[1]
        .payload
        .as_ref()
        .unwrap()
        .get_child("identity", "http://jabber.org/protocol/disco#info")
        .is_some());
    assert_eq!(answers[2].kind, IqType::Error);
    assert_eq!(
        answers[2].error.as_ref().unwrap().condition,
        "service-unavailable"
    );
}

#[test]
fn iq_requests_get_their_answer_or_time_out() {
    let mut pair = Pair::online(FakeServer::new());
    let query = Element::new("query", "urn:example:q");
    let id = pair
        .client
        .send_iq(Iq::get(Some("rooms.localhost"), query.clone()))
        .unwrap();
    pair.drive();
    let events = pair.take_events();
    assert!(
        matches!(&events[..], [Event::IqResult { id: got, result: Ok(Some(answer)), .. }] if *got == id && answer.name() == "answer"),
        "{events:?}"
    );

    // The fake answers everything at once; a request it never sees times out.
    pair.server.silent = true;
    let id = pair.client.send_iq(Iq::set(None, query)).unwrap();
    pair.drive();
    pair.advance(Duration::from_secs(30));
    let events = pair.take_events();
    assert!(
        events.contains(&Event::IqResult {
            id,
            from: None,
            result: Err(Error::Timeout("an IQ answer"))
        }),
        "{events:?}"
    );
}

#[test]
fn spoofed_answers_are_ignored() {
    let mut pair = Pair::online(FakeServer::new());
    pair.server.silent = true;
    let id = pair
        .client
        .send_iq(Iq::get(
            Some("rooms.localhost"),
            Element::new("query", "urn:example:q"),
        ))
        .unwrap();
    pair.drive();
    pair.server.send_raw(&format!(
        "<iq xmlns='jabber:client' from='evil@localhost' id='{id}' type='result'/>"
    ));
    pair.drive();
    assert!(pair.take_events().is_empty());
}
