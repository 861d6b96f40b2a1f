//! One origin for the page: `/xmpp-websocket` and `/http-bind` forwarded to Prosody's HTTP port,
//! the role Apache's mod_proxy played in the reference architecture.

mod bosh;
mod websocket;

use axum::body::Body;
use axum::http::Uri;
use axum::routing::{any, get};
use axum::Router;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use vigie_model::contract::{BOSH_PATH, WEBSOCKET_PATH};

use crate::AppState;

/// Where Prosody's HTTP port is, and a client for it.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `host:port`.
    authority: String,
    /// Path prefix before Prosody's own paths, without a trailing slash (usually empty).
    prefix: String,
    client: Client<HttpConnector, Body>,
}

impl Upstream {
    /// `base` is an `http://` URL (checked by the configuration).
    pub fn new(base: &Uri) -> Upstream {
        Upstream {
            authority: base.authority().map(|a| a.to_string()).unwrap_or_default(),
            prefix: base.path().trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build(nodelay_connector()),
        }
    }

    fn websocket_url(&self) -> String {
        format!("ws://{}{}{WEBSOCKET_PATH}", self.authority, self.prefix)
    }

    fn bosh_url(&self, query: Option<&str>) -> String {
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        format!("http://{}{}{BOSH_PATH}{query}", self.authority, self.prefix)
    }
}

/// Prosody's BOSH answers leave at once, not after a delayed ACK (Nagle's algorithm off).
fn nodelay_connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(WEBSOCKET_PATH, get(websocket::proxy))
        .route(BOSH_PATH, any(bosh::proxy))
}
