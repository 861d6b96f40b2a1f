//! The companion server's REST API, as the dashboard reads it. Filters travel as the query
//! string [`crate::filters::HistoryFilter::to_query`] builds.

use serde::Deserialize;
use time::OffsetDateTime;
pub use vigie_model::contract::ClientConfig;
use vigie_model::{EventKind, Incident, IncidentDetail, IncidentUpdate};

use crate::components::history::histogram::Bucket;
use crate::filters::encode;

/// Incidents per page of the history table.
pub const PAGE_SIZE: u32 = 50;

/// One page of `GET /api/v1/incidents`, newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub next_cursor: Option<String>,
}

/// One row of `GET /api/v1/stats`: incidents of a kind opened in the bucket from `start`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BucketCount {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub kind: EventKind,
    pub count: u64,
}

#[derive(Deserialize)]
struct Stats {
    counts: Vec<BucketCount>,
}

/// An `application/problem+json` answer's explanation.
#[derive(Deserialize)]
struct Problem {
    detail: Option<String>,
}

/// The body of a successful `GET url`, or what went wrong.
async fn get_text(url: &str) -> Result<String, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        let status = response.status();
        let detail = response.json::<Problem>().await.ok().and_then(|p| p.detail);
        return Err(match detail {
            Some(detail) => format!("HTTP {status}: {detail}"),
            None => format!("{url}: HTTP {status}"),
        });
    }
    response.text().await.map_err(|e| format!("{url}: {e}"))
}

fn parse<T: for<'de> Deserialize<'de>>(url: &str, body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("{url}: {e}"))
}

async fn get_json<T: for<'de> Deserialize<'de>>(url: &str) -> Result<T, String> {
    parse(url, &get_text(url).await?)
}

/// `query` followed by more parameters, with the `&` only when both have some.
fn with_params(query: &str, more: &str) -> String {
    match (query.is_empty(), more.is_empty()) {
        (true, _) => more.to_owned(),
        (_, true) => query.to_owned(),
        _ => format!("{query}&{more}"),
    }
}

pub async fn config() -> Result<ClientConfig, String> {
    get_json("/api/v1/config").await
}

/// A page of the incidents matching `query`, after `cursor` (the previous page's `next_cursor`).
pub async fn incidents(query: &str, cursor: Option<&str>) -> Result<IncidentPage, String> {
    let mut page = format!("limit={PAGE_SIZE}");
    if let Some(cursor) = cursor {
        page.push_str("&cursor=");
        page.push_str(&encode(cursor));
    }
    get_json(&format!("/api/v1/incidents?{}", with_params(query, &page))).await
}

/// Incidents matching `query` opened per `bucket` and kind.
pub async fn stats(query: &str, bucket: Bucket) -> Result<Vec<BucketCount>, String> {
    let bucket = format!("bucket={}", bucket.as_str());
    let url = format!("/api/v1/stats?{}", with_params(query, &bucket));
    get_json::<Stats>(&url).await.map(|stats| stats.counts)
}

/// The `updates` of an [`IncidentDetail`] answer.
#[derive(Deserialize)]
struct Lifecycle {
    updates: Vec<IncidentUpdate>,
}

/// One incident with its lifecycle. Read as its two halves: `IncidentDetail`'s own
/// `#[serde(flatten)]` would bring serde's buffering deserializer into the wasm (~20 KB).
pub async fn incident(id: &str) -> Result<IncidentDetail, String> {
    let url = format!("/api/v1/incidents/{}", encode(id));
    let body = get_text(&url).await?;
    Ok(IncidentDetail {
        incident: parse(&url, &body)?,
        updates: parse::<Lifecycle>(&url, &body)?.updates,
    })
}

/// The link exporting every incident matching `query` as `extension` (`csv`, `geojson`).
pub fn export_url(extension: &str, query: &str) -> String {
    if query.is_empty() {
        format!("/api/v1/incidents.{extension}")
    } else {
        format!("/api/v1/incidents.{extension}?{query}")
    }
}
