//! Native driver: carries a [`Client`] over an RFC 7395 WebSocket (tokio-tungstenite) or
//! over BOSH (hyper HTTP/1.1, plain `http://` URLs), as `config.transport` says.
//!
//! One task owns the client: it feeds it frames and deadlines, writes what it transmits and
//! forwards its events. Applications talk to that task through a cheap, cloneable [`Handle`]
//! (commands over a bounded channel, rumqttc style) and read a bounded [`Event`] channel.
//! The task uses tokio's clock, so `#[tokio::test(start_paused = true)]` controls it.

use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use web_time::Instant;

mod bosh;
mod discovery;
mod websocket;

pub use discovery::discover;

use crate::client::{Client, ClientConfig, Event, Transport};
use crate::error::Error;
use crate::mam::ArchiveQuery;
use crate::muc::History;
use crate::stanza::{Iq, MessageType, Presence};
use crate::xml::Element;

/// Commands waiting for the driver task; a handful is plenty since each is answered at once.
const COMMAND_CAPACITY: usize = 64;
/// Events the application has not read yet before the connection is back-pressured.
const EVENT_CAPACITY: usize = 1024;
type Command = Box<dyn FnOnce(&mut Client) + Send>;

/// Connects to `url` (e.g. `ws://localhost:5280/xmpp-websocket`, or
/// `http://localhost:5280/http-bind` with [`Transport::Bosh`]), logs in and binds.
///
/// Resolves once [`Event::Online`] was seen (it is also the first event on the channel), or
/// fails with the reason the first login failed. Later losses are reported as
/// [`Event::ConnectionLost`] and repaired by reconnecting (per `config.reconnect`).
/// Dropping every [`Handle`] closes the stream.
pub async fn connect(
    url: &str,
    config: ClientConfig,
) -> Result<(Handle, mpsc::Receiver<Event>), Error> {
    let (mut driver, commands, events) = Driver::start(url, config).await?;
    while !driver.client.is_online() {
        if driver.finished {
            return Err(driver.ended_without("logging in"));
        }
        driver.turn().await;
    }
    tokio::spawn(driver.run());
    Ok((Handle { commands }, events))
}

/// Whether the server at `url` creates accounts on `domain` in-band (XEP-0077 §4), asked
/// over `transport` without logging in ([`ClientConfig::registration_probe`]).
pub async fn registration_offered(
    url: &str,
    domain: &str,
    transport: Transport,
) -> Result<bool, Error> {
    let config = ClientConfig::registration_probe(domain).with_transport(transport);
    // Held until the end: dropping every sender would close the stream at once.
    let (mut driver, _commands, mut events) = Driver::start(url, config).await?;
    while !driver.finished {
        driver.turn().await;
    }
    driver.link.close().await;
    while let Ok(event) = events.try_recv() {
        if let Event::RegistrationOffered { offered, .. } = event {
            return Ok(offered);
        }
    }
    Err(driver.ended_without("reading the stream features"))
}

/// A cheap, cloneable way to command the connection's task.
#[derive(Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
}

impl Handle {
    /// Whether the connection's task has ended (after [`Event::Disconnected`]).
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Runs `command` on the client inside the driver task and returns its answer: any
    /// [`Client`] command without a wrapper here, e.g.
    /// `handle.call(|client| client.list_rooms("rooms.localhost"))`.
    pub async fn call<T: Send + 'static>(
        &self,
        command: impl FnOnce(&mut Client) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        let command: Command = Box::new(move |client| {
            // The caller may have stopped waiting; nothing to do then.
            let _ = reply.send(command(client));
        });
        let gone = || Error::Misuse("the connection is closed".into());
        self.commands.send(command).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    pub async fn join_room(&self, room: &str, nick: &str, history: History) -> Result<(), Error> {
        let (room, nick) = (room.to_owned(), nick.to_owned());
        self.call(move |client| client.join_room(&room, &nick, history))
            .await
    }

    pub async fn leave_room(&self, room: &str) -> Result<(), Error> {
        let room = room.to_owned();
        self.call(move |client| client.leave_room(&room)).await
    }

    /// Returns the message id (also its origin-id).
    pub async fn send_groupchat(
        &self,
        room: &str,
        body: &str,
        payload: Option<Element>,
    ) -> Result<String, Error> {
        let (room, body) = (room.to_owned(), body.to_owned());
        self.call(move |client| client.send_groupchat(&room, &body, payload))
            .await
    }

    pub async fn send_groupchat_with_id(
        &self,
        room: &str,
        id: &str,
        body: &str,
        payload: Option<Element>,
    ) -> Result<(), Error> {
        let (room, id, body) = (room.to_owned(), id.to_owned(), body.to_owned());
        self.call(move |client| client.send_groupchat_with_id(&room, &id, &body, payload))
            .await
    }

    pub async fn send_message(
        &self,
        to: &str,
        kind: MessageType,
        body: &str,
    ) -> Result<String, Error> {
        let (to, body) = (to.to_owned(), body.to_owned());
        self.call(move |client| client.send_message(&to, kind, &body))
            .await
    }

    pub async fn send_presence(&self, presence: Presence) -> Result<(), Error> {
        self.call(move |client| client.send_presence(presence))
            .await
    }

    /// Returns the request id; the answer arrives as [`Event::IqResult`].
    pub async fn send_iq(&self, iq: Iq) -> Result<String, Error> {
        self.call(move |client| client.send_iq(iq)).await
    }

    /// Fetches one page of a room's archive; see [`Client::query_room_archive`].
    pub async fn query_room_archive(
        &self,
        room: &str,
        query: ArchiveQuery,
    ) -> Result<String, Error> {
        let room = room.to_owned();
        self.call(move |client| client.query_room_archive(&room, query))
            .await
    }

    pub async fn configure_room(
        &self,
        room: &str,
        fields: Vec<(String, String)>,
    ) -> Result<String, Error> {
        let room = room.to_owned();
        self.call(move |client| {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            client.configure_room(&room, &fields)
        })
        .await
    }

    /// Closes the stream; [`Event::Disconnected`] follows. Closing twice is harmless.
    pub async fn close(&self) {
        let _ = self
            .call(|client| {
                client.close();
                Ok(())
            })
            .await;
    }
}

/// What a transport hands the driver.
enum Input {
    /// A WebSocket text frame.
    Frame(String),
    /// A BOSH response body to request `rid`.
    Response { rid: u64, body: String },
    /// BOSH request `rid` failed in a way worth retrying.
    Lost { rid: u64 },
    /// The transport closed or failed for good.
    Closed,
    /// Nothing for the client (a WebSocket ping, a response of an old BOSH session).
    Nothing,
}

/// The connection underneath the client.
enum Link {
    WebSocket(websocket::Link),
    Bosh(bosh::Link),
}

impl Link {
    /// Opens a transport (a WebSocket), or starts accepting BOSH requests.
    async fn open(&mut self) -> Result<(), Error> {
        match self {
            Link::WebSocket(link) => link.open().await,
            Link::Bosh(link) => {
                link.open();
                Ok(())
            }
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Link::WebSocket(link) => link.is_open(),
            Link::Bosh(link) => link.is_open(),
        }
    }

    async fn close(&mut self) {
        match self {
            Link::WebSocket(link) => link.close().await,
            Link::Bosh(link) => link.close(),
        }
    }

    async fn next_input(&mut self) -> Input {
        match self {
            Link::WebSocket(link) => link.next_input().await,
            Link::Bosh(link) => link.next_input().await,
        }
    }

    /// Sends what the client has to send; `Err` if the transport failed doing so.
    async fn transmit(&mut self, client: &mut Client) -> Result<(), ()> {
        match self {
            Link::WebSocket(link) => link.transmit(client).await,
            Link::Bosh(link) => {
                link.transmit(client);
                Ok(())
            }
        }
    }
}

struct Driver {
    client: Client,
    link: Link,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    /// `Event::Disconnected` went out: flush, close the socket, stop.
    finished: bool,
    /// Every [`Handle`] was dropped (the command channel would return `None` forever).
    handles_gone: bool,
    /// Why the session ended, for `connect` to report a failed login.
    disconnect_reason: Option<Error>,
}

/// The client's clock is tokio's, so paused-time tests drive the keepalive too.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    /// Opens the transport to `url` and starts negotiating; the driver, the sender of its
    /// commands and the receiver of its events.
    async fn start(
        url: &str,
        mut config: ClientConfig,
    ) -> Result<(Driver, mpsc::Sender<Command>, mpsc::Receiver<Event>), Error> {
        if let Transport::Bosh { first_rid: 0, wait } = config.transport {
            // The caller left the rid to us (XEP-0124 §14.1: random, far below 2^53).
            let first_rid = rand::rng().random_range(1..1u64 << 40);
            config.transport = Transport::Bosh { wait, first_rid };
        }
        let mut link = match config.transport {
            Transport::WebSocket => Link::WebSocket(websocket::Link::new(url, &config)),
            Transport::Bosh { .. } => Link::Bosh(bosh::Link::new(url, &config)?),
        };
        link.open().await?;
        let nonce = Alphanumeric.sample_string(&mut rand::rng(), 24);
        let (command_sender, commands) = mpsc::channel(COMMAND_CAPACITY);
        let (event_sender, events) = mpsc::channel(EVENT_CAPACITY);
        let mut driver = Driver {
            client: Client::new(config, nonce),
            link,
            commands,
            events: event_sender,
            finished: false,
            handles_gone: false,
            disconnect_reason: None,
        };
        driver.client.handle_connected(now());
        driver.flush().await;
        Ok((driver, command_sender, events))
    }

    /// Why the session ended before `doing` was done.
    fn ended_without(&mut self, doing: &str) -> Error {
        self.disconnect_reason
            .take()
            .unwrap_or_else(|| Error::Transport(format!("connection closed while {doing}")))
    }

    async fn run(mut self) {
        while !self.finished {
            if !self.link.is_open() && self.client.wants_transport() {
                self.reconnect().await;
            } else {
                self.turn().await;
            }
        }
        self.link.close().await;
    }

    async fn reconnect(&mut self) {
        match self.link.open().await {
            Ok(()) => self.client.handle_connected(now()),
            Err(error) => {
                tracing::warn!(%error, "XMPP reconnection failed");
                self.client.handle_disconnected(now());
            }
        }
        self.flush().await;
    }

    /// Waits for one input (frame, response, command or deadline), hands it to the client,
    /// then flushes the client's outputs.
    async fn turn(&mut self) {
        let deadline = self
            .client
            .poll_timeout()
            .map(tokio::time::Instant::from_std);
        tokio::select! {
            input = self.link.next_input() => match input {
                Input::Frame(text) => self.client.handle_frame(&text, now()),
                Input::Response { rid, body } => self.client.handle_bosh_response(rid, &body, now()),
                Input::Lost { rid } => self.client.handle_http_error(rid, now()),
                Input::Closed => self.client.handle_disconnected(now()),
                Input::Nothing => {}
            },
            command = self.commands.recv(), if !self.handles_gone => match command {
                Some(command) => command(&mut self.client),
                // Every handle is gone: nobody can use the connection any more.
                None => {
                    self.handles_gone = true;
                    self.client.close();
                }
            },
            () = sleep_until(deadline) => self.client.handle_timeout(now()),
        }
        self.flush().await;
    }

    async fn flush(&mut self) {
        if self.link.transmit(&mut self.client).await.is_err() {
            self.client.handle_disconnected(now());
        }
        let mut connection_lost = false;
        while let Some(event) = self.client.poll_event() {
            match &event {
                Event::ConnectionLost { error, .. } => {
                    tracing::warn!(%error, "XMPP connection lost");
                    connection_lost = true;
                }
                Event::Disconnected { error } => {
                    self.finished = true;
                    self.disconnect_reason = error.clone();
                }
                _ => {}
            }
            // The application may only be sending; unread events are then dropped.
            let _ = self.events.send(event).await;
        }
        if connection_lost {
            // What the client still had to say (a `<close/>`, a BOSH terminate) goes first.
            let _ = self.link.transmit(&mut self.client).await;
            self.link.close().await;
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
