//! Hosting the dashboard built by Trunk: its files, `index.html` for client routes (SPA
//! fallback) with the client configuration inlined, the precompressed copies of the assets
//! when the browser accepts them, long-lived caching for content-hashed assets and none for
//! the page itself.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::{client_config, AppState};

/// `Cache-Control` of assets whose name carries a hash of their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else: revalidate each time.
pub const NO_CACHE: &str = "no-cache";

/// Serves `dist`: `/index.html`, `/` and any path that looks like a client route (no extension
/// in its last segment, SPA fallback) get the page with the client configuration inlined
/// ([`client_config::inline_in_page`]); other paths the file, or a 404.
pub fn router(dist: &Path) -> Router<AppState> {
    // Trunk.toml writes compressed copies beside the assets; sent as they are when accepted.
    let files = ServeDir::new(dist)
        .precompressed_zstd()
        .precompressed_gzip();
    let index: Arc<Path> = dist.join("index.html").into();
    Router::new()
        .fallback(move |State(state): State<AppState>, request: Request| {
            serve(files.clone(), index.clone(), state, request)
        })
        .layer(middleware::from_fn(cache_control))
}

async fn serve(files: ServeDir, index: Arc<Path>, state: AppState, request: Request) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reads || !is_page(request.uri().path()) {
        return match files.oneshot(request).await {
            Ok(response) => response.into_response(),
            Err(never) => match never {},
        };
    }
    match tokio::fs::read_to_string(&index).await {
        Ok(page) => {
            let config = client_config::for_request(&state, request.headers());
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                client_config::inline_in_page(&page, &config),
            )
                .into_response()
        }
        Err(error) => {
            tracing::error!(%error, path = %index.display(), "dashboard index.html unreadable");
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

/// The page itself, or a client route: no extension in the last segment.
fn is_page(path: &str) -> bool {
    path == "/index.html" || !path.rsplit('/').next().unwrap_or("").contains('.')
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

    #[test]
    fn pages_are_the_index_and_client_routes() {
        for page in [
            "/",
            "/index.html",
            "/incidents",
            "/incidents/01JD00",
            "/map/",
        ] {
            assert!(is_page(page), "{page}");
        }
        for file in ["/main-0123456789abcdef.css", "/favicon.ico", "/a/b.js"] {
            assert!(!is_page(file), "{file}");
        }
    }
}
