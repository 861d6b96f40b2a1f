//! The companion server's REST API, as the dashboard reads it.

use serde::Deserialize;
pub use vigie_model::contract::ClientConfig;
use vigie_model::Incident;

/// One page of `GET /api/v1/incidents`, newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub next_cursor: Option<String>,
}

async fn get_json<T: for<'de> Deserialize<'de>>(url: &str) -> Result<T, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

pub async fn config() -> Result<ClientConfig, String> {
    get_json("/api/v1/config").await
}

pub async fn incidents(limit: u32) -> Result<IncidentPage, String> {
    get_json(&format!("/api/v1/incidents?limit={limit}")).await
}
