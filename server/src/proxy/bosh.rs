//! BOSH (XEP-0206) proxy: each HTTP request forwarded as it is, minus hop-by-hop headers.
//! BOSH holds requests open up to its `wait` (60 s by default), hence the long timeout.

use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::{AppError, AppState};

const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn proxy(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let (mut parts, body) = request.into_parts();
    let url = state.upstream.bosh_url(parts.uri.query());
    parts.uri = url
        .parse()
        .with_context(|| format!("upstream BOSH URL {url}"))
        .map_err(AppError::Internal)?;
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::HOST);
    let forwarded = Request::from_parts(parts, body);

    let response = tokio::time::timeout(UPSTREAM_TIMEOUT, state.upstream.client.request(forwarded))
        .await
        .context("upstream BOSH request timed out")
        .map_err(AppError::BadGateway)?
        .with_context(|| format!("forwarding to {url}"))
        .map_err(AppError::BadGateway)?;
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)).into_response())
}

/// Headers that concern one connection only (RFC 9110 §7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
    headers.remove(header::PROXY_AUTHORIZATION);
    headers.remove(header::PROXY_AUTHENTICATE);
}
