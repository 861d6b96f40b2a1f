//! RFC 7395 over the browser's WebSocket: one text frame per element, both ways.

use vigie_xmpp::framing::SUBPROTOCOL;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, WebSocket};

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
        let socket = WebSocket::new_with_str(url, SUBPROTOCOL).map_err(|e| format!("{e:?}"))?;
        let handler = |deliver: Deliver, input: fn(JsValue) -> Option<Input>| {
            Callback::new(move |value: JsValue| {
                if let Some(input) = input(value) {
                    deliver.send(input);
                }
            })
        };
        let opened = handler(deliver.clone(), |_| Some(Input::Opened));
        let message = handler(deliver.clone(), |message| {
            message
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
                .map(Input::Frame)
        });
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
