//! The browser's XMPP transport: carries the sans-IO core over a WebSocket (RFC 7395).
//! It only moves frames and schedules the core's deadline; everything else is core logic.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use vigie_xmpp::framing::SUBPROTOCOL;
use vigie_xmpp::{Client, ClientConfig, Event};
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, WebSocket};
use web_time::Instant;

type Listener = Box<dyn Fn(&Connection, Event)>;
type SocketCallback = Closure<dyn FnMut(JsValue)>;

struct Inner {
    client: RefCell<Client>,
    socket: WebSocket,
    on_event: Listener,
    timer: RefCell<Option<Timeout>>,
    /// The socket's callbacks, kept alive as long as the connection.
    callbacks: RefCell<Vec<SocketCallback>>,
}

/// One XMPP session over one WebSocket; cheap to clone.
#[derive(Clone)]
pub struct Connection(Rc<Inner>);

impl Connection {
    /// Opens the socket and logs in; every core event goes to `on_event`.
    pub fn open(
        url: &str,
        config: ClientConfig,
        on_event: impl Fn(&Connection, Event) + 'static,
    ) -> Result<Connection, String> {
        let socket = WebSocket::new_with_str(url, SUBPROTOCOL).map_err(|e| format!("{e:?}"))?;
        let inner = Rc::new(Inner {
            client: RefCell::new(Client::new(config, random_nonce())),
            socket,
            on_event: Box::new(on_event),
            timer: RefCell::new(None),
            callbacks: RefCell::new(Vec::new()),
        });
        let connection = Connection(inner);
        connection.listen("open", |client, _| client.handle_connected(Instant::now()));
        connection.listen("message", |client, message| {
            if let Some(text) = message
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            {
                client.handle_frame(&text, Instant::now());
            }
        });
        connection.listen("close", |client, _| {
            client.handle_disconnected(Instant::now())
        });
        Ok(connection)
    }

    /// Runs a command on the core (join, send…), then carries out what it produced.
    pub fn with_client<T>(&self, command: impl FnOnce(&mut Client) -> T) -> T {
        let answer = command(&mut self.0.client.borrow_mut());
        self.pump();
        answer
    }

    fn listen(&self, kind: &str, handler: impl Fn(&mut Client, JsValue) + 'static) {
        let weak = Rc::downgrade(&self.0);
        let callback = SocketCallback::new(move |value: JsValue| {
            if let Some(inner) = weak.upgrade() {
                let connection = Connection(inner);
                connection.with_client(|client| handler(client, value));
            }
        });
        let _ = self
            .0
            .socket
            .add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        self.0.callbacks.borrow_mut().push(callback);
    }

    /// Sends what the core queued, hands its events out, and arms its next deadline.
    fn pump(&self) {
        let (frames, events, deadline) = {
            let mut client = self.0.client.borrow_mut();
            let frames: Vec<String> = std::iter::from_fn(|| client.poll_transmit()).collect();
            let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
            (frames, events, client.poll_timeout())
        };
        for frame in frames {
            if self.0.socket.ready_state() == WebSocket::OPEN {
                let _ = self.0.socket.send_with_str(&frame);
            }
        }
        let finished = events
            .iter()
            .any(|e| matches!(e, Event::Disconnected { .. }));
        // Listeners run with no borrow held: they may send commands back.
        for event in events {
            (self.0.on_event)(self, event);
        }
        if finished {
            let _ = self.0.socket.close();
            self.0.timer.borrow_mut().take();
            return;
        }
        let timer = deadline.map(|at| {
            let delay = at
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(u32::MAX as u128) as u32;
            let weak = Rc::downgrade(&self.0);
            Timeout::new(delay, move || {
                if let Some(inner) = weak.upgrade() {
                    Connection(inner).with_client(|client| client.handle_timeout(Instant::now()));
                }
            })
        });
        // Replacing the previous timer cancels it.
        *self.0.timer.borrow_mut() = timer;
    }
}

/// A SCRAM client nonce from the browser's CSPRNG.
fn random_nonce() -> String {
    let mut bytes = [0u8; 18];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
