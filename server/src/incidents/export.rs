//! `/api/v1/incidents.csv` and `.geojson`: every incident matching the filters, newest first,
//! streamed page by page (keyset pages of the list), so memory stays flat however many match.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;
use sqlx::MySqlPool;
use vigie_model::event::format_time;
use vigie_store::{Cursor, Incident, IncidentFilter, Page, MAX_LIMIT};

use super::query::{IncidentQuery, Resource};
use crate::{AppError, AppState};

pub const CSV_HEADER: &str =
    "id,kind,status,severity,zone,road,vehicles,lat,lon,opened_at,updated_at,cleared_at,detail\r\n";

/// Every incident matching the filters as CSV, newest first, streamed.
#[utoipa::path(get, path = "/api/v1/incidents.csv", tag = "incidents", params(crate::openapi::FilterParams),
    responses((status = 200, description = "RFC 4180 CSV with a header row", content_type = "text/csv"), (status = 400, description = "Invalid parameter", body = crate::openapi::Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable (Retry-After)", body = crate::openapi::Problem, content_type = "application/problem+json")))]
pub async fn csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let pages = pages(state.pool()?.clone(), raw).await?;
    let rows = pages.map(|page| {
        page.map(|incidents| {
            // One buffer per page, sized for typical rows: no allocation per row or field.
            let mut chunk = String::with_capacity(incidents.len() * 200);
            for incident in &incidents {
                push_csv_row(&mut chunk, incident);
            }
            Bytes::from(chunk)
        })
    });
    let body = stream::once(async { Ok(Bytes::from_static(CSV_HEADER.as_bytes())) }).chain(rows);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"incidents.csv\"",
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Every incident matching the filters as a GeoJSON FeatureCollection of Points, streamed.
#[utoipa::path(get, path = "/api/v1/incidents.geojson", tag = "incidents", params(crate::openapi::FilterParams),
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"), (status = 400, description = "Invalid parameter", body = crate::openapi::Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable (Retry-After)", body = crate::openapi::Problem, content_type = "application/problem+json")))]
pub async fn geojson(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let pages = pages(state.pool()?.clone(), raw).await?;
    let mut first = true;
    let features = pages.map(move |page| {
        page.map(|incidents| {
            let mut chunk = String::new();
            for incident in &incidents {
                if !std::mem::take(&mut first) {
                    chunk.push(',');
                }
                chunk.push_str(&feature(incident));
            }
            Bytes::from(chunk)
        })
    });
    let body = stream::once(async {
        Ok(Bytes::from_static(
            br#"{"type":"FeatureCollection","features":["#,
        ))
    })
    .chain(features)
    .chain(stream::once(async { Ok(Bytes::from_static(b"]}")) }));
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// The pages of the filtered history. The first is fetched before answering, so a database
/// outage is a clean 503; a failure later can only cut the stream short (and is logged). Each
/// next page is read by its own task as soon as the previous one arrives, so MySQL works on
/// page n + 1 while page n is formatted and sent.
async fn pages(
    pool: MySqlPool,
    raw: Option<String>,
) -> Result<impl Stream<Item = Result<Vec<Incident>, sqlx::Error>>, AppError> {
    let query = IncidentQuery::parse_for(Resource::Export, raw.as_deref().unwrap_or(""))?;
    let first = vigie_store::list_incidents(&pool, &query.filter, MAX_LIMIT, None).await?;
    let next = first
        .next_cursor
        .map(|cursor| prefetch(pool, query.filter, cursor));
    let rest = stream::unfold(next, |next| async move {
        let page = next?.await.unwrap_or(Err(sqlx::Error::WorkerCrashed));
        match page {
            Ok((
                Page {
                    incidents,
                    next_cursor,
                },
                pool,
                filter,
            )) => {
                let following = next_cursor.map(|cursor| prefetch(pool, filter, cursor));
                Some((Ok(incidents), following))
            }
            Err(error) => {
                tracing::error!(%error, "export cut short");
                Some((Err(error), None))
            }
        }
    });
    // Fused: the body may be polled again after its end, which `unfold` does not allow.
    Ok(stream::once(async move { Ok(first.incidents) })
        .chain(rest)
        .fuse())
}

type Prefetched = Result<(Page, MySqlPool, IncidentFilter), sqlx::Error>;

/// Starts reading the page after `cursor`.
fn prefetch(
    pool: MySqlPool,
    filter: IncidentFilter,
    cursor: Cursor,
) -> tokio::task::JoinHandle<Prefetched> {
    tokio::spawn(async move {
        let page = vigie_store::list_incidents(&pool, &filter, MAX_LIMIT, Some(&cursor)).await?;
        Ok((page, pool, filter))
    })
}

/// Appends one RFC 4180 record, CRLF-terminated.
fn push_csv_row(out: &mut String, incident: &Incident) {
    use std::fmt::Write as _;
    push_csv_field(out, &incident.id);
    for field in [
        incident.kind.as_str(),
        incident.status.as_str(),
        incident.severity.as_str(),
        incident.zone.as_deref().unwrap_or_default(),
        incident.road.as_deref().unwrap_or_default(),
    ] {
        out.push(',');
        push_csv_field(out, field);
    }
    out.push(',');
    push_csv_field(out, &incident.vehicles.join(" "));
    // Numbers and times never need quoting.
    let _ = write!(
        out,
        ",{},{},{},{},",
        incident.lat,
        incident.lon,
        format_time(incident.opened_at),
        format_time(incident.updated_at)
    );
    if let Some(cleared_at) = incident.cleared_at {
        out.push_str(&format_time(cleared_at));
    }
    out.push(',');
    push_csv_field(out, &incident.detail);
    out.push_str("\r\n");
}

fn push_csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// A Point feature at the incident's latest position, its fields as properties.
fn feature(incident: &Incident) -> String {
    let mut properties = serde_json::to_value(incident).expect("incidents serialize");
    if let Some(object) = properties.as_object_mut() {
        object.remove("lat");
        object.remove("lon");
    }
    json!({
        "type": "Feature",
        "id": incident.id,
        "geometry": { "type": "Point", "coordinates": [incident.lon, incident.lat] },
        "properties": properties,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let field = |value| {
            let mut out = String::new();
            push_csv_field(&mut out, value);
            out
        };
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
    }
}
