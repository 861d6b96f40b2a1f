//! Road-event detection from the fleet's telemetry: plain state machines, no IO, driven by the
//! telemetry's own timestamps so they replay deterministically.

pub mod accident;
pub mod jam;
pub mod zone;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;
use vigie_model::{City, Event, EventKind, Severity, Status, Telemetry};

/// Tuning of every detector; defaults documented in docs/detection.md.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub accident: accident::Thresholds,
    pub jam: jam::Thresholds,
    pub zone: zone::Thresholds,
}

/// Makes event ids: ULIDs whose time part is the event's time, so ids sort by occurrence.
pub struct IdSource {
    rng: StdRng,
}

impl IdSource {
    pub fn from_entropy() -> IdSource {
        IdSource {
            rng: StdRng::from_os_rng(),
        }
    }

    pub fn seeded(seed: u64) -> IdSource {
        IdSource {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn next(&mut self, at_ms: i64) -> String {
        ulid::Ulid::from_parts(at_ms.max(0) as u64, self.rng.random()).to_string()
    }
}

/// All detectors over one city.
pub struct Detector {
    city: City,
    accidents: accident::AccidentDetector,
    jams: jam::JamDetector,
    zones: zone::ZoneDetector,
    ids: IdSource,
}

/// What a detector found, before it gets its id and place.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: EventKind,
    pub status: Status,
    pub severity: Severity,
    /// The incident this finding continues; `None` opens a new one.
    pub incident: Option<String>,
    /// The vehicles involved: one for accidents and zone crossings, the queue for a jam.
    pub vehicles: Vec<String>,
    pub zone: Option<String>,
    /// The road (segment) id, for jams.
    pub road: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub at_ms: i64,
    pub detail: String,
}

impl Detector {
    pub fn new(city: City, thresholds: Thresholds, ids: IdSource) -> Detector {
        Detector {
            accidents: accident::AccidentDetector::new(thresholds.accident),
            jams: jam::JamDetector::new(&city, thresholds.jam),
            zones: zone::ZoneDetector::new(&city, thresholds.zone),
            city,
            ids,
        }
    }

    /// Feeds one fix; returns the events it completes, in order.
    pub fn observe(&mut self, vehicle: &str, fix: &Telemetry) -> Vec<Event> {
        let mut findings = self.accidents.observe(vehicle, fix);
        findings.extend(self.zones.observe(&self.city, vehicle, fix));
        findings.extend(self.jams.observe(vehicle, fix));
        findings
            .into_iter()
            .map(|finding| self.event_of(finding))
            .collect()
    }

    /// Clears what timed out by `now_ms` (telemetry time), e.g. accidents nobody reported on and
    /// jams whose vehicles went quiet.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Event> {
        let mut findings = self.accidents.expire(now_ms);
        findings.extend(self.jams.expire(now_ms));
        findings
            .into_iter()
            .map(|finding| self.event_of(finding))
            .collect()
    }

    fn event_of(&mut self, finding: Finding) -> Event {
        let id = self.ids.next(finding.at_ms);
        let incident = finding.incident.clone().unwrap_or_else(|| id.clone());
        if finding.status == Status::Open {
            match (finding.kind, finding.vehicles.first(), &finding.road) {
                (EventKind::Accident, Some(vehicle), _) => {
                    self.accidents.assign_incident(vehicle, &incident)
                }
                (EventKind::Jam, _, Some(road)) => self.jams.assign_incident(road, &incident),
                _ => {}
            }
        }
        let zone = finding.zone.or_else(|| {
            self.city
                .zone_at(finding.lat, finding.lon)
                .map(|zone| zone.id.clone())
        });
        Event {
            id,
            incident,
            kind: finding.kind,
            status: finding.status,
            severity: finding.severity,
            zone,
            road: finding.road,
            vehicles: finding.vehicles,
            lat: finding.lat,
            lon: finding.lon,
            occurred_at: time_of(finding.at_ms),
            detail: finding.detail,
        }
    }
}

/// Telemetry milliseconds as a UTC time.
pub fn time_of(at_ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
