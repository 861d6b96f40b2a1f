//! RFC 7395 over tokio-tungstenite: one text frame per element.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Input;
use crate::client::{Client, ClientConfig};
use crate::error::Error;
use crate::framing::SUBPROTOCOL;

/// How long the WebSocket closing handshake may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(super) struct Link {
    url: String,
    max_message_bytes: usize,
    connect_timeout: Duration,
    /// `None` between a lost connection and the next attempt.
    socket: Option<Socket>,
}

impl Link {
    pub fn new(url: &str, config: &ClientConfig) -> Link {
        Link {
            url: url.to_owned(),
            max_message_bytes: config.limits.max_bytes,
            connect_timeout: config.request_timeout,
            socket: None,
        }
    }

    pub async fn open(&mut self) -> Result<(), Error> {
        let socket = open_socket(&self.url, self.max_message_bytes, self.connect_timeout).await?;
        self.socket = Some(socket);
        Ok(())
    }

    pub fn is_open(&self) -> bool {
        self.socket.is_some()
    }

    /// Closes the WebSocket politely, but never waits long on a peer that stopped reading.
    pub async fn close(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.close(None)).await;
        }
    }

    pub async fn next_input(&mut self) -> Input {
        let Some(socket) = &mut self.socket else {
            return std::future::pending().await;
        };
        match socket.next().await {
            Some(Ok(WsMessage::Text(text))) => Input::Frame(text.as_str().to_owned()),
            Some(Ok(WsMessage::Close(_))) | None => Input::Closed,
            // Pings are answered by tungstenite; RFC 7395 has no binary frames.
            Some(Ok(_)) => Input::Nothing,
            Some(Err(error)) => {
                tracing::warn!(%error, "XMPP WebSocket failed");
                Input::Closed
            }
        }
    }

    pub async fn transmit(&mut self, client: &mut Client) -> Result<(), ()> {
        while let Some(frame) = client.poll_transmit() {
            let Some(socket) = &mut self.socket else {
                break;
            };
            if let Err(error) = socket.send(WsMessage::text(frame)).await {
                tracing::warn!(%error, "XMPP WebSocket send failed");
                return Err(());
            }
        }
        Ok(())
    }
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
