//! Hosting the dashboard built by Trunk: its files, `index.html` for client routes (SPA
//! fallback), long-lived caching for content-hashed assets and none for the page itself.

use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;

/// `Cache-Control` of assets whose name carries a hash of their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else: revalidate each time.
pub const NO_CACHE: &str = "no-cache";

/// Serves `dist`; a path that is no file gets `index.html` when it looks like a client route
/// (no extension in its last segment), a 404 otherwise.
pub fn router<S: Clone + Send + Sync + 'static>(dist: &Path) -> Router<S> {
    let index = dist.join("index.html");
    let spa = Router::new().fallback(get(spa_index)).with_state(index);
    let files = ServeDir::new(dist)
        .append_index_html_on_directories(true)
        .fallback(spa);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_control))
}

async fn spa_index(State(index): State<PathBuf>, request: Request) -> Response {
    let last_segment = request.uri().path().rsplit('/').next().unwrap_or("");
    if last_segment.contains('.') {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(&index).await {
        Ok(page) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response(),
        Err(error) => {
            tracing::error!(%error, path = %index.display(), "dashboard index.html unreadable");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

async fn cache_control(request: Request, next: Next) -> Response {
    let immutable = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let value = if immutable { IMMUTABLE } else { NO_CACHE };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// Trunk names built assets `name-<hex hash>.ext` or `name-<hex hash>_bg.wasm`.
pub fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or("");
    file.match_indices('-').any(|(at, _)| {
        let rest = &file[at + 1..];
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        (8..=64).contains(&hex) && matches!(rest.as_bytes().get(hex), Some(b'.' | b'_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_assets_are_recognised() {
        for hashed in [
            "/vigie-dashboard-5f1c2a9e0b7d4c3a_bg.wasm",
            "/vigie-dashboard-5f1c2a9e0b7d4c3a.js",
            "/style/main-0123456789abcdef.css",
        ] {
            assert!(is_hashed_asset(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/favicon.ico",
            "/incidents/01JD0000000000000000000001",
            "/vigie-dashboard.js",
            "/a-cafe.js",
        ] {
            assert!(!is_hashed_asset(plain), "{plain}");
        }
    }
}
