//! The road event: what the gateway detects, the rooms carry, the collector stores and the
//! dashboard shows. Its XMPP form is `<event xmlns='urn:vigie:event:1'/>` inside a groupchat
//! message; its JSON form is the REST API's.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vigie_xmpp::Element;

use crate::number::fixed;

/// Namespace of the event payload.
pub const NS: &str = "urn:vigie:event:1";

/// What happened, after the Open511 / DATEX II event types Vigie detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Accident,
    Jam,
    ZoneEnter,
    ZoneExit,
}

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Update,
    Cleared,
}

/// Open511 severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Minor,
    Moderate,
    Major,
}

macro_rules! wire_names {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The name used on the wire (XML attribute, JSON, SQL, URL).
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl FromStr for $ty {
            type Err = EventError;
            fn from_str(s: &str) -> Result<Self, EventError> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(EventError::Invalid { field: stringify!($ty), value: s.to_owned() }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_names!(EventKind { Accident = "accident", Jam = "jam", ZoneEnter = "zone_enter", ZoneExit = "zone_exit" });

impl EventKind {
    /// Accidents and jams open, change and clear; a zone crossing is a single moment.
    pub fn has_lifecycle(self) -> bool {
        matches!(self, EventKind::Accident | EventKind::Jam)
    }

    /// The status an incident of this kind takes from an event with `status`: one of
    /// [`Status::OF_INCIDENTS`]. An accident or a jam is `open` from its opening through its
    /// updates until it is `cleared`; a zone crossing is over as soon as it happens, `cleared`
    /// at once. So the open incidents (the history's `status=open`) are the accidents and jams
    /// in progress.
    pub fn incident_status(self, status: Status) -> Status {
        match (self.has_lifecycle(), status) {
            (true, Status::Open | Status::Update) => Status::Open,
            _ => Status::Cleared,
        }
    }
}

wire_names!(Status { Open = "open", Update = "update", Cleared = "cleared" });

impl Status {
    /// What an incident can be ([`EventKind::incident_status`]); `update` is an event's
    /// status only.
    pub const OF_INCIDENTS: [Status; 2] = [Status::Open, Status::Cleared];
}
wire_names!(Severity { Minor = "minor", Moderate = "moderate", Major = "major" });

/// One road event. `id` (a ULID) names it: the gateway derives it from the event's time and
/// content (`vigie_pipeline::detect::identified`), so an event detected again after a restart
/// keeps its id. `incident` names the incident it belongs to: the id of its `open` event, so
/// updates and clearing attach to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub incident: String,
    pub kind: EventKind,
    pub status: Status,
    pub severity: Severity,
    pub zone: Option<String>,
    pub road: Option<String>,
    pub vehicles: Vec<String>,
    pub lat: f64,
    pub lon: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("event payload lacks attribute `{0}`")]
    Missing(&'static str),
    #[error("event field {field} has an invalid value {value:?}")]
    Invalid { field: &'static str, value: String },
    #[error("element is not <event xmlns='{NS}'/>")]
    NotAnEvent,
}

impl Event {
    /// The `<event xmlns='urn:vigie:event:1'/>` payload.
    pub fn to_element(&self) -> Element {
        let mut element = Element::new("event", NS)
            .with_attr("id", self.id.as_str())
            .with_attr("incident", self.incident.as_str())
            .with_attr("kind", self.kind.as_str())
            .with_attr("status", self.status.as_str())
            .with_attr("severity", self.severity.as_str())
            .with_attr("lat", self.lat.to_string())
            .with_attr("lon", self.lon.to_string())
            .with_attr("occurred_at", format_time(self.occurred_at));
        if let Some(zone) = &self.zone {
            element.set_attr("zone", zone.as_str());
        }
        if let Some(road) = &self.road {
            element.set_attr("road", road.as_str());
        }
        if !self.vehicles.is_empty() {
            element.set_attr("vehicles", self.vehicles.join(" "));
        }
        if self.detail.is_empty() {
            element
        } else {
            element.with_text(self.detail.as_str())
        }
    }

    /// Parses the payload strictly: every required attribute present and valid.
    pub fn from_element(element: &Element) -> Result<Event, EventError> {
        if !element.is("event", NS) {
            return Err(EventError::NotAnEvent);
        }
        let required = |name: &'static str| element.attr(name).ok_or(EventError::Missing(name));
        let parsed = |name: &'static str| -> Result<f64, EventError> {
            let value = required(name)?;
            crate::number::parse_decimal(value)
                .filter(|v| v.is_finite())
                .ok_or_else(|| EventError::Invalid {
                    field: name,
                    value: value.to_owned(),
                })
        };
        let occurred_at = required("occurred_at")?;
        Ok(Event {
            id: required("id")?.to_owned(),
            incident: required("incident")?.to_owned(),
            kind: required("kind")?.parse()?,
            status: required("status")?.parse()?,
            severity: required("severity")?.parse()?,
            zone: element.attr("zone").map(str::to_owned),
            road: element.attr("road").map(str::to_owned),
            vehicles: element
                .attr("vehicles")
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            lat: parsed("lat")?,
            lon: parsed("lon")?,
            occurred_at: OffsetDateTime::parse(occurred_at, &Rfc3339).map_err(|_| {
                EventError::Invalid {
                    field: "occurred_at",
                    value: occurred_at.to_owned(),
                }
            })?,
            detail: element.text(),
        })
    }

    /// The first event payload among a message's extension elements.
    pub fn find_in<'a>(
        payloads: impl IntoIterator<Item = &'a Element>,
    ) -> Option<Result<Event, EventError>> {
        payloads
            .into_iter()
            .find(|e| e.ns() == NS)
            .map(Event::from_element)
    }

    /// The human `<body>` so any XMPP client can read the event.
    pub fn body(&self) -> String {
        let what = match (self.kind, self.status) {
            (EventKind::Accident, Status::Cleared) => "Accident cleared",
            (EventKind::Accident, _) => "Accident",
            (EventKind::Jam, Status::Open) => "Traffic jam",
            (EventKind::Jam, Status::Update) => "Traffic jam update",
            (EventKind::Jam, Status::Cleared) => "Traffic jam cleared",
            (EventKind::ZoneEnter, _) => "Zone entry",
            (EventKind::ZoneExit, _) => "Zone exit",
        };
        let mut body = format!("{what} ({})", self.severity);
        if !self.vehicles.is_empty() {
            body.push_str(&format!(", vehicle {}", self.vehicles.join(", ")));
        }
        if let Some(zone) = &self.zone {
            body.push_str(&format!(", zone {zone}"));
        }
        if let Some(road) = &self.road {
            body.push_str(&format!(", road {road}"));
        }
        body.push_str(&format!(
            " at {},{}, {}",
            fixed(self.lat, 5),
            fixed(self.lon, 5),
            format_time(self.occurred_at)
        ));
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

/// When the event an id names occurred. Event ids are ULIDs stamped with the event's time (to
/// the millisecond), so an incident's id, the id of its `open` event, tells when it opened.
/// `None` for an id that is not a ULID.
pub fn id_time(id: &str) -> Option<OffsetDateTime> {
    let millis = ulid::Ulid::from_string(id).ok()?.timestamp_ms();
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

/// RFC 3339 in UTC, as every Vigie program writes times.
pub fn format_time(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .expect("UTC times always format as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_xmpp::Limits;

    fn accident() -> Event {
        Event {
            id: "01JD0000000000000000000001".into(),
            incident: "01JD0000000000000000000001".into(),
            kind: EventKind::Accident,
            status: Status::Open,
            severity: Severity::Major,
            zone: Some("centre".into()),
            road: None,
            vehicles: vec!["v3".into()],
            lat: 45.7601,
            lon: 4.8351,
            occurred_at: time::macros::datetime!(2026-11-22 01:02:03.5 UTC),
            detail: "crash flag <airbag> & \"stopped\"".into(),
        }
    }

    #[test]
    fn xml_round_trip_keeps_every_field() {
        let event = accident();
        let xml = event.to_element().to_xml();
        let parsed = Element::parse(&xml, &Limits::default()).unwrap();
        assert_eq!(Event::from_element(&parsed).unwrap(), event);
    }

    #[test]
    fn json_round_trip_uses_wire_names() {
        let event = accident();
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "accident");
        assert_eq!(json["occurred_at"], "2026-11-22T01:02:03.5Z");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
    }

    #[test]
    fn strict_parsing_names_the_bad_field() {
        let element = accident().to_element().with_attr("kind", "meteor");
        let mut fixed = Element::new("event", NS);
        for (name, value) in element.attrs() {
            fixed.set_attr(name, value);
        }
        assert_eq!(
            Event::from_element(&fixed),
            Err(EventError::Invalid {
                field: "EventKind",
                value: "meteor".into()
            })
        );
        let mut no_lat = Element::new("event", NS);
        for (name, value) in accident().to_element().attrs().filter(|(n, _)| *n != "lat") {
            no_lat.set_attr(name, value);
        }
        assert_eq!(
            Event::from_element(&no_lat),
            Err(EventError::Missing("lat"))
        );
        assert_eq!(
            Event::from_element(&Element::new("event", "urn:other")),
            Err(EventError::NotAnEvent)
        );
    }

    #[test]
    fn body_reads_as_a_sentence() {
        assert_eq!(
            accident().body(),
            "Accident (major), vehicle v3, zone centre at 45.76010,4.83510, 2026-11-22T01:02:03.5Z: \
             crash flag <airbag> & \"stopped\""
        );
    }

    #[test]
    fn an_id_tells_when_its_event_occurred() {
        let at = time::macros::datetime!(2026-11-22 07:43:42.001 UTC);
        let millis = (at.unix_timestamp_nanos() / 1_000_000) as u64;
        let id = ulid::Ulid::from_parts(millis, 42).to_string();
        assert_eq!(id_time(&id), Some(at));
        assert_eq!(
            id_time("01JD0000000000000000000000"),
            Some(time::macros::datetime!(2024-11-18 15:59:22.112 UTC))
        );
        assert_eq!(id_time("not-a-ulid"), None);
        assert_eq!(id_time(""), None);
    }

    #[test]
    fn wire_names_parse_back() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
        }
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
        }
    }
}
