//! `/api/v1/config`: what the dashboard needs to reach XMPP, so it hard-codes nothing.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::{Json, Router};
pub use vigie_model::contract::ClientConfig;
use vigie_model::contract::{BOSH_PATH, WEBSOCKET_PATH};

use crate::AppState;

/// Public XMPP URLs given by flags; absent ones are this server's own proxied paths.
#[derive(Debug, Clone, Default)]
pub struct PublicUrls {
    pub websocket: Option<String>,
    pub bosh: Option<String>,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/config", get(client_config))
}

/// Where and how the dashboard reaches XMPP.
#[utoipa::path(get, path = "/api/v1/config", tag = "dashboard", responses((status = 200, body = ClientConfig)))]
pub(crate) async fn client_config(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Json<ClientConfig> {
    let origin = request_origin(&headers);
    let own = |ws: bool, path: &str| match &origin {
        Some((https, host)) => {
            let scheme = match (ws, https) {
                (true, true) => "wss",
                (true, false) => "ws",
                (false, true) => "https",
                (false, false) => "http",
            };
            format!("{scheme}://{host}{path}")
        }
        None => path.to_owned(),
    };
    Json(ClientConfig::new(
        state
            .public_urls
            .websocket
            .clone()
            .unwrap_or_else(|| own(true, WEBSOCKET_PATH)),
        state
            .public_urls
            .bosh
            .clone()
            .unwrap_or_else(|| own(false, BOSH_PATH)),
    ))
}

/// Whether the page was loaded over HTTPS, and the host it was loaded from, as a reverse proxy in
/// front (X-Forwarded-Proto/Host) or the request itself says.
fn request_origin(headers: &HeaderMap) -> Option<(bool, String)> {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
    };
    let host = first("x-forwarded-host").or_else(|| first(header::HOST.as_str()))?;
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
    let https = first("x-forwarded-proto").is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    plausible.then(|| (https, host.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_origin(&headers), None);
        headers.insert("host", "vigie.example:8080".parse().unwrap());
        assert_eq!(
            request_origin(&headers),
            Some((false, "vigie.example:8080".into()))
        );
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "public.example, inner".parse().unwrap());
        assert_eq!(
            request_origin(&headers),
            Some((true, "public.example".into()))
        );
        headers.insert("x-forwarded-host", "evil/<script>".parse().unwrap());
        assert_eq!(request_origin(&headers), None);
    }
}
