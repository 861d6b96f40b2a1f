//! The browser's XMPP transports: the sans-IO core carried over a WebSocket (RFC 7395,
//! [`websocket`]) or over BOSH (XEP-0124/XEP-0206 with fetch, [`bosh`]). One driver loop,
//! [`Connection`], feeds the core and carries out what it produced, following the calling
//! rules of `vigie_xmpp`; a transport only moves bytes. [`Fallback`] picks the transport of
//! each attempt.

mod bosh;
mod fallback;
mod text;
mod websocket;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use vigie_xmpp::{Client, ClientConfig, Event, Transport};
use web_time::Instant;

pub use fallback::{Fallback, Retry};

/// The transport under a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WebSocket,
    Bosh,
}

impl Kind {
    /// How the connection indicator names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::WebSocket => "WebSocket",
            Kind::Bosh => "BOSH",
        }
    }
}

/// Where a connection goes, and over what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub kind: Kind,
    /// `ws(s)://…/xmpp-websocket` or `http(s)://…/http-bind`.
    pub url: String,
}

impl Endpoint {
    /// Where the deployment's `config` takes connections of `kind`.
    pub fn of(config: &vigie_model::contract::ClientConfig, kind: Kind) -> Endpoint {
        let url = match kind {
            Kind::WebSocket => &config.websocket_url,
            Kind::Bosh => &config.bosh_url,
        };
        Endpoint {
            kind,
            url: url.clone(),
        }
    }
}

/// What a transport hands the driver.
enum Input {
    /// The WebSocket is open.
    Opened,
    /// A WebSocket text frame.
    Frame(String),
    /// The body answering BOSH request `rid`.
    Response { rid: u64, body: String },
    /// BOSH request `rid` got no usable answer (network error, 5xx, timeout): send it again.
    Lost { rid: u64 },
    /// The socket closed, or the BOSH connection manager refused the session.
    Closed,
}

/// The open transport; dropping it detaches it from the connection.
enum Link {
    WebSocket(websocket::Socket),
    Bosh(bosh::Session),
}

impl Link {
    fn open(endpoint: &Endpoint, deliver: Deliver) -> Result<Link, String> {
        Ok(match endpoint.kind {
            Kind::WebSocket => Link::WebSocket(websocket::Socket::open(&endpoint.url, deliver)?),
            Kind::Bosh => Link::Bosh(bosh::Session::new(&endpoint.url, deliver)),
        })
    }

    /// Sends everything the client has to send.
    fn transmit(&self, client: &mut Client) {
        match self {
            Link::WebSocket(socket) => {
                while let Some(frame) = client.poll_transmit() {
                    socket.send(&frame);
                }
            }
            Link::Bosh(session) => {
                let timeout = client.bosh_request_timeout();
                while let Some(request) = client.poll_bosh_request() {
                    session.post(request, timeout);
                }
            }
        }
    }
}

/// Hands a transport's input to the connection that opened it, as long as that connection
/// lives and this link is still its current one (answers to an old BOSH session, or a late
/// event of a dropped socket, are ignored).
#[derive(Clone)]
struct Deliver {
    connection: Weak<Inner>,
    link: u64,
}

impl Deliver {
    fn send(&self, input: Input) {
        let Some(inner) = self.connection.upgrade() else {
            return;
        };
        if inner.link_number.get() == self.link {
            Connection(inner).handle(input);
        }
    }
}

type Listener = Box<dyn Fn(&Connection, Event)>;

struct Inner {
    client: RefCell<Client>,
    endpoint: Endpoint,
    link: RefCell<Option<Link>>,
    /// Counts the links opened; a [`Deliver`] only speaks for the latest.
    link_number: Cell<u64>,
    on_event: Listener,
    /// The core's next deadline as armed, and its browser timer.
    timer: RefCell<Option<(Instant, Timeout)>>,
    /// The session reached `Online` (or `Resumed`) at least once.
    was_online: Cell<bool>,
    /// `Disconnected` went out: nothing more happens.
    finished: Cell<bool>,
    /// A pump is running further up the stack; it will pick up what a nested call produced,
    /// so events keep their order.
    pumping: Cell<bool>,
}

/// One XMPP session over one transport; cheap to clone. Reconnects itself when the
/// configuration asks for it (`ClientConfig::reconnect`), over the same transport; ends
/// after [`Event::Disconnected`].
#[derive(Clone)]
pub struct Connection(Rc<Inner>);

impl Connection {
    /// Opens the transport and logs in; every core event goes to `on_event`, which may send
    /// commands back through the `&Connection` it gets. Failing to open is reported the
    /// core's way: [`Event::Disconnected`] (or `ConnectionLost` when reconnecting).
    pub fn open(
        endpoint: Endpoint,
        config: ClientConfig,
        on_event: impl Fn(&Connection, Event) + 'static,
    ) -> Connection {
        let transport = match endpoint.kind {
            Kind::WebSocket => Transport::WebSocket,
            // XEP-0124 §14.1: a random first rid, far below 2^53 (the core draws no randomness).
            Kind::Bosh => Transport::bosh((u64::from_le_bytes(random_bytes::<8>()) >> 24).max(1)),
        };
        let nonce = random_bytes::<18>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let connection = Connection(Rc::new(Inner {
            client: RefCell::new(Client::new(config.with_transport(transport), nonce)),
            endpoint,
            link: RefCell::new(None),
            link_number: Cell::new(0),
            on_event: Box::new(on_event),
            timer: RefCell::new(None),
            was_online: Cell::new(false),
            finished: Cell::new(false),
            pumping: Cell::new(false),
        }));
        connection.pump();
        connection
    }

    pub fn kind(&self) -> Kind {
        self.0.endpoint.kind
    }

    /// Whether [`Event::Disconnected`] went out: nothing more happens.
    pub fn has_ended(&self) -> bool {
        self.0.finished.get()
    }

    /// Whether the stream ever got online: a connection that never did says its transport
    /// (or the server) is unreachable.
    pub fn was_online(&self) -> bool {
        self.0.was_online.get()
    }

    /// Runs a command on the core (join, send…), then carries out what it produced.
    pub fn with_client<T>(&self, command: impl FnOnce(&mut Client) -> T) -> T {
        let answer = command(&mut self.0.client.borrow_mut());
        self.pump();
        answer
    }

    fn handle(&self, input: Input) {
        let now = Instant::now();
        self.with_client(|client| match input {
            Input::Opened => client.handle_connected(now),
            Input::Frame(frame) => client.handle_frame(&frame, now),
            Input::Response { rid, body } => client.handle_bosh_response(rid, &body, now),
            Input::Lost { rid } => client.handle_http_error(rid, now),
            Input::Closed => client.handle_disconnected(now),
        });
    }

    /// Opens a new link; a BOSH session starts at once, a WebSocket once it is open.
    fn open_link(&self) {
        let number = self.0.link_number.get() + 1;
        self.0.link_number.set(number);
        let deliver = Deliver {
            connection: Rc::downgrade(&self.0),
            link: number,
        };
        let mut client = self.0.client.borrow_mut();
        match Link::open(&self.0.endpoint, deliver) {
            Ok(link) => {
                if matches!(link, Link::Bosh(_)) {
                    client.handle_connected(Instant::now());
                }
                *self.0.link.borrow_mut() = Some(link);
            }
            Err(error) => {
                leptos::logging::warn!("cannot open {}: {error}", self.0.endpoint.url);
                client.handle_disconnected(Instant::now());
            }
        }
    }

    /// The driver loop's turn: opens a transport when the core wants one, sends what it
    /// queued, hands its events out, and arms its next deadline.
    fn pump(&self) {
        if self.0.finished.get() || self.0.pumping.replace(true) {
            return;
        }
        loop {
            let wants_transport =
                self.0.link.borrow().is_none() && self.0.client.borrow().wants_transport();
            if wants_transport {
                self.open_link();
            }
            let events = self.flush();
            if events.is_empty() {
                break;
            }
            for event in events {
                match event {
                    Event::Online { .. } | Event::Resumed { .. } => self.0.was_online.set(true),
                    Event::Disconnected { .. } => self.0.finished.set(true),
                    _ => {}
                }
                // Listeners run with no borrow held: they may send commands back.
                (self.0.on_event)(self, event);
            }
        }
        self.0.pumping.set(false);
        self.arm_timer();
    }

    /// Sends what the core queued and takes its events. After a loss, what the core still
    /// had to say (a `<close/>`, a BOSH terminate) goes out before the transport is dropped.
    fn flush(&self) -> Vec<Event> {
        let mut client = self.0.client.borrow_mut();
        let transmit = |client: &mut Client| {
            if let Some(link) = self.0.link.borrow().as_ref() {
                link.transmit(client);
            }
        };
        transmit(&mut client);
        let events: Vec<Event> = std::iter::from_fn(|| client.poll_event()).collect();
        let lost = events.iter().any(|event| {
            matches!(
                event,
                Event::ConnectionLost { .. } | Event::Disconnected { .. }
            )
        });
        if lost {
            transmit(&mut client);
            self.0.link.borrow_mut().take();
        }
        events
    }

    fn arm_timer(&self) {
        let deadline = match self.0.finished.get() {
            true => None,
            false => self.0.client.borrow().poll_timeout(),
        };
        let mut armed = self.0.timer.borrow_mut();
        // A timer due no later than the new deadline stays: firing early costs the core one
        // idle turn, while re-arming after every frame cost a clearTimeout, a setTimeout and a
        // closure per message (the keepalive deadline moves with each frame).
        if let (Some(at), Some((armed_at, _))) = (deadline, armed.as_ref()) {
            if *armed_at <= at {
                return;
            }
        }
        // Replacing the previous timer cancels it.
        *armed = deadline.map(|at| {
            let delay = at
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(u128::from(u32::MAX)) as u32;
            let connection = Rc::downgrade(&self.0);
            let timeout = Timeout::new(delay, move || {
                if let Some(inner) = connection.upgrade() {
                    // Fired: the pump below arms the next deadline.
                    inner.timer.borrow_mut().take();
                    Connection(inner).with_client(|client| client.handle_timeout(Instant::now()));
                }
            });
            (at, timeout)
        });
    }
}

/// Random bytes from the browser's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes
}
