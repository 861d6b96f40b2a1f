//! Driving the router in memory, as the tests of each resource do.

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
