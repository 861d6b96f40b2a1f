//! `/api/openapi.json`: the API's OpenAPI 3.1 document, generated from the handlers'
//! annotations and the response types.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vigie",
        description = "Road incidents detected from connected vehicles: history, exports, statistics, city map, XMPP settings."
    ),
    paths(
        crate::incidents::list,
        crate::incidents::show,
        crate::incidents::export::csv,
        crate::incidents::export::geojson,
        crate::incidents::stats::stats,
        crate::zones::zones,
        crate::client_config::client_config,
        crate::health::healthz,
        crate::health::readyz,
    ),
    components(schemas(Problem, crate::incidents::stats::Stats, crate::ClientConfig))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/openapi.json",
        get(|| async { Json(ApiDoc::openapi()) }),
    )
}

/// An RFC 9457 problem (`application/problem+json`), as every error is answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: Option<String>,
    /// The query or path parameter at fault (400 only).
    pub parameter: Option<String>,
}

/// The filters every incident resource takes. Several values: repeat the parameter or separate
/// them with commas.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FilterParams {
    /// accident, jam, zone_enter, zone_exit (several allowed).
    kind: Option<Vec<String>>,
    /// open, update, cleared (several allowed).
    status: Option<Vec<String>>,
    /// minor, moderate, major (several allowed).
    severity: Option<Vec<String>>,
    /// Zone ids (several allowed).
    zone: Option<Vec<String>>,
    /// A vehicle that took part.
    vehicle: Option<String>,
    /// Opened at or after (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Opened before (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
    /// `min_lon,min_lat,max_lon,max_lat`: latest position inside.
    #[param(example = "4.80,45.70,4.90,45.80")]
    bbox: Option<String>,
    /// Substring of the detail text, case-insensitive (1 to 200 characters).
    text: Option<String>,
}

/// Paging of the list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Time buckets of the statistics.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct BucketParams {
    /// minute, hour or day.
    bucket: String,
}
