//! Road-event detection from the fleet's telemetry: plain state machines, no IO, driven by the
//! telemetry's own timestamps so they replay deterministically.

pub mod accident;
mod grid;
pub mod jam;
pub mod zone;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use vigie_model::{City, Event, EventKind, Severity, Status, Telemetry};

/// Tuning of every detector; defaults documented in docs/detection.md.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub accident: accident::Thresholds,
    pub jam: jam::Thresholds,
    pub zone: zone::Thresholds,
}

/// `event` with its id, and its incident if it opens one (an empty `incident`): the id is a
/// ULID whose time part is the event's time, so ids sort by occurrence, and whose other 80 bits
/// are a digest of all else the event says. The same finding always gets the same id:
/// telemetry handled again after a restart from a checkpoint (docs/detection.md) repeats its
/// events under the same ids, and the collector, which stores by id, stores them once.
pub fn identified(mut event: Event) -> Event {
    event.id.clear();
    // JSON, stable across builds; Debug only if it ever failed (it has no reason to).
    let content = serde_json::to_vec(&event).unwrap_or_else(|_| format!("{event:?}").into());
    let digest = Sha256::digest(&content);
    let mut digest_bits = [0u8; 16];
    digest_bits[6..].copy_from_slice(&digest[..10]);
    let at_ms = millis(event.occurred_at).max(0) as u64;
    event.id = ulid::Ulid::from_parts(at_ms, u128::from_be_bytes(digest_bits)).to_string();
    if event.incident.is_empty() {
        event.incident = event.id.clone();
    }
    event
}

/// All detectors over one city.
pub struct Detector {
    city: City,
    /// A digest of the city, to refuse a state saved for another one.
    city_digest: String,
    accidents: accident::AccidentDetector,
    jams: jam::JamDetector,
    zones: zone::ZoneDetector,
}

/// Everything the detectors carry from one fix to the next: saved, and restored into a new
/// detector over the same city, it lets that one go on as if it were the first.
#[derive(Serialize, Deserialize)]
pub struct DetectorState<'a> {
    city: Cow<'a, str>,
    accidents: Cow<'a, accident::State>,
    zones: Cow<'a, zone::State>,
    jams: Cow<'a, jam::State>,
}

/// A saved state that does not fit the detector's city: saved for another, or damaged.
#[derive(Debug, thiserror::Error)]
#[error("the detectors' state does not fit this city (saved for another one, or damaged)")]
pub struct UnfitState;

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
    pub fn new(city: City, thresholds: Thresholds) -> Detector {
        let city_json = serde_json::to_vec(&city).unwrap_or_default();
        Detector {
            accidents: accident::AccidentDetector::new(thresholds.accident),
            jams: jam::JamDetector::new(&city, thresholds.jam),
            zones: zone::ZoneDetector::new(&city, thresholds.zone),
            city_digest: format!("{:x}", Sha256::digest(&city_json)),
            city,
        }
    }

    /// The detectors' state, borrowed, to be saved.
    pub fn state(&self) -> DetectorState<'_> {
        DetectorState {
            city: Cow::Borrowed(&self.city_digest),
            accidents: Cow::Borrowed(&self.accidents.state),
            zones: Cow::Borrowed(&self.zones.state),
            jams: Cow::Borrowed(&self.jams.state),
        }
    }

    /// Goes on from a state [`Detector::state`] saved, in place of this detector's own.
    pub fn restore(&mut self, state: DetectorState<'_>) -> Result<(), UnfitState> {
        let city = &self.city;
        if state.city != self.city_digest || !state.zones.fits(city) || !state.jams.fits(city) {
            return Err(UnfitState);
        }
        self.accidents.state = state.accidents.into_owned();
        self.zones.state = state.zones.into_owned();
        self.jams.state = state.jams.into_owned();
        Ok(())
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
        let zone = finding.zone.or_else(|| {
            self.city
                .zone_at(finding.lat, finding.lon)
                .map(|zone| zone.id.clone())
        });
        let event = identified(Event {
            id: String::new(),
            incident: finding.incident.unwrap_or_default(),
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
        });
        if event.status == Status::Open {
            match (event.kind, event.vehicles.first(), &event.road) {
                (EventKind::Accident, Some(vehicle), _) => {
                    self.accidents.assign_incident(vehicle, &event.incident)
                }
                (EventKind::Jam, _, Some(road)) => self.jams.assign_incident(road, &event.incident),
                _ => {}
            }
        }
        event
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
        Detector::new(City::builtin(), Thresholds::default())
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
    fn a_state_saved_for_another_city_is_refused() {
        let mut city = City::builtin();
        let saved = postcard::to_stdvec(&detector().state()).unwrap();
        city.zones.pop();
        let mut other = Detector::new(city, Thresholds::default());
        let state: DetectorState = postcard::from_bytes(&saved).unwrap();
        assert!(other.restore(state).is_err());
        let state: DetectorState = postcard::from_bytes(&saved).unwrap();
        assert!(detector().restore(state).is_ok());
    }

    #[test]
    fn a_saved_state_reads_back_whole() {
        let scenario = crate::fleet::Scenario::default();
        let mut fleet = crate::fleet::Fleet::new(&City::builtin(), 30, 5, scenario, T0);
        let mut before = detector();
        for tick in 0..60 {
            for (vehicle, fix) in fleet.tick(tick * 700) {
                before.observe(&vehicle, &fix);
            }
        }
        let saved = postcard::to_stdvec(&before.state()).unwrap();
        let mut after = detector();
        after
            .restore(postcard::from_bytes(&saved).unwrap())
            .unwrap();
        // Values, not text: maps are compared whatever their order, numbers bit for bit.
        let value = |detector: &Detector| serde_json::to_value(detector.state()).unwrap();
        assert_eq!(value(&after), value(&before));
    }

    #[test]
    fn the_same_finding_gets_the_same_id_and_any_difference_another() {
        let crash = fix(1, 0.0, true);
        let first = detector().observe("v1", &crash);
        let again = detector().observe("v1", &crash);
        assert_eq!(
            (first.len(), first[0].id.as_str()),
            (1, again[0].id.as_str())
        );
        assert_eq!(first[0].incident, first[0].id);
        let other = detector().observe("v2", &crash);
        assert_ne!(other[0].id, first[0].id);
        let later = detector().observe("v1", &fix(2, 0.0, true));
        assert_ne!(later[0].id, first[0].id);
        assert!(later[0].id > first[0].id, "ids sort by time");
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
