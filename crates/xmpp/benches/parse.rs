//! Event stanzas parsed and dispatched per second through `Client::handle_frame`, by a
//! client joined to the room (WebSocket framing; BOSH bodies of 10 stanzas for comparison).
//! `cargo bench -p vigie-xmpp --bench parse`; numbers in crates/xmpp/README.md.

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use support::{bosh, drain, event_stanza, frame, joined_client};
use vigie_xmpp::{Event, Instant, Transport};

const BATCH: u64 = 1_000;

fn websocket(c: &mut Criterion) {
    let mut group = c.benchmark_group("event stanzas");
    group.throughput(Throughput::Elements(BATCH));
    let frames: Vec<String> = (0..BATCH).map(event_stanza).collect();
    let mut client = joined_client(Transport::WebSocket);
    let now = Instant::now();
    group.bench_function("websocket frame", |b| {
        b.iter(|| {
            for frame in &frames {
                client.handle_frame(frame, now);
                // Read the payload's fields, as the dashboard does.
                while let Some(event) = client.poll_event() {
                    if let Event::GroupchatMessage(message) = event {
                        let payload = message.payload("event", "urn:vigie:event:1");
                        std::hint::black_box(payload.and_then(|event| event.attr("kind")));
                    }
                }
            }
            drain(&mut client);
        })
    });

    let bodies: Vec<String> = (0..BATCH / 10)
        .map(|batch| {
            let stanzas: String = (0..10).map(|n| event_stanza(batch * 10 + n)).collect();
            frame(bosh(), &stanzas)
        })
        .collect();
    let mut client = joined_client(bosh());
    group.bench_function("bosh body of 10", |b| {
        b.iter(|| {
            for body in &bodies {
                // Each response answers the oldest request; keep one in flight.
                drain(&mut client);
                client.handle_frame(body, now);
                while let Some(event) = client.poll_event() {
                    std::hint::black_box(event);
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, websocket);
criterion_main!(benches);
