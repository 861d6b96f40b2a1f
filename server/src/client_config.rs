//! `/api/v1/config`: what the dashboard needs to reach XMPP, so it hard-codes nothing. The
//! same JSON is inlined in the dashboard's page when the server serves it
//! ([`inline_in_page`]), so the page starts its XMPP session without a round trip first.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::{Json, Router};
pub use vigie_model::contract::ClientConfig;
use vigie_model::contract::{BOSH_PATH, CONFIG_ELEMENT_ID, WEBSOCKET_PATH};

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
    Json(for_request(&state, &headers))
}

/// The configuration for a page requested with `headers`: the public URLs given by flags, or
/// this server's own proxied paths on the origin the page was loaded from.
pub(crate) fn for_request(state: &AppState, headers: &HeaderMap) -> ClientConfig {
    let origin = request_origin(headers);
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
    ClientConfig::new(
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
    )
}

/// `page` (the dashboard's `index.html`) with `config` inlined before `</head>`, as the JSON
/// `/api/v1/config` answers in `<script type="application/json" id="vigie-config">`: the page
/// opens its XMPP connection without waiting for a request first. A page without `</head>` is
/// left as it is (the dashboard then asks `/api/v1/config`).
pub(crate) fn inline_in_page(page: &str, config: &ClientConfig) -> String {
    let Some(head_end) = page.find("</head>") else {
        return page.to_owned();
    };
    // `<` escaped as `\u003c` (the same JSON), so no text in it can close the script element.
    let json = serde_json::to_string(config)
        .expect("a ClientConfig is plain strings")
        .replace('<', "\\u003c");
    format!(
        "{}<script type=\"application/json\" id=\"{CONFIG_ELEMENT_ID}\">{json}</script>{}",
        &page[..head_end],
        &page[head_end..]
    )
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

    #[test]
    fn config_inlined_before_head_end_and_inert() {
        let config = ClientConfig::new(
            "wss://x.example/ws</script><script>alert(1)</script>".into(),
            "https://x.example/bosh".into(),
        );
        let page = "<html><head><title>V</title></head><body></body></html>";
        let inlined = inline_in_page(page, &config);
        let (head, rest) = inlined.split_once("</head>").unwrap();
        assert_eq!(rest, "<body></body></html>");
        let json = head
            .strip_prefix("<html><head><title>V</title><script type=\"application/json\" id=\"vigie-config\">")
            .and_then(|script| script.strip_suffix("</script>"))
            .unwrap();
        assert!(!json.contains('<'), "{json}");
        let parsed: ClientConfig = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, config);
        // No head end: the page asks /api/v1/config itself.
        assert_eq!(
            inline_in_page("<title>V</title>", &config),
            "<title>V</title>"
        );
    }
}
