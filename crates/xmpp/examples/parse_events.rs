//! A fixed number of event stanzas through `Client::handle_frame` of a joined viewer,
//! reading the body and the payload's fields as the browser benchmark does: a steady
//! workload for instruction counts (docs/benchmarks/xmpp-browser.md),
//! `valgrind --tool=callgrind target/release/examples/parse_events 20000`.

#[path = "../benches/support/mod.rs"]
mod support;

use support::{event_stanza, joined_client, EVENT_FIELDS};
use vigie_xmpp::{Event, Instant, Transport};

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .map_or(20_000, |count| count.parse().expect("a stanza count"));
    let frames: Vec<String> = (0..count).map(event_stanza).collect();
    let mut client = joined_client(Transport::WebSocket);
    let now = Instant::now();
    let mut read = 0;
    for frame in &frames {
        client.handle_frame(frame, now);
        while let Some(event) = client.poll_event() {
            if let Event::GroupchatMessage(message) = event {
                read += message.body.as_deref().map_or(0, str::len);
                if let Some(payload) = message.payload("event", "urn:vigie:event:1") {
                    read += EVENT_FIELDS
                        .iter()
                        .filter_map(|field| payload.attr(field))
                        .map(str::len)
                        .sum::<usize>();
                }
            }
        }
        while client.poll_transmit().is_some() {}
    }
    println!("{count} stanzas, {read} characters read");
}
