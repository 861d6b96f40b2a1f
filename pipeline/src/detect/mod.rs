//! Road-event detection from the fleet's telemetry: plain state machines, no IO, driven by the
//! telemetry's own timestamps so they replay deterministically.

pub mod accident;
mod grid;
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

    /// Takes over an incident a previous run left open (`latest`: its latest event, see
    /// [`still_open`]), so that what this run sees next continues it instead of forgetting it
    /// (an accident nobody would ever clear) or opening a second one. Call it before any
    /// telemetry, for each of [`still_open`] in its order (the order the incidents opened).
    /// Returns the clearing of an incident the adopted one supersedes (the vehicle's or the
    /// road's earlier one, left open by an earlier run), to be posted.
    pub fn adopt(&mut self, latest: &Event) -> Option<Event> {
        let opened =
            millis(vigie_model::event::id_time(&latest.incident).unwrap_or(latest.occurred_at));
        let superseded = match (latest.kind, latest.vehicles.first()) {
            (EventKind::Accident, Some(vehicle)) => {
                let place = (latest.lat, latest.lon);
                let (incident, severity) = (&latest.incident, latest.severity);
                self.accidents
                    .adopt(vehicle, incident, opened, severity, place)
            }
            (EventKind::Jam, _) => self.jams.adopt(latest, opened),
            _ => None,
        };
        superseded.map(|finding| self.event_of(finding))
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

/// The latest event of each accident and jam that `events` (in the order they were posted)
/// leave open.
pub fn still_open(events: impl IntoIterator<Item = Event>) -> Vec<Event> {
    let mut latest = std::collections::HashMap::new();
    for event in events.into_iter().filter(|e| e.kind.has_lifecycle()) {
        latest.insert(event.incident.clone(), event);
    }
    let mut open: Vec<Event> = latest
        .into_values()
        .filter(|event| event.status != Status::Cleared)
        .collect();
    open.sort_by(|a, b| a.incident.cmp(&b.incident));
    open
}

fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Telemetry milliseconds as a UTC time.
pub fn time_of(at_ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_000_000_000;

    fn detector() -> Detector {
        Detector::new(City::builtin(), Thresholds::default(), IdSource::seeded(1))
    }

    fn fix(seconds: i64, speed_kmh: f64, crash: bool) -> Telemetry {
        Telemetry {
            ts: T0 + seconds * 1000,
            lat: 45.76,
            lon: 4.835,
            speed_kmh,
            heading: 0.0,
            flags: if crash {
                vec!["crash".into()]
            } else {
                Vec::new()
            },
        }
    }

    /// The events a previous run posted: an accident opened, and a jam opened then cleared.
    fn previous_run() -> Vec<Event> {
        let mut before = detector();
        let mut posted = before.observe("v1", &fix(0, 50.0, false));
        posted.extend(before.observe("v1", &fix(1, 0.0, true)));
        let jam = Event {
            id: "01JD0000000000000000000000".into(),
            incident: "01JD0000000000000000000000".into(),
            kind: EventKind::Jam,
            road: Some(City::builtin().roads[0].id.clone()),
            ..posted[0].clone()
        };
        let jam_cleared = Event {
            id: "later".into(),
            status: Status::Cleared,
            ..jam.clone()
        };
        posted.extend([jam, jam_cleared]);
        posted
    }

    #[test]
    fn only_incidents_not_cleared_are_still_open() {
        let open = still_open(previous_run());
        assert_eq!(open.len(), 1);
        assert_eq!(
            (open[0].kind, open[0].status),
            (EventKind::Accident, Status::Open)
        );
    }

    #[test]
    fn an_adopted_accident_clears_under_its_incident_and_never_opens_twice() {
        let open = still_open(previous_run());
        let mut after = detector();
        assert_eq!(after.adopt(&open[0]), None);
        // The crash fix comes again (it was never acknowledged to the broker): no second open.
        assert_eq!(after.observe("v1", &fix(1, 0.0, true)), []);
        assert_eq!(after.observe("v1", &fix(5, 0.0, true)), []);
        let cleared = after.observe("v1", &fix(30, 40.0, false));
        assert_eq!(cleared.len(), 1);
        assert_eq!(cleared[0].status, Status::Cleared);
        assert_eq!(cleared[0].incident, open[0].incident);
    }

    #[test]
    fn an_adopted_accident_still_times_out_from_its_opening() {
        let open = still_open(previous_run());
        let mut after = detector();
        assert_eq!(after.adopt(&open[0]), None);
        let timeout = accident::Thresholds::default().timeout_ms;
        assert_eq!(after.expire(T0 + timeout - 1), []);
        let expired = after.expire(T0 + 1000 + timeout);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].incident, open[0].incident);
        assert_eq!(expired[0].detail, "timed out");
    }

    #[test]
    fn of_two_accidents_a_vehicle_was_left_in_the_later_is_taken_over_and_the_earlier_cleared() {
        // Two runs, each stopped with the vehicle's accident open.
        let mut first_run = detector();
        let earlier = first_run.observe("v1", &fix(1, 0.0, true));
        let mut second_run = detector();
        let later = second_run.observe("v1", &fix(600, 0.0, true));
        let open = still_open(earlier.iter().chain(&later).cloned());
        assert_eq!(open.len(), 2);

        let mut after = detector();
        assert_eq!(after.adopt(&open[0]), None);
        let cleared = after.adopt(&open[1]).expect("the earlier accident cleared");
        assert_eq!(
            (cleared.kind, cleared.status, cleared.incident.as_str()),
            (
                EventKind::Accident,
                Status::Cleared,
                earlier[0].incident.as_str()
            )
        );
        assert_eq!(cleared.occurred_at, later[0].occurred_at);
        let moved_on = after.observe("v1", &fix(700, 40.0, false));
        assert_eq!(moved_on.len(), 1);
        assert_eq!(moved_on[0].incident, later[0].incident);
    }

    #[test]
    fn of_two_jams_a_road_was_left_with_the_later_is_taken_over_and_the_earlier_cleared() {
        let road = City::builtin().roads[0].id.clone();
        let jam = |incident: &str| Event {
            id: incident.into(),
            incident: incident.into(),
            kind: EventKind::Jam,
            road: Some(road.clone()),
            severity: Severity::Major,
            ..previous_run()[0].clone()
        };
        let (earlier, later) = (
            jam("01JD0000000000000000000000"),
            jam("01JD1000000000000000000000"),
        );
        let mut after = detector();
        assert_eq!(after.adopt(&earlier), None);
        let cleared = after.adopt(&later).expect("the earlier jam cleared");
        assert_eq!(
            (
                cleared.status,
                cleared.incident.as_str(),
                cleared.road.as_deref()
            ),
            (
                Status::Cleared,
                earlier.incident.as_str(),
                Some(road.as_str())
            )
        );
        let end = jam::Thresholds::default().end_ms;
        let mut expired = after.expire(T0);
        expired.extend(after.expire(T0 + end + 1000));
        let incidents: Vec<&str> = expired.iter().map(|e| e.incident.as_str()).collect();
        assert_eq!(incidents, [later.incident.as_str()]);
    }

    #[test]
    fn an_adopted_jam_on_an_empty_road_clears_under_its_incident() {
        let road = City::builtin().roads[0].id.clone();
        let jam = Event {
            kind: EventKind::Jam,
            road: Some(road.clone()),
            incident: "01JD0000000000000000000000".into(),
            severity: Severity::Major,
            ..previous_run()[0].clone()
        };
        let mut after = detector();
        assert_eq!(after.adopt(&jam), None);
        let end = jam::Thresholds::default().end_ms;
        let mut cleared = after.expire(T0);
        cleared.extend(after.expire(T0 + end + 1000));
        assert_eq!(cleared.len(), 1, "{cleared:#?}");
        assert_eq!(
            (
                cleared[0].status,
                cleared[0].incident.as_str(),
                cleared[0].road.as_deref()
            ),
            (Status::Cleared, jam.incident.as_str(), Some(road.as_str()))
        );
    }
}
