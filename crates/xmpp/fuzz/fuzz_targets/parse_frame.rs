//! Arbitrary bytes through the XML parser and through `Client::handle_frame` of a client
//! joined to a room, over WebSocket framing and over BOSH: no panic, no unbounded memory,
//! and whatever parses serialises back to the same element.

#![no_main]

#[path = "../../benches/support/mod.rs"]
mod support;

use libfuzzer_sys::fuzz_target;
use vigie_xmpp::{Element, Instant, Limits, Transport};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();
    if let Ok(element) = Element::parse(text, &limits) {
        let again = Element::parse(&element.to_xml(), &limits).expect("our own XML parses");
        assert_eq!(again, element, "serialisation round trip");
    }
    let now = Instant::now();
    for transport in [Transport::WebSocket, support::bosh()] {
        let mut client = support::joined_client(transport);
        // Raw, and wrapped the way the transport frames stream content.
        client.handle_frame(text, now);
        support::drain(&mut client);
        let mut client = support::joined_client(transport);
        client.handle_frame(&support::frame(transport, text), now);
        support::drain(&mut client);
    }
});
