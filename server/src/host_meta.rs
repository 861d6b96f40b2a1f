//! XEP-0156: `/.well-known/host-meta` (XRD) and `/.well-known/host-meta.json` announce the
//! WebSocket and BOSH endpoints the dashboard is given ([`client_config`]), so any XMPP client
//! pointed at this server's origin finds them.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use vigie_xmpp::discovery::{self, Endpoints, HOST_META_JSON_PATH, HOST_META_PATH};

use crate::{client_config, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(HOST_META_PATH, get(xrd))
        .route(HOST_META_JSON_PATH, get(json))
}

/// XEP-0156 §3.1: the links as an XRD document.
async fn xrd(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let xml = discovery::host_meta(&endpoints(&state, &headers)).to_xml();
    (published("application/xrd+xml; charset=utf-8"), xml)
}

/// XEP-0156 §3.2: the same links in RFC 6415's JSON form.
async fn json(State(state): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let endpoints = endpoints(&state, &headers);
    let links: Vec<_> = endpoints
        .links()
        .map(|(rel, href)| json!({ "rel": rel, "href": href }))
        .collect();
    let document = json!({ "links": links }).to_string();
    (published("application/json"), document)
}

fn endpoints(state: &AppState, headers: &HeaderMap) -> Endpoints {
    let config = client_config::for_request(state, headers);
    Endpoints {
        websocket: vec![config.websocket_url],
        bosh: vec![config.bosh_url],
    }
}

/// Readable by pages of any origin (XEP-0156 §3: a web client of another origin discovers
/// through CORS).
fn published(content_type: &'static str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
    ]
}
