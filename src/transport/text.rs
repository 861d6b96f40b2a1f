//! A JavaScript string into a Rust `String` with one `TextEncoder.encodeInto` call.
//!
//! wasm-bindgen copies a string into wasm memory one UTF-16 unit per JavaScript loop turn
//! while it is ASCII (an XMPP frame nearly always is): about 0.8 µs for an event stanza of 700
//! characters, against about 0.1 µs for the browser's encoder writing it straight into the
//! string's buffer (docs/benchmarks/xmpp-browser.md, session 9). Shared with the browser
//! benchmark (`bench/browser`), so it measures the copy the WebSocket driver makes.

use js_sys::{JsString, Uint8Array};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    type TextEncoder;

    #[wasm_bindgen(constructor)]
    fn new() -> TextEncoder;

    #[wasm_bindgen(method, js_name = encodeInto)]
    fn encode_into(this: &TextEncoder, text: &JsString, into: &Uint8Array) -> EncodeIntoResult;

    type EncodeIntoResult;

    #[wasm_bindgen(method, getter)]
    fn written(this: &EncodeIntoResult) -> u32;
}

/// Copies JavaScript strings into wasm memory; one per driver.
pub struct TextReader {
    encoder: TextEncoder,
}

impl TextReader {
    pub fn new() -> TextReader {
        TextReader {
            encoder: TextEncoder::new(),
        }
    }

    /// `text` as UTF-8 (a lone surrogate becomes U+FFFD, as with any other copy).
    pub fn read(&self, text: &JsString) -> String {
        // A UTF-16 unit never takes more than 3 bytes of UTF-8.
        let room = text.length() as usize * 3;
        let mut bytes = Vec::<u8>::with_capacity(room);
        // SAFETY: the view covers exactly the vector's spare capacity and lives only for the
        // call, during which nothing allocates (wasm memory cannot grow and detach it);
        // `encodeInto` initialises the `written` bytes it reports, never more than `room`.
        unsafe {
            let view = Uint8Array::view_mut_raw(bytes.as_mut_ptr(), room);
            let written = self.encoder.encode_into(text, &view).written() as usize;
            bytes.set_len(written.min(room));
        }
        utf8(bytes)
    }
}

impl Default for TextReader {
    fn default() -> TextReader {
        TextReader::new()
    }
}

/// `bytes` as text, any malformed sequence replaced by U+FFFD (`encodeInto` writes
/// well-formed UTF-8; a BOSH body may not be).
pub fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}
