//! Just enough raw XMPP over WebSocket (RFC 7395) to check a server: literal stanzas, string
//! matching. The real client lives in crates/xmpp.

#![allow(dead_code)] // Each test file uses a part.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

pub struct RawXmpp {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub jid: String,
}

impl RawXmpp {
    /// Logs in with SASL PLAIN (`Some((user, password))`) or ANONYMOUS, and binds a resource.
    pub async fn login(ws_url: &str, domain: &str, credentials: Option<(&str, &str)>) -> RawXmpp {
        let mut request = ws_url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("xmpp"));
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket connect");
        let mut xmpp = RawXmpp {
            socket,
            jid: String::new(),
        };
        let open = format!(
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>"
        );
        xmpp.send(&open).await;
        let features = xmpp.until(|f| f.contains("<stream:features")).await;
        let auth = match credentials {
            Some((user, password)) => {
                assert!(features.contains(">PLAIN<"), "no PLAIN in {features}");
                format!(
                    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
                    base64(format!("\0{user}\0{password}").as_bytes())
                )
            }
            None => {
                assert!(
                    features.contains(">ANONYMOUS<"),
                    "no ANONYMOUS in {features}"
                );
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>".to_owned()
            }
        };
        xmpp.send(&auth).await;
        let outcome = xmpp
            .until(|f| f.contains("<success") || f.contains("<failure"))
            .await;
        assert!(outcome.contains("<success"), "login refused: {outcome}");
        xmpp.send(&open).await;
        xmpp.until(|f| f.contains("<stream:features")).await;
        xmpp.send(
            "<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>",
        )
        .await;
        let bound = xmpp.until(|f| f.contains("id='bind1'")).await;
        xmpp.jid = between(&bound, "<jid>", "</jid>")
            .expect("bound JID")
            .to_owned();
        xmpp
    }

    pub async fn send(&mut self, stanza: &str) {
        self.socket
            .send(Message::text(stanza))
            .await
            .expect("send a frame");
    }

    /// The next frame for which `wanted` holds, skipping others.
    pub async fn until(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        tokio::time::timeout(WAIT, async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) if wanted(text.as_str()) => {
                        return text.to_string()
                    }
                    Some(Ok(_)) => {}
                    other => panic!("stream ended: {other:?}"),
                }
            }
        })
        .await
        .expect("timed out waiting for a frame")
    }

    /// Joins `room_jid` as `nick`; returns our own presence in the room (status 110) or the
    /// error presence.
    pub async fn join(&mut self, room_jid: &str, nick: &str) -> String {
        self.send(&format!(
            "<presence xmlns='jabber:client' to='{room_jid}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>\
             <history maxstanzas='0'/></x></presence>"
        ))
        .await;
        let from = format!("from='{room_jid}/{nick}'");
        self.until(|f| {
            f.starts_with("<presence")
                && f.contains(&from)
                && (f.contains("code='110'") || f.contains("type='error'"))
        })
        .await
    }
}

/// The value of `name='…'` (or `name="…"`) in `xml`'s first `<item`.
pub fn item_attribute<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let item = &xml[xml.find("<item")?..];
    let item = &item[..item.find('>')?];
    between(item, &format!("{name}='"), "'").or_else(|| between(item, &format!("{name}=\""), "\""))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    Some(&text[from..from + text[from..].find(end)?])
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_rfc_examples() {
    assert_eq!(base64(b"foob"), "Zm9vYg==");
    assert_eq!(base64(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}
