//! `/api/v1/stats?bucket=minute|hour|day` (+ the filters): incidents opened per bucket and kind.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;
use vigie_store::{Bucket, BucketCount};

use super::query::{IncidentQuery, Resource};
use crate::{AppError, AppState};

/// Most (bucket, kind) rows one answer may hold; past that the client narrows `from`/`to`.
pub const MAX_ROWS: u32 = 10_000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    #[schema(value_type = String)]
    pub bucket: &'static str,
    pub counts: Vec<BucketCount>,
}

/// Incidents opened per time bucket and kind, oldest bucket first.
#[utoipa::path(get, path = "/api/v1/stats", tag = "incidents",
    params(crate::openapi::BucketParams, crate::openapi::FilterParams),
    responses((status = 200, body = Stats), (status = 400, description = "Invalid parameter", body = crate::openapi::Problem, content_type = "application/problem+json"), (status = 503, description = "Database unavailable (Retry-After)", body = crate::openapi::Problem, content_type = "application/problem+json")))]
pub async fn stats(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Stats>, AppError> {
    let query = IncidentQuery::parse_for(Resource::Stats, raw.as_deref().unwrap_or(""))?;
    let bucket: Bucket = query.bucket.expect("parse_for(Stats) requires a bucket");
    let counts = vigie_store::count_incidents(state.pool()?, &query.filter, bucket, MAX_ROWS)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "bucket",
                format!("gives more than {MAX_ROWS} counts; use a larger bucket or narrow from/to"),
            )
        })?;
    Ok(Json(Stats {
        bucket: bucket.as_str(),
        counts,
    }))
}
