//! The XMPP proxy against stand-in upstreams and a real Prosody: WebSocket frames and
//! subprotocol both ways, BOSH requests forwarded, and XEP-0156 discovery of both endpoints.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{router_with, send};
use futures_util::{SinkExt, StreamExt};
use sqlx::mysql::MySqlPoolOptions;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{
    Request as WsRequest, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::Message;
use vigie_server::Config;
use vigie_xmpp::discovery::{
    parse_host_meta, parse_host_meta_json, Endpoints, HOST_META_JSON_PATH, HOST_META_PATH,
};
use vigie_xmpp::driver_tokio::{connect, discover};
use vigie_xmpp::{ClientConfig, Event as XmppEvent, Limits, Transport};

/// The server under test, proxying to `upstream`; no database is needed for the proxy.
async fn start_server(upstream: SocketAddr) -> (SocketAddr, Router) {
    let pool = MySqlPoolOptions::new()
        .connect_lazy("mysql://unused@127.0.0.1:1/none")
        .unwrap();
    let config = Config {
        prosody_http_url: format!("http://{upstream}").parse().unwrap(),
        ..Config::with_database("unused")
    };
    let app = router_with(pool, config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let served = app.clone();
    tokio::spawn(async move { axum::serve(listener, served).await.unwrap() });
    (address, app)
}

/// A WebSocket upstream that requires the `xmpp` subprotocol on `/xmpp-websocket` and echoes
/// text frames upper-cased.
async fn start_websocket_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut socket = tokio_tungstenite::accept_hdr_async(stream, require_xmpp)
                    .await
                    .unwrap();
                while let Some(Ok(message)) = socket.next().await {
                    match message {
                        Message::Text(text) => {
                            socket
                                .send(Message::text(text.as_str().to_uppercase()))
                                .await
                                .unwrap();
                        }
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
            });
        }
    });
    address
}

/// The upstream's handshake check; its signature is tungstenite's callback's.
#[allow(clippy::result_large_err)]
fn require_xmpp(
    request: &WsRequest,
    mut response: WsResponse,
) -> Result<WsResponse, tokio_tungstenite::tungstenite::handshake::server::ErrorResponse> {
    assert_eq!(request.uri().path(), "/xmpp-websocket");
    assert_eq!(request.headers()["sec-websocket-protocol"], "xmpp");
    response
        .headers_mut()
        .insert("sec-websocket-protocol", "xmpp".parse().unwrap());
    Ok(response)
}

#[tokio::test]
async fn websocket_frames_flow_both_ways_with_the_xmpp_subprotocol() {
    let upstream = start_websocket_upstream().await;
    let (server, _) = start_server(upstream).await;

    let mut request = format!("ws://{server}/xmpp-websocket")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "xmpp".parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "xmpp");
    for stanza in [
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>",
        "<iq/>",
    ] {
        socket.send(Message::text(stanza)).await.unwrap();
        let echoed = socket.next().await.unwrap().unwrap();
        assert_eq!(echoed, Message::text(stanza.to_uppercase()));
    }
    socket.close(None).await.unwrap();
}

#[tokio::test]
async fn unreachable_upstream_is_a_502() {
    // Bind then drop: nothing listens there any more.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (server, app) = start_server(closed).await;

    let mut request = format!("ws://{server}/xmpp-websocket")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "xmpp".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::BAD_GATEWAY)
        }
        other => panic!("expected a 502, got {other:?}"),
    }

    let bosh = Request::post("/http-bind")
        .body(Body::from("<body/>"))
        .unwrap();
    let reply = send(&app, bosh).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn bosh_requests_are_forwarded() {
    let upstream_app = Router::new().route(
        "/http-bind",
        post(|headers: axum::http::HeaderMap, body: String| async move {
            let content_type = headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let private = headers.contains_key("x-private").to_string();
            let host = headers
                .get("host")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (
                [
                    ("content-type", "text/xml; charset=utf-8".to_owned()),
                    ("x-seen-content-type", content_type),
                    ("x-seen-host", host),
                    ("x-seen-private", private),
                ],
                format!("<body xmlns='http://jabber.org/protocol/httpbind'>{body}</body>"),
            )
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, upstream_app).await.unwrap() });
    let (_, app) = start_server(upstream).await;

    let request = Request::post("/http-bind")
        .header("content-type", "text/xml; charset=utf-8")
        .header("host", "vigie.test")
        .header("connection", "keep-alive, x-private")
        .header("x-private", "hop")
        .body(Body::from("<auth/>"))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.text(),
        "<body xmlns='http://jabber.org/protocol/httpbind'><auth/></body>"
    );
    assert_eq!(
        reply.header("x-seen-content-type"),
        Some("text/xml; charset=utf-8")
    );
    assert_eq!(
        reply.header("x-seen-host"),
        Some(upstream.to_string().as_str())
    );
}

#[tokio::test]
async fn clients_discover_the_endpoints_and_log_in_through_the_server() {
    let prosody = tokio::task::spawn_blocking(vigie_stack::Prosody::start_for_test)
        .await
        .unwrap()
        .expect("a private Prosody starts");
    let upstream: SocketAddr = ([127, 0, 0, 1], prosody.http_port()).into();
    let (server, app) = start_server(upstream).await;

    // XEP-0156: both documents name this server's own proxied endpoints, for any origin.
    let endpoints = discover(&format!("http://{server}"), &Limits::default())
        .await
        .expect("host-meta is published");
    assert_eq!(
        endpoints,
        Endpoints {
            websocket: vec![format!("ws://{server}/xmpp-websocket")],
            bosh: vec![format!("http://{server}/http-bind")],
        }
    );
    for path in [HOST_META_PATH, HOST_META_JSON_PATH] {
        let request = Request::get(path)
            .header("host", server.to_string())
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(
            reply.headers.get("access-control-allow-origin").unwrap(),
            "*"
        );
        let read = if path.ends_with(".json") {
            parse_host_meta_json(&reply.text())
        } else {
            parse_host_meta(&reply.text(), &Limits::default())
        };
        assert_eq!(read.unwrap(), endpoints, "{path}");
    }

    // The core's own drivers log in (SASL ANONYMOUS, bind) over each discovered endpoint,
    // through the proxy to the real Prosody.
    let logins = [
        (&endpoints.websocket[0], Transport::WebSocket),
        (&endpoints.bosh[0], Transport::bosh(1000)),
    ];
    for (url, transport) in logins {
        let config = ClientConfig::anonymous("anon.localhost").with_transport(transport);
        let (handle, mut events) = connect(url, config)
            .await
            .unwrap_or_else(|error| panic!("login over {url}: {error:?}"));
        assert!(
            matches!(events.recv().await, Some(XmppEvent::Online { .. })),
            "{url}"
        );
        handle.close().await;
    }
}
