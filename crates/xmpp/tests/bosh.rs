//! XEP-0124/XEP-0206 framing against the fake connection manager: session creation, rid
//! sequence, restart after SASL, one request always pending, batching, lost requests resent
//! with their rid, terminate.

mod common;

use common::bosh::{reconnecting_bosh_config, BoshPair, FIRST_RID};
use common::{parse, FakeRoom};
use vigie_xmpp::bosh::{HTTPBIND_NS, MAX_RETRIES};
use vigie_xmpp::{Element, Error, Event, History};

fn body(xml: &str) -> Element {
    let body = parse(xml);
    assert!(body.is("body", HTTPBIND_NS), "{xml}");
    body
}

/// Online, the join of ops@rooms.localhost queued in the client (not yet sent).
fn joining_ops() -> BoshPair {
    let mut pair = BoshPair::online();
    pair.server.rooms.push(FakeRoom {
        jid: "ops@rooms.localhost".into(),
        subject: "Ops".into(),
        ..FakeRoom::default()
    });
    pair.client
        .join_room("ops@rooms.localhost", "me", History::None)
        .unwrap();
    pair
}

#[test]
fn login_creates_a_session_restarts_after_sasl_and_keeps_one_request_pending() {
    let mut pair = BoshPair::online();
    let rids: Vec<u64> = pair.sent.iter().map(|request| request.rid).collect();
    let expected: Vec<u64> = (FIRST_RID..FIRST_RID + rids.len() as u64).collect();
    assert_eq!(rids, expected, "one rid per request, increasing by one");

    let creation = body(&pair.sent[0].body);
    assert_eq!(creation.attr("to"), Some("localhost"));
    assert_eq!(creation.attr("hold"), Some("1"));
    assert_eq!(creation.attr("wait"), Some("30"));
    assert_eq!(creation.attr("xmpp:version"), Some("1.0"));
    assert_eq!(creation.attr("sid"), None);
    let later: Vec<Element> = pair.sent[1..].iter().map(|r| body(&r.body)).collect();
    assert!(later.iter().all(|b| b.attr("sid") == Some("sid-1")));
    let restart = later
        .iter()
        .position(|b| b.attr("xmpp:restart") == Some("true"))
        .expect("a restart request");
    assert_eq!(later[restart].children().count(), 0);
    let auth = later
        .iter()
        .position(|b| b.children().any(|c| c.name() == "auth"))
        .unwrap();
    assert!(auth < restart, "restart follows SASL");
    // The server's view: the same stream as over WebSocket.
    let names: Vec<&str> = pair.server.received.iter().map(Element::name).collect();
    assert_eq!(names, ["open", "auth", "response", "open", "iq"]);
    // Online and idle: exactly one (empty) request held by the manager.
    assert_eq!(pair.held.len(), 1);
    assert_eq!(pair.client.poll_bosh_request(), None);
}

#[test]
fn stanzas_sent_together_travel_in_one_body_and_replies_come_back() {
    let mut pair = joining_ops();
    pair.drive();
    assert!(pair
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::RoomJoined { .. })));
    let before = pair.sent.len();
    let ids: Vec<String> = (0..3)
        .map(|n| {
            pair.client
                .send_groupchat("ops@rooms.localhost", &format!("m{n}"), None)
                .unwrap()
        })
        .collect();
    pair.drive();
    let data = body(&pair.sent[before].body);
    assert_eq!(data.children().count(), 3, "batched into one body");
    let seen: Vec<String> = pair
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::GroupchatMessage(m) => m.id,
            _ => None,
        })
        .collect();
    assert_eq!(seen, ids, "each reflected exactly once, in order");
    assert_eq!(pair.held.len(), 1);
}

#[test]
fn a_lost_request_is_resent_with_the_same_rid_and_body() {
    let mut pair = joining_ops();
    pair.lose_next = true;
    pair.drive();
    let lost = pair.sent.last().unwrap().clone();
    assert!(pair.take_events().is_empty(), "the join never arrived");
    pair.client.handle_http_error(lost.rid, pair.now);
    pair.drive();
    assert_eq!(pair.sent.last(), Some(&lost), "same rid, same body");
    assert!(pair
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::RoomJoined { .. })));
    // A retry of a request the manager already processed is not processed twice.
    let presences = pair.server.received_named("presence").len();
    assert_eq!(presences, 1);
}

#[test]
fn a_request_failing_again_and_again_loses_the_connection() {
    let mut pair = BoshPair::new(reconnecting_bosh_config());
    // SCRAM's nonce changes per login; the fake only knows the RFC 5802 exchange.
    pair.server.mechanisms = vec!["PLAIN"];
    pair.connect();
    assert!(matches!(
        pair.take_events().as_slice(),
        [Event::Online { .. }]
    ));
    // The manager is unreachable: the held request and every retry of it get lost.
    let held = pair.held.pop_front().unwrap();
    for _ in 0..MAX_RETRIES {
        pair.lose_next = true;
        pair.client.handle_http_error(held, pair.now);
        pair.drive();
        assert_eq!(pair.sent.last().unwrap().rid, held);
    }
    pair.client.handle_http_error(held, pair.now);
    pair.drive();
    let events = pair.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [Event::ConnectionLost {
                error: Error::Transport(_),
                ..
            }]
        ),
        "{events:?}"
    );
    // After the backoff a new session starts, with a fresh creation request.
    pair.now += std::time::Duration::from_secs(1);
    pair.client.handle_timeout(pair.now);
    assert!(pair.client.wants_transport());
    let sent_before = pair.sent.len();
    pair.connect();
    assert!(matches!(
        pair.take_events().as_slice(),
        [Event::Online { .. }]
    ));
    let new_session = body(&pair.sent[sent_before].body);
    assert_eq!(new_session.attr("sid"), None);
    assert_eq!(new_session.attr("ver"), Some("1.6"));
}

#[test]
fn responses_arriving_out_of_order_are_processed_in_rid_order() {
    let mut pair = BoshPair::online();
    let held = pair.held.pop_front().unwrap();
    // The held poll and a second request both in flight; the newer one is answered first.
    pair.client
        .send_presence(vigie_xmpp::Presence::new(
            vigie_xmpp::PresenceType::Available,
        ))
        .unwrap();
    let second = pair.client.poll_bosh_request().unwrap();
    let first_reply = format!(
        "<body xmlns='{HTTPBIND_NS}'><message xmlns='jabber:client' from='a@localhost' id='1' type='chat'><body>one</body></message></body>"
    );
    let second_reply = format!(
        "<body xmlns='{HTTPBIND_NS}'><message xmlns='jabber:client' from='a@localhost' id='2' type='chat'><body>two</body></message></body>"
    );
    pair.client
        .handle_bosh_response(second.rid, &second_reply, pair.now);
    assert_eq!(
        pair.client.poll_event(),
        None,
        "waits for the older response"
    );
    pair.client
        .handle_bosh_response(held, &first_reply, pair.now);
    let ids: Vec<Option<String>> = std::iter::from_fn(|| pair.client.poll_event())
        .map(|e| match e {
            Event::Message(m) => m.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [Some("1".into()), Some("2".into())]);
}

#[test]
fn close_terminates_the_session() {
    let mut pair = BoshPair::online();
    pair.client.close();
    pair.drive();
    let terminate = body(&pair.sent.last().unwrap().body);
    assert_eq!(terminate.attr("type"), Some("terminate"));
    // The held poll is answered too; then the session is over.
    pair.flush_server();
    assert_eq!(pair.take_events(), [Event::Disconnected { error: None }]);
    assert_eq!(pair.client.poll_bosh_request(), None);
}

#[test]
fn a_terminate_from_the_manager_is_a_transient_loss() {
    let mut pair = BoshPair::new(reconnecting_bosh_config());
    pair.connect();
    pair.take_events();
    let held = pair.held.pop_front().unwrap();
    pair.client.handle_bosh_response(
        held,
        &format!("<body xmlns='{HTTPBIND_NS}' type='terminate' condition='item-not-found'/>"),
        pair.now,
    );
    pair.drive();
    let events = pair.take_events();
    assert!(
        matches!(&events[..], [Event::ConnectionLost { error, .. }] if error.is_transient()),
        "{events:?}"
    );
}
