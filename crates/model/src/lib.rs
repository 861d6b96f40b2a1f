//! Vigie's contracts, kept in one place: the road event and its XMPP payload, the telemetry
//! message, the room names, the synthetic city, and the deployment defaults.

pub mod city;
pub mod contract;
pub mod event;
pub mod incident;
pub mod number;
pub mod telemetry;

pub use city::{City, Road, Zone};
pub use event::{Event, EventError, EventKind, Severity, Status};
pub use incident::{Incident, IncidentDetail, IncidentUpdate};
pub use telemetry::{Telemetry, TelemetryError};
