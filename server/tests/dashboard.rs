//! The dashboard's page and files as the server sends them: the client configuration inlined in
//! the page, and the build's precompressed copies of the assets (Trunk.toml).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{router_with, send};
use sqlx::MySqlPool;
use vigie_server::{ClientConfig, Config};

const PAGE: &str = "<!DOCTYPE html><html><head><title>Vigie</title></head><body></body></html>";

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn the_page_carries_the_client_configuration(pool: MySqlPool) {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), PAGE).unwrap();
    let config = Config {
        dist: Some(dist.path().to_owned()),
        ..Config::with_database("unused")
    };
    let app = router_with(pool, config);
    for page in ["/", "/index.html", "/incidents/01JD0000000000000000000000"] {
        let request = Request::get(page)
            .header("host", "vigie.test:8080")
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        let text = reply.text();
        let json = text
            .split_once(r#"<script type="application/json" id="vigie-config">"#)
            .and_then(|(before, rest)| {
                assert_eq!(before, "<!DOCTYPE html><html><head><title>Vigie</title>");
                rest.split_once("</script></head><body></body></html>")
            })
            .map(|(json, _)| json)
            .unwrap_or_else(|| panic!("{page}: no configuration in {text}"));
        // The very configuration `/api/v1/config` answers for this origin.
        let inlined: ClientConfig = serde_json::from_str(json).unwrap();
        let request = Request::get("/api/v1/config")
            .header("host", "vigie.test:8080")
            .body(Body::empty())
            .unwrap();
        let asked: ClientConfig = serde_json::from_value(send(&app, request).await.json()).unwrap();
        assert_eq!(inlined, asked, "{page}");
        assert_eq!(inlined.websocket_url, "ws://vigie.test:8080/xmpp-websocket");
    }
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn precompressed_assets_are_sent_as_built(pool: MySqlPool) {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), PAGE).unwrap();
    let wasm = "vigie-dashboard-5f1c2a9e0b7d4c3a_bg.wasm";
    std::fs::write(dist.path().join(wasm), vec![7u8; 4096]).unwrap();
    // Stand-ins for gzip's and zstd's output: what is on disk is what goes out.
    std::fs::write(dist.path().join(format!("{wasm}.gz")), "gzip copy").unwrap();
    std::fs::write(dist.path().join(format!("{wasm}.zst")), "zstd copy").unwrap();
    let config = Config {
        dist: Some(dist.path().to_owned()),
        ..Config::with_database("unused")
    };
    let app = router_with(pool, config);
    for (accepted, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("zstd"), "zstd copy"),
        ("gzip, br", Some("gzip"), "gzip copy"),
    ] {
        let request = Request::get(format!("/{wasm}"))
            .header("accept-encoding", accepted)
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, request).await;
        assert_eq!(reply.status, StatusCode::OK, "{accepted}");
        assert_eq!(reply.header("content-encoding"), encoding, "{accepted}");
        assert_eq!(reply.header("content-type"), Some("application/wasm"));
        assert_eq!(reply.text(), body, "{accepted}");
    }
    let plain = send(
        &app,
        Request::get(format!("/{wasm}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, vec![7u8; 4096]);
}
