//! The companion server's REST API, as the dashboard reads it.

use serde::Deserialize;

/// `GET /api/v1/config`: where and how to reach XMPP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClientConfig {
    pub websocket_url: String,
    pub bosh_url: String,
    pub domain: String,
    pub anonymous_domain: String,
    pub muc_service: String,
    pub event_rooms: Vec<String>,
    pub ops_room: String,
}

/// One row of `GET /api/v1/incidents`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Incident {
    pub id: String,
    pub kind: vigie_model::EventKind,
    pub status: vigie_model::Status,
    pub severity: vigie_model::Severity,
    pub zone: Option<String>,
    pub vehicles: Vec<String>,
    pub opened_at: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub next_cursor: Option<String>,
}

async fn get_json<T: for<'de> Deserialize<'de>>(url: &str) -> Result<T, String> {
    let response = gloo_net::http::Request::get(url).send().await.map_err(|e| e.to_string())?;
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
