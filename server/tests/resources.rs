//! The other resources: XMPP settings, zones, health, the dashboard's files, a database outage,
//! and the server started in-process.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{
    assert_bad_parameter, database_url, fetch, get, has_header, router, router_with, send,
    wait_until_ready,
};
use sqlx::mysql::MySqlPoolOptions;
use sqlx::MySqlPool;
use vigie_model::contract;
use vigie_model::City;
use vigie_server::{Config, IMMUTABLE, NO_CACHE};

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn config_points_the_dashboard_at_this_origin(pool: MySqlPool) {
    let app = router(pool.clone());
    let request = Request::get("/api/v1/config")
        .header("host", "vigie.test:8080")
        .body(Body::empty())
        .unwrap();
    let config = send(&app, request).await.json();
    assert_eq!(
        config["websocket_url"],
        "ws://vigie.test:8080/xmpp-websocket"
    );
    assert_eq!(config["bosh_url"], "http://vigie.test:8080/http-bind");
    assert_eq!(config["domain"], contract::XMPP_DOMAIN);
    assert_eq!(config["anonymous_domain"], contract::ANON_DOMAIN);
    assert_eq!(config["muc_service"], contract::MUC_SERVICE);
    assert_eq!(
        config["event_rooms"],
        serde_json::json!(contract::EVENT_ROOMS)
    );
    assert_eq!(config["ops_room"], contract::OPS_ROOM);

    let behind_tls = Request::get("/api/v1/config")
        .header("host", "inner:8080")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "vigie.example")
        .body(Body::empty())
        .unwrap();
    let config = send(&app, behind_tls).await.json();
    assert_eq!(
        config["websocket_url"],
        "wss://vigie.example/xmpp-websocket"
    );
    assert_eq!(config["bosh_url"], "https://vigie.example/http-bind");

    let flags = Config {
        xmpp_ws_public_url: Some("wss://xmpp.example/ws".into()),
        xmpp_bosh_public_url: Some("https://xmpp.example/bosh".into()),
        ..Config::with_database("unused")
    };
    let config = get(&router_with(pool, flags), "/api/v1/config")
        .await
        .json();
    assert_eq!(config["websocket_url"], "wss://xmpp.example/ws");
    assert_eq!(config["bosh_url"], "https://xmpp.example/bosh");
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn zones_are_geojson(pool: MySqlPool) {
    let reply = get(&router(pool), "/api/v1/zones").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/geo+json"));
    let collection = reply.json();
    assert_eq!(collection["type"], "FeatureCollection");
    let city = City::builtin();
    let features = collection["features"].as_array().unwrap();
    assert_eq!(features.len(), city.zones.len() + city.roads.len());
    let zone = features
        .iter()
        .find(|f| f["properties"]["kind"] == "zone")
        .unwrap();
    assert_eq!(zone["geometry"]["type"], "Polygon");
    let ring = zone["geometry"]["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.first(), ring.last(), "rings are closed");
    let road = features
        .iter()
        .find(|f| f["properties"]["kind"] == "road")
        .unwrap();
    assert_eq!(road["geometry"]["type"], "LineString");
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn resources_without_parameters_refuse_any_by_name(pool: MySqlPool) {
    let app = router(pool);
    for path in ["/api/v1/config", "/api/v1/zones", "/api/openapi.json"] {
        assert_eq!(get(&app, path).await.status, StatusCode::OK, "{path}");
        assert_eq!(get(&app, &format!("{path}?")).await.status, StatusCode::OK);
        assert_bad_parameter(
            &get(&app, &format!("{path}?bbox=1,2,3,4")).await,
            "bbox",
            path,
        );
        let long = "p".repeat(100);
        let reply = get(&app, &format!("{path}?{long}=1&x=2")).await;
        assert_bad_parameter(&reply, &format!("{}…", &long[..64]), path);
    }
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn health_and_readiness(pool: MySqlPool) {
    let app = router(pool);
    assert_eq!(get(&app, "/healthz").await.json()["status"], "ok");
    assert_eq!(get(&app, "/readyz").await.json()["status"], "ready");
}

#[tokio::test]
async fn database_down_is_a_503_with_retry_after() {
    // Nothing listens on port 1.
    let pool = MySqlPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("mysql://nobody:secret@127.0.0.1:1/vigie")
        .unwrap();
    let app = router(pool);
    assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    for uri in [
        "/readyz",
        "/api/v1/incidents",
        "/api/v1/incidents/01JD0000000000000000000000",
    ] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(reply.header("retry-after"), Some("5"), "{uri}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{uri}"
        );
        assert!(
            !reply.text().contains("secret") && !reply.text().contains("127.0.0.1"),
            "{uri} leaks: {}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn the_api_recovers_without_a_restart_when_mysql_returns() {
    // A MariaDB of its own, so stopping it harms no other test.
    let state = tempfile::tempdir().unwrap();
    let port = vigie_stack::free_port();
    let start = {
        let dir = state.path().to_owned();
        move || vigie_stack::Mysql::start_private(&dir, port).unwrap()
    };
    let mysql = tokio::task::spawn_blocking(start.clone()).await.unwrap();
    let url = mysql.ensure_database("vigie").unwrap();
    let app = router(vigie_server::connect(&url).await.unwrap());
    let incidents = "/api/v1/incidents?kind=jam";
    assert_eq!(get(&app, incidents).await.status, StatusCode::OK);

    tokio::task::spawn_blocking(move || mysql.stop())
        .await
        .unwrap();
    for uri in [incidents, "/readyz", "/api/v1/incidents.csv"] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(reply.header("retry-after"), Some("5"), "{uri}");
    }

    let _mysql = tokio::task::spawn_blocking(start).await.unwrap();
    // The pool drops the connections that died with the server and opens new ones.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let reply = get(&app, incidents).await;
        if reply.status == StatusCode::OK {
            break;
        }
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.text()
        );
        assert!(
            std::time::Instant::now() < deadline,
            "still 503 30 s after MySQL returned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn the_dashboard_is_served_with_spa_fallback_and_cache_headers(pool: MySqlPool) {
    let dist = tempfile::tempdir().unwrap();
    let index = "<!doctype html><title>Vigie</title><script src=/vigie-dashboard-5f1c2a9e0b7d4c3a.js></script>";
    std::fs::write(dist.path().join("index.html"), index).unwrap();
    let wasm = vec![0u8; 4096];
    std::fs::write(
        dist.path().join("vigie-dashboard-5f1c2a9e0b7d4c3a_bg.wasm"),
        &wasm,
    )
    .unwrap();
    std::fs::write(
        dist.path().join("vigie-dashboard-5f1c2a9e0b7d4c3a.js"),
        "export default 1;\n".repeat(100),
    )
    .unwrap();
    std::fs::write(dist.path().join("favicon.ico"), "icon").unwrap();
    let config = Config {
        dist: Some(dist.path().to_owned()),
        ..Config::with_database("unused")
    };
    let app = router_with(pool, config);

    for page in [
        "/",
        "/index.html",
        "/incidents",
        "/incidents/01JD0000000000000000000000",
        "/map/",
    ] {
        let reply = get(&app, page).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        assert_eq!(reply.text(), index, "{page}");
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/html"),
            "{page}"
        );
        assert_eq!(reply.header("cache-control"), Some(NO_CACHE), "{page}");
    }
    let asset = get(&app, "/vigie-dashboard-5f1c2a9e0b7d4c3a_bg.wasm").await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.header("content-type"), Some("application/wasm"));
    assert_eq!(asset.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(asset.body, wasm);
    assert_eq!(
        get(&app, "/favicon.ico").await.header("cache-control"),
        Some(NO_CACHE)
    );
    assert_eq!(
        get(&app, "/missing-0123456789abcdef.js").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );

    // Compressed when the browser accepts it; the API is not shadowed by the fallback.
    for (encoding, expected) in [("br", "br"), ("gzip", "gzip")] {
        let request = Request::get("/vigie-dashboard-5f1c2a9e0b7d4c3a.js")
            .header("accept-encoding", encoding)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&app, request).await.header("content-encoding"),
            Some(expected)
        );
    }
    let api = get(&app, "/api/v1/unknown").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.header("content-type"), Some("application/problem+json"));
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn serve_runs_in_process_until_told_to_stop(pool: MySqlPool) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = Config::with_database(database_url(&pool).await);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vigie_server::serve(config, listener, async {
        stopped.await.ok();
    }));

    // Ready once the migrations are checked, in the background.
    wait_until_ready(address, &server, 10).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// Started while MySQL cannot be reached, the server serves at once: health, its settings, the
/// zones and the dashboard's files work, the history and readiness answer 503 with Retry-After.
/// When MySQL appears (a forwarder to it, bound after some seconds on the port of the server's
/// DATABASE_URL), the server applies the migrations and serves the history, without a restart.
#[sqlx::test(migrations = false)]
async fn started_before_mysql_the_server_serves_then_recovers_when_it_appears(pool: MySqlPool) {
    let mysql = vigie_stack::MysqlUrl::parse(&database_url(&pool).await).unwrap();
    let port = vigie_stack::free_port();
    let unreachable = vigie_stack::MysqlUrl {
        host: "127.0.0.1".into(),
        port,
        ..mysql.clone()
    };
    let dist = tempfile::tempdir().unwrap();
    let index = "<!doctype html><title>Vigie</title>";
    std::fs::write(dist.path().join("index.html"), index).unwrap();
    let config = Config {
        dist: Some(dist.path().to_owned()),
        ..Config::with_database(unreachable.to_string())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vigie_server::serve(config, listener, async {
        stopped.await.ok();
    }));

    let history = [
        "/readyz",
        "/api/v1/incidents",
        "/api/v1/incidents/01JD0000000000000000000000",
        "/api/v1/incidents.csv",
        "/api/v1/incidents.geojson",
        "/api/v1/stats?bucket=hour",
    ];
    let assert_history_unavailable = || async {
        for uri in history {
            let (status, response) = fetch(address, uri).await;
            assert_eq!(status, 503, "{uri}: {response}");
            assert!(
                has_header(&response, "retry-after", "5"),
                "{uri}: {response}"
            );
            assert!(
                has_header(&response, "content-type", "application/problem+json"),
                "{uri}: {response}"
            );
        }
    };
    for uri in [
        "/healthz",
        "/api/v1/config",
        "/api/v1/zones",
        "/",
        "/incidents",
    ] {
        let (status, response) = fetch(address, uri).await;
        assert_eq!(status, 200, "{uri} while MySQL is away: {response}");
    }
    assert!(fetch(address, "/").await.1.ends_with(index));
    assert_history_unavailable().await;
    // Longer than the pool's 3 s connection timeout: the first attempt has failed by then.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(
        !server.is_finished(),
        "the server gave up on a MySQL not there yet: {:?}",
        server.await
    );
    assert_history_unavailable().await;
    assert_eq!(fetch(address, "/healthz").await.0, 200);

    let forwarder = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(vigie_stack::forward(
        forwarder,
        format!("{}:{}", mysql.host, mysql.port),
    ));
    wait_until_ready(address, &server, 60).await;

    // The server made the schema: an incident stored now is served.
    let event = vigie_store::fixtures::open(
        vigie_model::EventKind::Accident,
        time::OffsetDateTime::now_utc(),
    );
    vigie_store::record_event(&pool, &event).await.unwrap();
    for uri in [
        "/api/v1/incidents".to_owned(),
        format!("/api/v1/incidents/{}", event.incident),
        "/api/v1/incidents.csv".to_owned(),
    ] {
        let (status, response) = fetch(address, &uri).await;
        assert_eq!(status, 200, "{uri}: {response}");
        assert!(response.contains(&event.incident), "{uri}: {response}");
    }
    let (status, stats) = fetch(address, "/api/v1/stats?bucket=hour").await;
    assert_eq!(status, 200, "{stats}");
    assert!(stats.contains(r#""kind":"accident","count":1"#), "{stats}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// What waiting cannot fix ends the server, with the reason: here a refused password.
#[sqlx::test(migrations = false)]
async fn refused_credentials_stop_the_server_with_the_reason(pool: MySqlPool) {
    let mysql = vigie_stack::MysqlUrl::parse(&database_url(&pool).await).unwrap();
    let refused = vigie_stack::MysqlUrl {
        password: "not-the-password".into(),
        ..mysql
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = Config::with_database(refused.to_string());
    let served = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        vigie_server::serve(config, listener, std::future::pending()),
    )
    .await
    .expect("the server keeps running with a refused password");
    let error = format!("{:#}", served.unwrap_err());
    assert!(
        error.contains("DATABASE_URL") && error.contains("1045"),
        "{error}"
    );
    assert!(!error.contains("not-the-password"), "{error}");
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn metrics_count_requests_by_route(pool: MySqlPool) {
    let app = router(pool);
    get(&app, "/api/v1/incidents/01JD0000000000000000000000").await;
    get(&app, "/api/v1/incidents?kind=meteor").await;
    let reply = get(&app, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = reply.text();
    for expected in [
        r#"route="/api/v1/incidents/{id}",status="404""#,
        r#"route="/api/v1/incidents",status="400""#,
        "http_request_duration_seconds_bucket",
        "db_pool_connections",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("01JD0000000000000000000000"),
        "raw paths are not labels"
    );
}

#[sqlx::test(migrator = "vigie_store::MIGRATOR")]
async fn the_openapi_document_describes_the_routes_that_answer(pool: MySqlPool) {
    let app = router(pool);
    let reply = get(&app, "/api/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents.csv",
        "/api/v1/incidents.geojson",
        "/api/v1/stats",
        "/api/v1/zones",
        "/api/v1/config",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} undocumented");
    }
    // Every documented path is served (the id of an unknown incident gives a problem, not a page).
    for path in paths.keys() {
        let uri = path
            .replace("{id}", "01JD0000000000000000000000")
            .replace("/api/v1/stats", "/api/v1/stats?bucket=day");
        let reply = get(&app, &uri).await;
        assert!(
            reply.status == StatusCode::OK
                || reply.header("content-type") == Some("application/problem+json"),
            "{uri}: {}",
            reply.status
        );
    }
    let list = &paths["/api/v1/incidents"]["get"];
    let parameters: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "kind", "status", "severity", "zone", "vehicle", "from", "to", "bbox", "text", "limit",
        "cursor",
    ] {
        assert!(parameters.contains(&name), "{name} undocumented");
    }
    assert!(doc["components"]["schemas"]["Incident"].is_object());
}
