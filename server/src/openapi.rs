//! `/api/openapi.json`: the API's OpenAPI 3.1 document, generated from the handlers'
//! annotations and the response types.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, OpenApi, PartialSchema, ToSchema};
use vigie_model::{EventKind, Severity, Status};
use vigie_store::Bucket;

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

/// A string enum of the model's wire names, listed from its own `ALL`.
fn string_enum(names: impl Iterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .into()
}

macro_rules! wire_names {
    ($($(#[$doc:meta])* $name:ident = $all:expr;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($all.iter().map(|value| value.as_str()))
            }
        }
        impl ToSchema for $name {}
    )*};
}

wire_names! {
    /// An incident kind.
    KindName = EventKind::ALL;
    /// An incident status.
    StatusName = Status::OF_INCIDENTS;
    /// An incident severity.
    SeverityName = Severity::ALL;
    /// A statistics bucket.
    BucketName = Bucket::ALL;
}

/// The filters every incident resource takes. Several values: repeat the parameter or separate
/// them with commas.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FilterParams {
    /// Kinds of incident (several allowed).
    #[param(inline)]
    kind: Option<Vec<KindName>>,
    /// Current statuses (several allowed): an accident or a jam is `open` until it is
    /// `cleared`, a zone crossing is `cleared` as soon as it happens; so `open` lists the
    /// accidents and jams in progress.
    #[param(inline)]
    status: Option<Vec<StatusName>>,
    /// Current severities (several allowed).
    #[param(inline)]
    severity: Option<Vec<SeverityName>>,
    /// Zone ids, 1 to 64 characters, no comma (several allowed).
    #[param(value_type = Option<Vec<ZoneName>>)]
    zone: Option<Vec<String>>,
    /// A vehicle that took part (1 to 64 characters).
    #[param(min_length = 1, max_length = 64)]
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
    #[param(min_length = 1, max_length = 200)]
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
    #[param(pattern = "^[A-Za-z0-9_-]{1,128}$")]
    cursor: Option<String>,
}

/// Time buckets of the statistics.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct BucketParams {
    /// minute, hour or day.
    #[param(inline)]
    bucket: BucketName,
}

/// A zone id in a list: 1 to 64 characters, no comma (the list separator).
#[derive(ToSchema)]
#[schema(value_type = String, pattern = "^[^,]{1,64}$")]
#[allow(dead_code)]
pub struct ZoneName(String);
