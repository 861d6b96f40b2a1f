//! The scripted viewer the benchmark and the fuzz target start from really is joined, over
//! both transports, and sees an event stanza as a groupchat event.

#[path = "../benches/support/mod.rs"]
mod support;

use support::{bosh, drain, event_stanza, frame, joined_client, ROOM};
use vigie_xmpp::{Event, Instant, Transport};

#[test]
fn scripted_viewer_receives_event_stanzas_over_both_transports() {
    for transport in [Transport::WebSocket, bosh()] {
        let mut client = joined_client(transport);
        drain(&mut client);
        client.handle_frame(&frame(transport, &event_stanza(7)), Instant::now());
        let event = client.poll_event();
        match event {
            Some(Event::GroupchatMessage(message)) => {
                assert_eq!(message.room, ROOM);
                assert_eq!(message.stanza_id.as_deref(), Some("arch-7"));
                let payload = message.payload("event", "urn:vigie:event:1").unwrap();
                assert_eq!(payload.attr("kind"), Some("accident"));
            }
            other => panic!("{transport:?}: {other:?}"),
        }
    }
}
