//! A client scripted into a joined room (anonymous login, bind, join), over either
//! transport, and the event stanza a viewer receives. Shared by the parse benchmark and the
//! fuzz target, so both exercise the state the dashboard spends its life in.

#![allow(dead_code)] // each user takes a different part

use vigie_xmpp::bosh::HTTPBIND_NS;
use vigie_xmpp::{Client, ClientConfig, Element, Instant, Limits, Transport};

pub const ROOM: &str = "accidents@rooms.localhost";
/// The payload's attributes the dashboard reads, in the order the benchmarks read them.
pub const EVENT_FIELDS: [&str; 10] = [
    "id",
    "kind",
    "status",
    "severity",
    "zone",
    "vehicles",
    "lat",
    "lon",
    "occurred_at",
    "detail",
];
const JID: &str = "viewer@anon.localhost/fuzz";

/// A groupchat event as the gateway publishes it and Prosody reflects it: body, Vigie event
/// payload, origin-id and the room archive's stanza-id.
pub fn event_stanza(n: u64) -> String {
    format!(
        "<message xmlns='jabber:client' from='{ROOM}/gateway' to='{JID}' type='groupchat' \
         id='01JD00000000000000000{n:05}'>\
         <body>Accident near Gare du Nord (severity 3)</body>\
         <event xmlns='urn:vigie:event:1' id='01JD00000000000000000{n:05}' kind='accident' \
         status='open' severity='3' zone='gare-du-nord' vehicles='v-0042' lat='48.880931' \
         lon='2.355323' occurred_at='2026-11-22T01:02:03Z' detail='airbag deployed'/>\
         <origin-id xmlns='urn:xmpp:sid:0' id='01JD00000000000000000{n:05}'/>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='arch-{n}' by='{ROOM}'/>\
         </message>"
    )
}

/// Wraps stream content in what the transport carries: a WebSocket frame is the element
/// itself, a BOSH response a `<body/>`.
pub fn frame(transport: Transport, content: &str) -> String {
    match transport {
        Transport::WebSocket => content.to_owned(),
        Transport::Bosh { .. } => format!("<body xmlns='{HTTPBIND_NS}'>{content}</body>"),
    }
}

pub fn bosh() -> Transport {
    Transport::bosh(1)
}

/// An anonymous client online and joined to [`ROOM`] as a visitor.
pub fn joined_client(transport: Transport) -> Client {
    let now = Instant::now();
    let config = ClientConfig {
        stream_management: true,
        ..ClientConfig::anonymous("anon.localhost").with_transport(transport)
    };
    let mut client = Client::new(config, "fuzz-and-bench-nonce".into());
    client.handle_connected(now);
    drain(&mut client);
    let open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0' \
                from='anon.localhost' id='s1'/>";
    let sasl = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
                <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                <mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>";
    let bind = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
                <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
                <sm xmlns='urn:xmpp:sm:3'/></stream:features>";
    match transport {
        Transport::WebSocket => {
            client.handle_frame(open, now);
            client.handle_frame(sasl, now);
        }
        Transport::Bosh { .. } => client.handle_frame(
            &format!(
                "<body xmlns='{HTTPBIND_NS}' sid='sid-1' wait='60' requests='2' hold='1' \
                 xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'>{sasl}</body>"
            ),
            now,
        ),
    }
    drain(&mut client);
    client.handle_frame(
        &frame(
            transport,
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        ),
        now,
    );
    drain(&mut client);
    if transport == Transport::WebSocket {
        client.handle_frame(open, now);
    }
    client.handle_frame(&frame(transport, bind), now);
    let bind_id = drain(&mut client)
        .into_iter()
        .find(|element| element.name() == "iq")
        .and_then(|iq| iq.attr("id").map(str::to_owned))
        .expect("a bind request");
    let bound = format!(
        "<iq xmlns='jabber:client' type='result' id='{bind_id}'>\
         <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{JID}</jid></bind></iq>"
    );
    client.handle_frame(&frame(transport, &bound), now);
    drain(&mut client);
    let enabled = "<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='true'/>";
    client.handle_frame(&frame(transport, enabled), now);
    client
        .join_room(ROOM, "viewer", vigie_xmpp::History::None)
        .expect("online");
    drain(&mut client);
    client.handle_frame(
        &frame(
            transport,
            &format!(
                "<presence xmlns='jabber:client' from='{ROOM}/viewer' to='{JID}'>\
                 <x xmlns='http://jabber.org/protocol/muc#user'>\
                 <item affiliation='none' role='visitor'/><status code='110'/></x></presence>"
            ),
        ),
        now,
    );
    drain(&mut client);
    assert!(client.is_online(), "scripted login failed");
    client
}

/// Drains transmits and events; returns the stream elements sent (unwrapped from BOSH
/// bodies).
pub fn drain(client: &mut Client) -> Vec<Element> {
    let mut sent = Vec::new();
    while let Some(frame) = client.poll_transmit() {
        let Ok(element) = Element::parse(&frame, &Limits::default()) else {
            continue;
        };
        if element.is("body", HTTPBIND_NS) {
            sent.extend(element.into_children());
        } else {
            sent.push(element);
        }
    }
    while client.poll_event().is_some() {}
    sent
}
