//! RFC 7395 over the browser's WebSocket: one text frame per element, both ways.

use gloo_timers::callback::Timeout;
use js_sys::JsString;
use vigie_xmpp::framing::SUBPROTOCOL;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, WebSocket};

use super::text::TextReader;
use super::{Deliver, Input};

type Callback = Closure<dyn FnMut(JsValue)>;

/// An open (or opening) socket and its event handlers.
pub(super) struct Socket {
    socket: WebSocket,
    /// Kept alive as long as the socket may call them.
    _handlers: [Callback; 3],
}

impl Socket {
    pub fn open(url: &str, deliver: Deliver) -> Result<Socket, String> {
        let socket = match take_early_socket(url) {
            Some(socket) => {
                if socket.ready_state() == WebSocket::OPEN {
                    // Its `open` event went by with no handler; say it on the next turn (the
                    // driver is still opening the link), unless its `close` came first.
                    let (deliver, early) = (deliver.clone(), socket.clone());
                    Timeout::new(0, move || {
                        if early.ready_state() == WebSocket::OPEN {
                            deliver.send(Input::Opened);
                        }
                    })
                    .forget();
                }
                socket
            }
            None => WebSocket::new_with_str(url, SUBPROTOCOL).map_err(|e| format!("{e:?}"))?,
        };
        let handler = |deliver: Deliver, input: fn(JsValue) -> Option<Input>| {
            Callback::new(move |value: JsValue| {
                if let Some(input) = input(value) {
                    deliver.send(input);
                }
            })
        };
        let opened = handler(deliver.clone(), |_| Some(Input::Opened));
        let message = {
            let (deliver, text) = (deliver.clone(), TextReader::new());
            Callback::new(move |message: JsValue| {
                let data = message.dyn_ref::<MessageEvent>().map(MessageEvent::data);
                if let Some(frame) = data.as_ref().and_then(JsValue::dyn_ref::<JsString>) {
                    deliver.send(Input::Frame(text.read(frame)));
                }
            })
        };
        // An `error` event is always followed by `close`: that one is enough.
        let closed = handler(deliver, |_| Some(Input::Closed));
        socket.set_onopen(Some(opened.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(closed.as_ref().unchecked_ref()));
        Ok(Socket {
            socket,
            _handlers: [opened, message, closed],
        })
    }

    pub fn send(&self, frame: &str) {
        if self.socket.ready_state() == WebSocket::OPEN {
            // A failed send closes the socket, which reports itself.
            let _ = self.socket.send_with_str(frame);
        }
    }
}

impl Drop for Socket {
    /// Detaches the handlers before they are freed, then closes the socket.
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// The window property under which `index.html` leaves the WebSocket it opened from the
/// server's inlined configuration, before the app was even downloaded: the handshake (held
/// back by Chromium while the main thread is busy) then no longer waits for the app's start.
const EARLY_SOCKET: &str = "vigieEarlySocket";

/// The page's early WebSocket, once, if it goes to `url` for XMPP and is not closing; any
/// other is closed, so none is left open unused.
fn take_early_socket(url: &str) -> Option<WebSocket> {
    let window = web_sys::window()?;
    let key = JsValue::from_str(EARLY_SOCKET);
    let early = js_sys::Reflect::get(&window, &key).ok()?;
    let _ = js_sys::Reflect::delete_property(&window, &key);
    let socket = early.dyn_into::<WebSocket>().ok()?;
    let usable = socket.url() == url
        && matches!(
            socket.ready_state(),
            WebSocket::CONNECTING | WebSocket::OPEN
        );
    if usable {
        Some(socket)
    } else {
        let _ = socket.close();
        None
    }
}
