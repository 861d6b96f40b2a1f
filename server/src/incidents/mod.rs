//! The incident history: `/api/v1/incidents` (filtered, paged), one incident with its
//! lifecycle, the exports (CSV, GeoJSON) and the statistics.

pub(crate) mod export;
mod query;
pub(crate) mod stats;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use vigie_store::{IncidentDetail, Page};

use crate::{AppError, AppState};
pub use export::CSV_HEADER;
pub use query::{IncidentQuery, Resource, DEFAULT_LIMIT};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", get(list))
        .route("/api/v1/incidents.csv", get(export::csv))
        .route("/api/v1/incidents.geojson", get(export::geojson))
        .route("/api/v1/incidents/{id}", get(show))
        .route("/api/v1/stats", get(stats::stats))
}

/// Incidents matching the filters, newest first, one page at a time.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents",
    params(crate::openapi::FilterParams, crate::openapi::PageParams),
    responses((status = 200, body = Page), (status = 400, description = "Invalid parameter", body = crate::openapi::Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable (Retry-After)", body = crate::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page>, AppError> {
    let query = IncidentQuery::parse(raw.as_deref().unwrap_or(""))?;
    let page = vigie_store::list_incidents(
        state.pool()?,
        &query.filter,
        query.limit,
        query.cursor.as_ref(),
    )
    .await?;
    Ok(Json(page))
}

/// One incident with its lifecycle, oldest event first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident id (ULID)")),
    responses((status = 200, body = IncidentDetail), (status = 400, description = "Invalid parameter", body = crate::openapi::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown incident", body = crate::openapi::Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable (Retry-After)", body = crate::openapi::Problem, content_type = "application/problem+json")))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<IncidentDetail>, AppError> {
    query::reject_any(raw.as_deref().unwrap_or(""))?;
    if !query::is_ulid(&id) {
        return Err(AppError::invalid(
            "id",
            "is not an incident id (a ULID: 26 letters and digits)",
        ));
    }
    vigie_store::get_incident(state.pool()?, &id.to_ascii_uppercase())
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no incident {id}")))
}
