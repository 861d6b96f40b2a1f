//! Vigie's XMPP core compiled to wasm as the dashboard ships it (the workspace release profile,
//! `wasm-opt -Os`), exported to JavaScript so `run.mjs` can time it beside Strophe.js in one
//! Chromium page on the same event stanzas. Each frame crosses from JavaScript as the WebSocket
//! driver hands it over: a JavaScript string, copied by the driver's own `TextReader`.

use wasm_bindgen::prelude::*;

// The scripted joined viewer and the event stanza of the native benchmark and the fuzz target.
#[path = "../../../crates/xmpp/benches/support/mod.rs"]
mod support;

// The WebSocket driver's copy of a frame into wasm memory (public: the BOSH half is unused here).
#[path = "../../../src/transport/text.rs"]
pub mod text;

use vigie_xmpp::{Event, Instant, Transport};

/// An anonymous viewer joined to the accidents room over WebSocket framing.
#[wasm_bindgen]
pub struct Viewer {
    client: vigie_xmpp::Client,
    now: Instant,
    text: text::TextReader,
}

#[wasm_bindgen]
impl Viewer {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Viewer {
        Viewer {
            client: support::joined_client(Transport::WebSocket),
            // The core never reads the clock; a fixed instant is all parsing needs.
            now: Instant::now(),
            text: text::TextReader::new(),
        }
    }

    /// Parses and dispatches one WebSocket frame; returns the total length of the event
    /// payload fields read (so the work cannot be optimised away, and both sides can be
    /// checked to have read the same text).
    pub fn handle_frame(&mut self, frame: &js_sys::JsString) -> usize {
        let frame = self.text.read(frame);
        self.client.handle_frame(&frame, self.now);
        let mut read = 0;
        while let Some(event) = self.client.poll_event() {
            if let Event::GroupchatMessage(message) = event {
                read += message.body.as_deref().map_or(0, str::len);
                if let Some(payload) = message.payload("event", "urn:vigie:event:1") {
                    read += support::EVENT_FIELDS
                        .iter()
                        .filter_map(|field| payload.attr(field))
                        .map(str::len)
                        .sum::<usize>();
                }
            }
        }
        // The SM acks and anything else the client sends are dropped, as a socket would take them.
        while self.client.poll_transmit().is_some() {}
        read
    }
}

impl Default for Viewer {
    fn default() -> Self {
        Viewer::new()
    }
}

/// The event stanza number `n`, exactly as the native benchmark builds it.
#[wasm_bindgen]
pub fn event_stanza(n: u32) -> String {
    support::event_stanza(n.into())
}
