//! WebSocket (RFC 7395) proxy: the upstream connection is opened first, so an unreachable
//! Prosody is a 502 rather than a socket that closes at once; then frames flow both ways until
//! either side closes. Pings are answered by each hop itself.

use anyhow::Context as _;
use axum::extract::ws::{self, CloseFrame, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self as tung};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{AppError, AppState};

/// The XMPP WebSocket subprotocol.
const SUBPROTOCOL: &str = "xmpp";

type UpstreamSocket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn proxy(
    State(state): State<AppState>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let url = state.upstream.websocket_url();
    let mut request = url
        .as_str()
        .into_client_request()
        .context("upstream WebSocket URL")
        .map_err(AppError::Internal)?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    // Nagle off (`true`): each stanza is relayed as it comes, not after the peer's delayed ACK.
    let (upstream, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .with_context(|| format!("connecting to {url}"))
        .map_err(AppError::BadGateway)?;
    Ok(upgrade
        .protocols([SUBPROTOCOL])
        .on_upgrade(move |client| relay(client, upstream)))
}

async fn relay(client: WebSocket, upstream: UpstreamSocket) {
    let (mut to_client, mut from_client) = client.split();
    let (mut to_upstream, mut from_upstream) = upstream.split();
    let client_to_upstream = async {
        while let Some(Ok(message)) = from_client.next().await {
            let Some(message) = to_upstream_message(message) else {
                continue;
            };
            let closing = message.is_close();
            if to_upstream.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = to_upstream.close().await;
    };
    let upstream_to_client = async {
        while let Some(Ok(message)) = from_upstream.next().await {
            let Some(message) = to_client_message(message) else {
                continue;
            };
            let closing = matches!(message, ws::Message::Close(_));
            if to_client.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = to_client.close().await;
    };
    // Whichever direction ends first ends the session.
    tokio::select! {
        () = client_to_upstream => {}
        () = upstream_to_client => {}
    }
}

fn to_upstream_message(message: ws::Message) -> Option<tung::Message> {
    Some(match message {
        ws::Message::Text(text) => tung::Message::text(text.as_str()),
        ws::Message::Binary(bytes) => tung::Message::binary(bytes),
        ws::Message::Close(frame) => {
            tung::Message::Close(frame.map(|f| tung::protocol::CloseFrame {
                code: CloseCode::from(f.code),
                reason: f.reason.as_str().into(),
            }))
        }
        ws::Message::Ping(_) | ws::Message::Pong(_) => return None,
    })
}

fn to_client_message(message: tung::Message) -> Option<ws::Message> {
    Some(match message {
        tung::Message::Text(text) => ws::Message::Text(text.as_str().into()),
        tung::Message::Binary(bytes) => ws::Message::Binary(bytes),
        tung::Message::Close(frame) => ws::Message::Close(frame.map(|f| CloseFrame {
            code: u16::from(f.code),
            reason: f.reason.as_str().into(),
        })),
        tung::Message::Ping(_) | tung::Message::Pong(_) | tung::Message::Frame(_) => return None,
    })
}
