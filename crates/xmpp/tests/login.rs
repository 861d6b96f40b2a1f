//! Stream negotiation against the in-memory fake server: SASL mechanisms, bind, failures.

mod common;

use std::time::Duration;

use common::{final_error, parse, user_config, FakeServer, Pair};
use vigie_xmpp::{ClientConfig, Error, Event, History, Refusal};

#[test]
fn scram_sha1_login_binds_the_requested_resource() {
    let mut pair = Pair::new(user_config(), FakeServer::new());
    pair.connect();
    assert_eq!(
        pair.take_events(),
        [Event::Online {
            jid: "user@localhost/test".into()
        }]
    );
    assert_eq!(pair.client.bound_jid(), Some("user@localhost/test"));
    let sent: Vec<&str> = pair.server.received.iter().map(|e| e.name()).collect();
    assert_eq!(sent, ["open", "auth", "response", "open", "iq"]);
    assert_eq!(
        pair.server.received[1].attr("mechanism"),
        Some("SCRAM-SHA-1")
    );
}

#[test]
fn plain_login_when_it_is_all_the_server_offers() {
    let mut server = FakeServer::new();
    server.mechanisms = vec!["PLAIN"];
    let pair = Pair::online(server);
    assert_eq!(pair.server.received[1].attr("mechanism"), Some("PLAIN"));
}

#[test]
fn anonymous_login_lets_the_server_pick_the_resource() {
    let mut server = FakeServer::new();
    server.domain = "anon.localhost".into();
    server.mechanisms = vec!["ANONYMOUS"];
    let mut pair = Pair::new(ClientConfig::anonymous("anon.localhost"), server);
    pair.connect();
    assert_eq!(
        pair.take_events(),
        [Event::Online {
            jid: "user@anon.localhost/generated".into()
        }]
    );
    assert_eq!(pair.server.received[0].attr("to"), Some("anon.localhost"));
}

#[test]
fn wrong_password_is_refused_and_the_stream_closed() {
    let mut server = FakeServer::new();
    server.password_ok = false;
    let mut pair = connecting_to(server);
    let events = pair.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected { error: Some(Error::ServerRefused(Refusal::Auth { condition, .. })) }] if condition == "not-authorized"),
        "{events:?}"
    );
    assert_eq!(pair.server.received.last().unwrap().name(), "close");
}

/// The events and the names of the elements sent by a registration probe of `server`.
fn probe(server: FakeServer) -> (Vec<Event>, Vec<String>) {
    let mut pair = Pair::new(ClientConfig::registration_probe("localhost"), server);
    pair.connect();
    let sent = (pair.server.received.iter())
        .map(|element| element.name().to_owned())
        .collect();
    (pair.take_events(), sent)
}

#[test]
fn a_registration_probe_reads_the_features_and_closes_without_logging_in() {
    for offered in [true, false] {
        let mut server = FakeServer::new();
        server.registration = offered;
        let (events, sent) = probe(server);
        assert_eq!(
            events,
            [
                Event::RegistrationOffered {
                    domain: "localhost".into(),
                    offered
                },
                Event::Disconnected { error: None }
            ]
        );
        assert_eq!(sent, ["open", "close"]);
    }
}

#[test]
fn a_registration_probe_of_a_silent_server_times_out() {
    let mut server = FakeServer::new();
    server.silent = true;
    let mut pair = Pair::new(ClientConfig::registration_probe("localhost"), server);
    pair.connect();
    pair.advance(Duration::from_secs(31));
    assert!(
        matches!(final_error(pair.take_events()), Some(Error::Timeout(_))),
        "a probe that hears nothing ends with a timeout"
    );
}

/// A first connection to `server`, under way.
fn connecting_to(server: FakeServer) -> Pair {
    let mut pair = Pair::new(user_config(), server);
    pair.connect();
    pair
}

#[test]
fn no_usable_mechanism_is_an_incompatibility() {
    let mut server = FakeServer::new();
    server.mechanisms = vec!["X-OAUTH2"];
    let mut pair = connecting_to(server);
    assert!(matches!(
        final_error(pair.take_events()),
        Some(Error::Incompatible(_))
    ));
}

#[test]
fn silent_server_times_out_during_negotiation() {
    let mut server = FakeServer::new();
    server.silent = true;
    let mut pair = connecting_to(server);
    assert!(pair.take_events().is_empty());
    pair.advance(Duration::from_secs(29));
    assert!(pair.take_events().is_empty());
    pair.advance(Duration::from_secs(1));
    assert_eq!(
        final_error(pair.take_events()),
        Some(Error::Timeout("stream negotiation"))
    );
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn stream_error_ends_the_session() {
    let mut pair = Pair::online(FakeServer::new());
    pair.server.send_raw(
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>\
         <system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    );
    pair.drive();
    let events = pair.take_events();
    assert!(
        matches!(&events[..], [Event::Disconnected { error: Some(Error::ServerRefused(Refusal::Stream { condition, .. })) }] if condition == "system-shutdown"),
        "{events:?}"
    );
    // Nothing more after the end, whatever arrives.
    pair.server.send_raw("<message xmlns='jabber:client'/>");
    pair.drive();
    assert!(pair.take_events().is_empty());
}

#[test]
fn malformed_frame_is_the_peers_fault() {
    let mut pair = Pair::online(FakeServer::new());
    pair.server
        .send_raw("<message xmlns='jabber:client'><body>unclosed</message>");
    pair.drive();
    assert!(matches!(
        final_error(pair.take_events()),
        Some(Error::Peer(_))
    ));
    // RFC 6120 §4.9 / RFC 7395 §3.6: the stream error, then the close.
    let [.., error, close] = &pair.server.received[..] else {
        panic!("{:?}", pair.server.received);
    };
    assert_eq!(
        *error,
        parse(
            "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>\
             <not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        )
    );
    assert_eq!(close.name(), "close");
}

#[test]
fn input_past_the_limits_ends_the_stream_with_a_policy_violation() {
    let mut pair = Pair::online(FakeServer::new());
    let deep = "<x>".repeat(40) + &"</x>".repeat(40);
    pair.server
        .send_raw(&format!("<message xmlns='jabber:client'>{deep}</message>"));
    pair.drive();
    assert!(matches!(
        final_error(pair.take_events()),
        Some(Error::Peer(why)) if why.contains("deeper")
    ));
    let [.., error, close] = &pair.server.received[..] else {
        panic!("{:?}", pair.server.received);
    };
    assert!(
        error.is("error", "http://etherx.jabber.org/streams"),
        "{error:?}"
    );
    assert!(
        error
            .get_child("policy-violation", "urn:ietf:params:xml:ns:xmpp-streams")
            .is_some(),
        "{error:?}"
    );
    assert_eq!(close.name(), "close");
}

#[test]
fn polite_close_waits_for_the_servers_close() {
    let mut pair = Pair::online(FakeServer::new());
    pair.client.close();
    pair.drive();
    assert_eq!(pair.take_events(), [Event::Disconnected { error: None }]);
    assert_eq!(
        pair.server.received.last().unwrap(),
        &parse("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
    );
}

#[test]
fn transport_loss_is_reported_once() {
    let mut pair = Pair::online(FakeServer::new());
    pair.client.handle_disconnected(pair.now);
    pair.client.handle_disconnected(pair.now);
    pair.drive();
    let error = final_error(pair.take_events());
    assert!(matches!(error, Some(Error::Transport(_))), "{error:?}");
}

#[test]
fn commands_before_online_are_misuse() {
    let mut pair = Pair::new(user_config(), FakeServer::new());
    assert!(matches!(
        pair.client
            .join_room("ops@rooms.localhost", "me", History::None),
        Err(Error::Misuse(_))
    ));
    assert!(matches!(
        pair.client.send_groupchat("ops@rooms.localhost", "x", None),
        Err(Error::Misuse(_))
    ));
}
