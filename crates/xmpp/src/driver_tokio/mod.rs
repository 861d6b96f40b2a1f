//! Native driver: carries a [`Client`] over an RFC 7395 WebSocket with tokio-tungstenite.
//!
//! One task owns the client: it feeds it frames and deadlines, writes what it transmits and
//! forwards its events. Applications talk to that task through a cheap, cloneable [`Handle`]
//! (commands over a bounded channel, rumqttc style) and read a bounded [`Event`] channel.
//! The task uses tokio's clock, so `#[tokio::test(start_paused = true)]` controls it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::distr::{Alphanumeric, SampleString};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use web_time::Instant;

use crate::client::{Client, ClientConfig, Event};
use crate::error::Error;
use crate::framing::SUBPROTOCOL;
use crate::mam::ArchiveQuery;
use crate::muc::History;
use crate::stanza::{Iq, MessageType, Presence};
use crate::xml::Element;

/// Commands waiting for the driver task; a handful is plenty since each is answered at once.
const COMMAND_CAPACITY: usize = 64;
/// Events the application has not read yet before the connection is back-pressured.
const EVENT_CAPACITY: usize = 1024;
/// How long the WebSocket closing handshake may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Command = Box<dyn FnOnce(&mut Client) + Send>;

/// Connects to `url` (e.g. `ws://localhost:5280/xmpp-websocket`), logs in and binds.
///
/// Resolves once [`Event::Online`] was seen (it is also the first event on the channel), or
/// fails with the reason the first login failed. Later losses are reported as
/// [`Event::ConnectionLost`] and repaired by reconnecting (per `config.reconnect`).
/// Dropping every [`Handle`] closes the stream.
pub async fn connect(
    url: &str,
    config: ClientConfig,
) -> Result<(Handle, mpsc::Receiver<Event>), Error> {
    let max_message_bytes = config.limits.max_bytes;
    let connect_timeout = config.request_timeout;
    let socket = open_socket(url, max_message_bytes, connect_timeout).await?;
    let nonce = Alphanumeric.sample_string(&mut rand::rng(), 24);
    let (command_sender, commands) = mpsc::channel(COMMAND_CAPACITY);
    let (event_sender, events) = mpsc::channel(EVENT_CAPACITY);
    let mut driver = Driver {
        client: Client::new(config, nonce),
        url: url.to_owned(),
        max_message_bytes,
        connect_timeout,
        socket: Some(socket),
        commands,
        events: event_sender,
        finished: false,
        handles_gone: false,
        disconnect_reason: None,
    };
    driver.client.handle_connected(now());
    driver.flush().await;
    while !driver.client.is_online() {
        if driver.finished {
            return Err(driver
                .disconnect_reason
                .take()
                .unwrap_or(Error::Transport("connection closed".into())));
        }
        driver.turn().await;
    }
    tokio::spawn(driver.run());
    Ok((
        Handle {
            commands: command_sender,
        },
        events,
    ))
}

/// Opens the WebSocket with the `xmpp` subprotocol (RFC 7395 §3.2), giving up after
/// `timeout` (a black-holed address would otherwise hang the TCP connect for minutes).
async fn open_socket(
    url: &str,
    max_message_bytes: usize,
    timeout: Duration,
) -> Result<Socket, Error> {
    let transport = |e: WsError| Error::Transport(e.to_string());
    let mut request = url.into_client_request().map_err(transport)?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    // One frame is one stanza: refuse frames the XML parser would refuse anyway.
    let websocket_config = WebSocketConfig::default().max_message_size(Some(max_message_bytes));
    let connecting =
        tokio_tungstenite::connect_async_with_config(request, Some(websocket_config), true);
    let (socket, response) = tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| Error::Timeout("the WebSocket connection"))?
        .map_err(transport)?;
    let agreed = response.headers().get("Sec-WebSocket-Protocol");
    if agreed.and_then(|value| value.to_str().ok()) != Some(SUBPROTOCOL) {
        return Err(Error::Incompatible(format!(
            "server did not agree to the `{SUBPROTOCOL}` WebSocket subprotocol"
        )));
    }
    Ok(socket)
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

    /// Runs `command` on the client inside the driver task and returns its answer.
    async fn call<T: Send + 'static>(
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

struct Driver {
    client: Client,
    url: String,
    max_message_bytes: usize,
    connect_timeout: Duration,
    /// `None` between a lost connection and the next attempt.
    socket: Option<Socket>,
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
    async fn run(mut self) {
        while !self.finished {
            if self.socket.is_none() && self.client.wants_transport() {
                self.reconnect().await;
            } else {
                self.turn().await;
            }
        }
        self.close_socket().await;
    }

    async fn reconnect(&mut self) {
        match open_socket(&self.url, self.max_message_bytes, self.connect_timeout).await {
            Ok(socket) => {
                self.socket = Some(socket);
                self.client.handle_connected(now());
            }
            Err(error) => {
                tracing::warn!(%error, "XMPP reconnection failed");
                self.client.handle_disconnected(now());
            }
        }
        self.flush().await;
    }

    /// Closes the WebSocket politely, but never waits long on a peer that stopped reading.
    async fn close_socket(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close(None)).await;
        }
    }

    /// Waits for one input (frame, command or deadline), hands it to the client, then
    /// flushes the client's outputs.
    async fn turn(&mut self) {
        let deadline = self
            .client
            .poll_timeout()
            .map(tokio::time::Instant::from_std);
        tokio::select! {
            frame = next_frame(&mut self.socket) => match frame {
                Some(Ok(WsMessage::Text(text))) => self.client.handle_frame(&text, now()),
                Some(Ok(WsMessage::Close(_))) | None => self.client.handle_disconnected(now()),
                // Pings are answered by tungstenite; RFC 7395 has no binary frames.
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(%error, "XMPP WebSocket failed");
                    self.client.handle_disconnected(now());
                }
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
        while let Some(frame) = self.client.poll_transmit() {
            let Some(socket) = &mut self.socket else {
                break;
            };
            if let Err(error) = socket.send(WsMessage::text(frame)).await {
                tracing::warn!(%error, "XMPP WebSocket send failed");
                self.client.handle_disconnected(now());
                break;
            }
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
            self.close_socket().await;
        }
    }
}

async fn next_frame(socket: &mut Option<Socket>) -> Option<Result<WsMessage, WsError>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
