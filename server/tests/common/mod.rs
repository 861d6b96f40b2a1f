//! Driving the router in memory, as the tests of each resource do, and a server started
//! in-process over a real socket.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::MySqlPool;
use tower::ServiceExt;
use vigie_server::{app, AppState, Config};

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn router(pool: MySqlPool) -> Router {
    router_with(pool, Config::with_database("unused: the pool is given"))
}

pub fn router_with(pool: MySqlPool, config: Config) -> Router {
    app(AppState::new(pool, &config))
}

pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(router: &Router, uri: &str) -> Reply {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A 400 problem naming `parameter`.
pub fn assert_bad_parameter(reply: &Reply, parameter: &str, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{context}: {}",
        reply.text()
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{context}"
    );
    let problem = reply.json();
    assert_eq!(problem["parameter"], parameter, "{context}: {problem}");
    assert_eq!(problem["status"], 400);
    assert!(
        problem["detail"].as_str().unwrap().contains(parameter),
        "{context}: {problem}"
    );
}

/// The URL of the database a `#[sqlx::test]` pool points to, for code that connects by itself.
pub async fn database_url(pool: &MySqlPool) -> String {
    let name: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(pool)
        .await
        .unwrap();
    let admin = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (without_query, query) = admin
        .split_once('?')
        .map_or((admin.as_str(), ""), |(u, q)| (u, q));
    let (base, _) = without_query
        .rsplit_once('/')
        .expect("DATABASE_URL ends with /database");
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{base}/{name}{query}")
}

/// A bare HTTP/1.1 GET, so the test needs no HTTP client.
async fn http_get(stream: &mut tokio::net::TcpStream, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// GET `path` from the server at `address` on a connection of its own: its status code, its
/// whole text (status line, headers and body). Panics when no answer comes within 10 s.
pub async fn fetch(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    let answer = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        http_get(&mut stream, path).await
    };
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), answer)
        .await
        .unwrap_or_else(|_| panic!("GET {path}: no answer within 10 s"));
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: not an HTTP response: {response:?}"));
    (status, response)
}

/// Asks `/readyz` until it answers 200; panics when it answers anything but 503 meanwhile, when
/// the server stops, or after `seconds`.
pub async fn wait_until_ready(
    address: std::net::SocketAddr,
    server: &tokio::task::JoinHandle<anyhow::Result<()>>,
    seconds: u64,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        let (status, response) = fetch(address, "/readyz").await;
        if status == 200 {
            return;
        }
        assert_eq!(status, 503, "{response}");
        assert!(!server.is_finished(), "the server stopped");
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz still 503 after {seconds} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Whether an HTTP/1.1 response's head carries the header `name: value`.
pub fn has_header(response: &str, name: &str, value: &str) -> bool {
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    head.lines().skip(1).any(|line| {
        line.split_once(':')
            .is_some_and(|(n, v)| n.trim().eq_ignore_ascii_case(name) && v.trim() == value)
    })
}
