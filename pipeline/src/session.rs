//! An XMPP session in the event rooms, shared by the gateway and the collector: log in over
//! WebSocket, join the rooms, and wait until every join is confirmed.

use std::time::Duration;

use anyhow::{bail, Context};
use tokio::sync::mpsc;
use vigie_xmpp::driver_tokio::{connect, Handle};
use vigie_xmpp::{Backoff, ClientConfig, Event, History};

/// Where and as whom a program logs in.
#[derive(Debug, Clone, clap::Args)]
pub struct XmppArgs {
    /// The server's RFC 7395 WebSocket endpoint.
    #[arg(
        long,
        env = "XMPP_WS_URL",
        default_value = "ws://127.0.0.1:5280/xmpp-websocket"
    )]
    pub xmpp_ws_url: String,
    /// The account's JID.
    #[arg(long, env = "XMPP_JID")]
    pub xmpp_jid: String,
    #[arg(long, env = "XMPP_PASSWORD", hide_env_values = true)]
    pub xmpp_password: String,
}

/// How long to wait for the rooms to confirm the joins.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Logs in and joins `rooms` (bare JIDs) as `nick`; returns once every room confirmed.
/// Events that arrive meanwhile (history, messages) are kept in the channel for the caller.
pub async fn join_rooms(
    args: &XmppArgs,
    rooms: &[String],
    nick: &str,
    history: History,
) -> anyhow::Result<(Handle, mpsc::Receiver<Event>, Vec<Event>)> {
    let resource = format!("{}/{nick}-{}", args.xmpp_jid, std::process::id());
    let config = ClientConfig::login(&resource, &args.xmpp_password)
        .with_context(|| format!("invalid XMPP JID {:?}", args.xmpp_jid))?;
    let (handle, mut events) = connect(&args.xmpp_ws_url, config)
        .await
        .with_context(|| format!("XMPP login to {} as {}", args.xmpp_ws_url, args.xmpp_jid))?;
    for room in rooms {
        handle.join_room(room, nick, history.clone()).await?;
    }
    let mut pending: Vec<&String> = rooms.iter().collect();
    let mut early = Vec::new();
    let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    while !pending.is_empty() {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .with_context(|| format!("rooms did not confirm the join: {pending:?}"))?;
        match event {
            Some(Event::RoomJoined { room, .. }) => pending.retain(|r| **r != room),
            Some(Event::RoomJoinFailed { room, error }) => {
                bail!("joining {room} failed: {}", error.condition)
            }
            Some(Event::Disconnected { error }) => {
                bail!("XMPP session ended while joining: {error:?}")
            }
            Some(other) => early.push(other),
            None => bail!("XMPP session ended while joining"),
        }
    }
    Ok((handle, events, early))
}

/// Exponential backoff with jitter for reconnecting: 0.5 s doubling up to 30 s.
pub fn backoff(attempt: u32) -> Duration {
    let steps = Backoff {
        initial: Duration::from_millis(500),
        max: Duration::from_secs(30),
    };
    steps.delay(attempt, rand::random())
}
