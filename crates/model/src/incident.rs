//! The incident history as the REST API returns it: an incident's current state and its
//! lifecycle. The store builds these from MySQL, the server serves them, the dashboard reads them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{EventKind, Severity, Status};

/// An incident's current state: its latest event, and when it opened and cleared.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "jam"))]
    pub kind: EventKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "open"))]
    pub status: Status,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "major"))]
    pub severity: Severity,
    pub zone: Option<String>,
    pub road: Option<String>,
    pub vehicles: Vec<String>,
    pub lat: f64,
    pub lon: f64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub cleared_at: Option<OffsetDateTime>,
    pub detail: String,
}

/// One event of an incident's lifecycle.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// The event id.
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "open"))]
    pub status: Status,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "major"))]
    pub severity: Severity,
    pub zone: Option<String>,
    pub road: Option<String>,
    pub vehicles: Vec<String>,
    pub lat: f64,
    pub lon: f64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
    pub detail: String,
}

/// An incident with its lifecycle, oldest event first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: Incident,
    pub updates: Vec<IncidentUpdate>,
}
