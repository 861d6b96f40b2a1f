//! Traffic-jam detection per road segment from the whole fleet.
//!
//! Each fix is map-matched to the nearest road segment within a tolerance whose direction agrees
//! with the vehicle's heading (a vehicle keeps its road while it still matches, so crossings and
//! stopped vehicles with a meaningless heading do not hop); a grid over the segments' boxes,
//! grown by the tolerance (`grid.rs`), gives the few segments worth testing. Per road, every
//! vehicle's speeds over a sliding window (telemetry time) give its mean speed; the road's speed
//! is the mean over its vehicles, as a fraction of the road's free-flow speed, classified as in
//! DATEX II (< 10 % stationary, 10–25 % queuing, 25–75 % slow). A jam opens once at least
//! `min_vehicles` vehicles have been queuing or stationary for `begin_ms`; it is updated when its
//! class changes (after `class_change_ms`), and cleared only after the reverse has held for
//! `end_ms`: hysteresis, so speeds wavering around the threshold never flap. Rules and defaults:
//! docs/detection.md.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use vigie_model::{City, Event, EventKind, Severity, Status, Telemetry};

use super::grid::{Grid, Rect};
use super::Finding;

/// Metres per degree of latitude (and of longitude at the equator).
const METRES_PER_DEGREE: f64 = 111_320.0;

/// Most cells per side of the segment grid.
const MAX_GRID_SIDE: usize = 256;

#[derive(Debug, Clone)]
pub struct Thresholds {
    /// A fix farther than this from every road segment matches no road.
    pub match_tolerance_m: f64,
    /// Largest angle between the heading and a segment's direction (either way) for a match.
    pub heading_tolerance_deg: f64,
    /// Below this speed the heading is not trusted and only the distance matters.
    pub heading_min_kmh: f64,
    /// Each vehicle's speed is its mean over this sliding window; quieter vehicles drop out.
    pub window_ms: i64,
    /// Fewest vehicles on a road that can make a jam (K).
    pub min_vehicles: usize,
    /// Below this fraction of free-flow speed the road is stationary (DATEX II: 10 %).
    pub stationary_fraction: f64,
    /// Below this fraction it is queuing (DATEX II: 25 %); a jam is queuing or stationary.
    pub queuing_fraction: f64,
    /// Below this fraction it is slow (DATEX II: 75 %); reported in details, never a jam.
    pub slow_fraction: f64,
    /// How long the jam condition must hold before a jam opens.
    pub begin_ms: i64,
    /// How long the reverse must hold before a jam is cleared.
    pub end_ms: i64,
    /// How long a new class must hold before an open jam is updated.
    pub class_change_ms: i64,
    /// A road is re-evaluated at most this often (telemetry time), and on `expire`.
    pub evaluate_every_ms: i64,
    /// Events list at most this many of a jam's vehicles (by id); the detail gives the count.
    pub max_listed_vehicles: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            match_tolerance_m: 30.0,
            heading_tolerance_deg: 45.0,
            heading_min_kmh: 5.0,
            window_ms: 20_000,
            min_vehicles: 3,
            stationary_fraction: 0.10,
            queuing_fraction: 0.25,
            slow_fraction: 0.75,
            begin_ms: 20_000,
            end_ms: 30_000,
            class_change_ms: 10_000,
            evaluate_every_ms: 1_000,
            max_listed_vehicles: 20,
        }
    }
}

/// DATEX II traffic status classes by speed ÷ free-flow speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Class {
    FreeFlow,
    Slow,
    Queuing,
    Stationary,
}

impl Class {
    pub fn of(ratio: f64, t: &Thresholds) -> Class {
        if ratio < t.stationary_fraction {
            Class::Stationary
        } else if ratio < t.queuing_fraction {
            Class::Queuing
        } else if ratio < t.slow_fraction {
            Class::Slow
        } else {
            Class::FreeFlow
        }
    }

    pub fn is_jam(self) -> bool {
        matches!(self, Class::Queuing | Class::Stationary)
    }

    pub fn severity(self) -> Severity {
        match self {
            Class::Stationary => Severity::Major,
            Class::Queuing => Severity::Moderate,
            Class::Slow | Class::FreeFlow => Severity::Minor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::FreeFlow => "free flow",
            Class::Slow => "slow",
            Class::Queuing => "queuing",
            Class::Stationary => "stationary",
        }
    }
}

/// One straight piece of a road polyline, in local metres.
struct Segment {
    road: usize,
    a: [f64; 2],
    b: [f64; 2],
    /// Degrees from north, in [0, 180): roads are two-way.
    bearing: f64,
}

/// A vehicle's recent speeds on one road.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Samples {
    #[serde(with = "crate::checkpoint::packed_speeds")]
    speeds: VecDeque<(i64, f64)>,
    sum: f64,
    lat: f64,
    lon: f64,
}

impl Samples {
    fn mean(&self) -> f64 {
        self.sum / self.speeds.len().max(1) as f64
    }

    fn prune(&mut self, oldest_ms: i64) {
        while self.speeds.front().is_some_and(|&(at, _)| at < oldest_ms) {
            if let Some((_, speed)) = self.speeds.pop_front() {
                self.sum -= speed;
            }
        }
        if self.speeds.is_empty() {
            self.sum = 0.0;
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Phase {
    Clear {
        /// Since when the jam condition has held.
        jammed_since: Option<i64>,
    },
    Open {
        /// Known once the open event got its id.
        incident: Option<String>,
        class: Class,
        /// A different jam class seen since then.
        pending: Option<(Class, i64)>,
        /// Since when the condition has not held.
        freed_since: Option<i64>,
        /// The jam's last vehicles and position, for the clearing event once they are gone.
        last: Snapshot,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Road {
    id: String,
    free_flow_kmh: f64,
    vehicles: BTreeMap<String, Samples>,
    phase: Phase,
    /// Latest telemetry time seen on this road, and when it was last evaluated.
    now_ms: i64,
    evaluated_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VehicleState {
    road: Option<usize>,
    last_ms: i64,
}

pub struct JamDetector {
    thresholds: Thresholds,
    origin: [f64; 2],
    scale_lon: f64,
    segments: Vec<Segment>,
    /// The segments (by index) that may lie within the match tolerance of each cell.
    index: Grid,
    pub(super) state: State,
}

/// Each road's vehicles, speeds and jam phase, and the road each vehicle is on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    roads: Vec<Road>,
    vehicles: HashMap<String, VehicleState>,
}

impl State {
    /// Whether it has `city`'s roads, in order, and its vehicles are on them (by index).
    pub(super) fn fits(&self, city: &City) -> bool {
        let same_roads = self.roads.len() == city.roads.len()
            && self
                .roads
                .iter()
                .zip(&city.roads)
                .all(|(mine, road)| mine.id == road.id);
        let on_them =
            |vehicle: &VehicleState| vehicle.road.is_none_or(|road| road < city.roads.len());
        same_roads && self.vehicles.values().all(on_them)
    }
}

impl JamDetector {
    pub fn new(city: &City, thresholds: Thresholds) -> JamDetector {
        let origin = [city.bounds.min_lon, city.bounds.min_lat];
        let scale_lon = METRES_PER_DEGREE * origin[1].to_radians().cos();
        let local = |[lon, lat]: [f64; 2]| {
            [
                (lon - origin[0]) * scale_lon,
                (lat - origin[1]) * METRES_PER_DEGREE,
            ]
        };
        let mut segments = Vec::new();
        for (index, road) in city.roads.iter().enumerate() {
            for pair in road.points.windows(2) {
                let (a, b) = (local(pair[0]), local(pair[1]));
                let bearing = (b[0] - a[0])
                    .atan2(b[1] - a[1])
                    .to_degrees()
                    .rem_euclid(180.0);
                segments.push(Segment {
                    road: index,
                    a,
                    b,
                    bearing,
                });
            }
        }
        // Grown a hair beyond the tolerance, so that rounding in the distance never leaves out a
        // segment the tolerance accepts (a larger box only adds candidates).
        let reach = thresholds.match_tolerance_m * (1.0 + 1e-9) + 1e-6;
        let boxes: Vec<Rect> = segments
            .iter()
            .map(|segment| Rect::around([segment.a, segment.b]).grown(reach))
            .collect();
        // About four cells per segment: a few candidates per cell, whatever the city's size.
        let side = ((2.0 * (segments.len() as f64).sqrt()).ceil() as usize).clamp(1, MAX_GRID_SIDE);
        let index = Grid::new(&boxes, side);
        let roads = city
            .roads
            .iter()
            .map(|road| Road {
                id: road.id.clone(),
                free_flow_kmh: road.free_flow_kmh,
                vehicles: BTreeMap::new(),
                phase: Phase::Clear { jammed_since: None },
                now_ms: i64::MIN,
                evaluated_ms: None,
            })
            .collect();
        JamDetector {
            thresholds,
            origin,
            scale_lon,
            segments,
            index,
            state: State {
                roads,
                vehicles: HashMap::new(),
            },
        }
    }

    /// The road a vehicle is currently matched to.
    pub fn road_of(&self, vehicle: &str) -> Option<&str> {
        let road = self.state.vehicles.get(vehicle)?.road?;
        Some(self.state.roads[road].id.as_str())
    }

    pub fn observe(&mut self, vehicle: &str, fix: &Telemetry) -> Vec<Finding> {
        let previous = match self.state.vehicles.get(vehicle) {
            Some(state) if fix.ts <= state.last_ms => return Vec::new(), // out of order or repeated
            Some(state) => state.road,
            None => None,
        };
        let matched = self.map_match(fix, previous);
        if !self.state.vehicles.contains_key(vehicle) {
            self.state.vehicles.insert(
                vehicle.to_owned(),
                VehicleState {
                    road: None,
                    last_ms: fix.ts,
                },
            );
        }
        let Some(state) = self.state.vehicles.get_mut(vehicle) else {
            return Vec::new();
        };
        state.last_ms = fix.ts;
        let Some(road) = matched else {
            // Off every road (or a GPS outlier): the vehicle keeps its road; its samples age out.
            return Vec::new();
        };
        state.road = Some(road);
        let mut findings = Vec::new();
        if let Some(left) = previous.filter(|&left| left != road) {
            self.state.roads[left].vehicles.remove(vehicle);
            findings.extend(self.evaluate(left, fix.ts, false));
        }
        let vehicles = &mut self.state.roads[road].vehicles;
        if !vehicles.contains_key(vehicle) {
            vehicles.insert(vehicle.to_owned(), Samples::default());
        }
        let Some(samples) = vehicles.get_mut(vehicle) else {
            return findings;
        };
        samples.speeds.push_back((fix.ts, fix.speed_kmh));
        samples.sum += fix.speed_kmh;
        (samples.lat, samples.lon) = (fix.lat, fix.lon);
        findings.extend(self.evaluate(road, fix.ts, false));
        findings
    }

    /// Re-evaluates every road at `now_ms`, so jams whose vehicles went quiet still clear.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Finding> {
        (0..self.state.roads.len())
            .flat_map(|road| self.evaluate(road, now_ms, true))
            .collect()
    }

    /// Takes over a jam a previous run opened and never cleared: the road's traffic updates or
    /// clears it under the same incident (a road nobody drives on clears after `end_ms`).
    /// `latest` is the incident's latest event (its road, class and queue), `opened_ms` its
    /// opening. Called before any telemetry, in the order the incidents opened: a road has one
    /// jam at a time, so of two left open (by runs stopped one after the other) the later is
    /// taken over and the earlier returned, cleared.
    pub fn adopt(&mut self, latest: &Event, opened_ms: i64) -> Option<Finding> {
        let road = self
            .state
            .roads
            .iter_mut()
            .find(|r| latest.road.as_deref() == Some(r.id.as_str()))?;
        let class = match latest.severity {
            Severity::Major => Class::Stationary,
            Severity::Moderate | Severity::Minor => Class::Queuing,
        };
        let adopted = Phase::Open {
            incident: Some(latest.incident.clone()),
            class,
            pending: None,
            freed_since: None,
            last: Snapshot {
                vehicles: latest.vehicles.clone(),
                lat: latest.lat,
                lon: latest.lon,
            },
        };
        match std::mem::replace(&mut road.phase, adopted) {
            Phase::Open {
                incident: Some(earlier),
                class,
                last,
                ..
            } => Some(Finding {
                kind: EventKind::Jam,
                status: Status::Cleared,
                severity: class.severity(),
                incident: Some(earlier),
                vehicles: last.vehicles,
                zone: None,
                road: Some(road.id.clone()),
                lat: last.lat,
                lon: last.lon,
                at_ms: opened_ms,
                detail: "superseded by a later jam on the road".into(),
            }),
            _ => None,
        }
    }

    /// Records the incident id given to the jam a road just opened.
    pub fn assign_incident(&mut self, road: &str, id: &str) {
        if let Some(Road {
            phase: Phase::Open { incident, .. },
            ..
        }) = self.state.roads.iter_mut().find(|r| r.id == road)
        {
            *incident = Some(id.to_owned());
        }
    }

    /// The road whose segment is nearest to the fix within the tolerance and runs along its
    /// heading; the vehicle's previous road wins while it still qualifies. Only the segments the
    /// index lists near the fix are tested, in the order of a scan of them all, so ties between
    /// equally near segments go to the first, as they would in that scan.
    fn map_match(&self, fix: &Telemetry, previous: Option<usize>) -> Option<usize> {
        let p = self.local(fix);
        self.best_match(fix, p, previous, self.index.candidates(p).iter().copied())
    }

    /// `map_match` testing every segment of the city: what the index must reproduce.
    #[cfg(test)]
    fn map_match_by_scan(&self, fix: &Telemetry, previous: Option<usize>) -> Option<usize> {
        self.best_match(fix, self.local(fix), previous, 0..self.segments.len())
    }

    /// A fix's position in local metres.
    fn local(&self, fix: &Telemetry) -> [f64; 2] {
        [
            (fix.lon - self.origin[0]) * self.scale_lon,
            (fix.lat - self.origin[1]) * METRES_PER_DEGREE,
        ]
    }

    /// The match among `candidates` (segment indexes, ascending) for a fix at `p`.
    fn best_match(
        &self,
        fix: &Telemetry,
        p: [f64; 2],
        previous: Option<usize>,
        candidates: impl Iterator<Item = usize>,
    ) -> Option<usize> {
        let t = &self.thresholds;
        let trust_heading = fix.speed_kmh >= t.heading_min_kmh;
        let mut best: Option<(usize, f64)> = None;
        for segment in candidates.map(|index| &self.segments[index]) {
            let distance = distance_to_segment(p, segment.a, segment.b);
            // Written so that a NaN distance (a NaN position) is never within.
            let within = distance <= t.match_tolerance_m;
            if !within {
                continue;
            }
            if trust_heading {
                let off = (fix.heading.rem_euclid(180.0) - segment.bearing).abs();
                if off.min(180.0 - off) > t.heading_tolerance_deg {
                    continue;
                }
            }
            if Some(segment.road) == previous {
                return previous;
            }
            if best.is_none_or(|(_, nearest)| distance < nearest) {
                best = Some((segment.road, distance));
            }
        }
        best.map(|(road, _)| road)
    }

    /// Runs a road's state machine at `now_ms` (at most every `evaluate_every_ms` unless forced).
    fn evaluate(&mut self, index: usize, now_ms: i64, force: bool) -> Vec<Finding> {
        let t = &self.thresholds;
        let road = &mut self.state.roads[index];
        road.now_ms = road.now_ms.max(now_ms);
        let now = road.now_ms;
        if !force
            && road
                .evaluated_ms
                .is_some_and(|at| now - at < t.evaluate_every_ms)
        {
            return Vec::new();
        }
        road.evaluated_ms = Some(now);
        road.vehicles.retain(|_, samples| {
            samples.prune(now - t.window_ms);
            !samples.speeds.is_empty()
        });
        let count = road.vehicles.len();
        let mean_kmh = road.vehicles.values().map(Samples::mean).sum::<f64>() / count.max(1) as f64;
        let ratio = mean_kmh / road.free_flow_kmh;
        let class = Class::of(ratio, t);
        let jammed = count >= t.min_vehicles && class.is_jam();
        if !jammed && matches!(road.phase, Phase::Clear { .. }) {
            // The common case: a flowing road, nothing to describe.
            road.phase = Phase::Clear { jammed_since: None };
            return Vec::new();
        }
        let snapshot = (count > 0).then(|| Snapshot::of(road, t.max_listed_vehicles));
        let detail = format!(
            "{}: {count} vehicles at {:.0} % of free-flow speed ({mean_kmh:.1} of {:.0} km/h)",
            class.as_str(),
            ratio * 100.0,
            road.free_flow_kmh
        );
        let finding = |status, severity, incident: Option<String>, at: &Snapshot| Finding {
            kind: EventKind::Jam,
            status,
            severity,
            incident,
            vehicles: at.vehicles.clone(),
            zone: None,
            road: Some(road.id.clone()),
            lat: at.lat,
            lon: at.lon,
            at_ms: now,
            detail: detail.clone(),
        };
        let mut findings = Vec::new();
        road.phase = match std::mem::replace(&mut road.phase, Phase::Clear { jammed_since: None }) {
            Phase::Clear { jammed_since } => {
                // Jammed, hence at least `min_vehicles` vehicles and a snapshot.
                let since = jammed_since.unwrap_or(now);
                match snapshot {
                    Some(at) if now - since >= t.begin_ms => {
                        findings.push(finding(Status::Open, class.severity(), None, &at));
                        Phase::Open {
                            incident: None,
                            class,
                            pending: None,
                            freed_since: None,
                            last: at,
                        }
                    }
                    _ => Phase::Clear {
                        jammed_since: Some(since),
                    },
                }
            }
            Phase::Open {
                incident,
                class: open_class,
                pending,
                last,
                ..
            } if jammed => {
                let at = snapshot.unwrap_or(last);
                let (class, pending) = if class == open_class {
                    (open_class, None)
                } else {
                    let since = pending
                        .filter(|&(seen, _)| seen == class)
                        .map_or(now, |(_, since)| since);
                    if now - since >= t.class_change_ms {
                        findings.push(finding(
                            Status::Update,
                            class.severity(),
                            incident.clone(),
                            &at,
                        ));
                        (class, None)
                    } else {
                        (open_class, Some((class, since)))
                    }
                };
                Phase::Open {
                    incident,
                    class,
                    pending,
                    freed_since: None,
                    last: at,
                }
            }
            Phase::Open {
                incident,
                class,
                freed_since,
                last,
                ..
            } => {
                let since = freed_since.unwrap_or(now);
                // Once its vehicles are gone, the jam is placed where it was last seen.
                let at = snapshot.unwrap_or(last);
                if now - since >= t.end_ms {
                    // The clearing keeps the jam's class: a cleared stationary jam is still
                    // a major one in the history.
                    findings.push(finding(Status::Cleared, class.severity(), incident, &at));
                    Phase::Clear { jammed_since: None }
                } else {
                    Phase::Open {
                        incident,
                        class,
                        pending: None,
                        freed_since: Some(since),
                        last: at,
                    }
                }
            }
        };
        findings
    }
}

/// Who is on a road and where, for an event.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Snapshot {
    /// The vehicles, by id, at most `max_listed_vehicles` of them.
    vehicles: Vec<String>,
    /// The mean of all their positions.
    lat: f64,
    lon: f64,
}

impl Snapshot {
    fn of(road: &Road, max_listed: usize) -> Snapshot {
        let n = road.vehicles.len().max(1) as f64;
        Snapshot {
            vehicles: road.vehicles.keys().take(max_listed).cloned().collect(),
            lat: road.vehicles.values().map(|s| s.lat).sum::<f64>() / n,
            lon: road.vehicles.values().map(|s| s.lon).sum::<f64>() / n,
        }
    }
}

fn distance_to_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - (a[0] + t * dx)).hypot(p[1] - (a[1] + t * dy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Central avenue (free flow 50 km/h) runs east–west at lat 45.760; jams: < 12.5 km/h.
    const AVENUE_LAT: f64 = 45.760;
    const LONS: [f64; 3] = [4.820, 4.822, 4.824];

    fn on_avenue(ts: i64, lon: f64, speed_kmh: f64) -> Telemetry {
        Telemetry {
            ts,
            lat: AVENUE_LAT,
            lon,
            speed_kmh,
            heading: 90.0,
            flags: vec![],
        }
    }

    /// Feeds one fix per vehicle per second, `speed(vehicle, second)`, and records each finding
    /// as (second, status, severity, incident), naming incidents J1, J2… as they open.
    struct Run {
        detector: JamDetector,
        incidents: usize,
        seen: Vec<(i64, Status, Severity, String)>,
    }

    impl Run {
        fn new() -> Run {
            Run {
                detector: JamDetector::new(&City::builtin(), Thresholds::default()),
                incidents: 0,
                seen: Vec::new(),
            }
        }

        fn drive(&mut self, seconds: std::ops::Range<i64>, speed: impl Fn(usize, i64) -> f64) {
            self.drive_fixes(seconds, |v, s| on_avenue(s * 1000, LONS[v], speed(v, s)));
        }

        fn drive_fixes(
            &mut self,
            seconds: std::ops::Range<i64>,
            fix: impl Fn(usize, i64) -> Telemetry,
        ) {
            for second in seconds {
                for vehicle in 0..LONS.len() {
                    let findings = self
                        .detector
                        .observe(&format!("v{vehicle}"), &fix(vehicle, second));
                    self.record(findings);
                }
            }
        }

        fn record(&mut self, findings: Vec<Finding>) {
            for finding in findings {
                assert_eq!(
                    (finding.kind, finding.road.as_deref()),
                    (EventKind::Jam, Some("avenue-centre"))
                );
                let incident = match finding.incident {
                    Some(incident) => incident,
                    None => {
                        assert_eq!(finding.status, Status::Open);
                        self.incidents += 1;
                        let id = format!("J{}", self.incidents);
                        self.detector.assign_incident("avenue-centre", &id);
                        id
                    }
                };
                self.seen.push((
                    finding.at_ms / 1000,
                    finding.status,
                    finding.severity,
                    incident,
                ));
            }
        }

        fn statuses(&self) -> Vec<(Status, Severity, &str)> {
            self.seen
                .iter()
                .map(|(_, status, severity, incident)| (*status, *severity, incident.as_str()))
                .collect()
        }
    }

    #[test]
    fn a_jam_opens_after_the_beginning_time_and_not_before() {
        let mut run = Run::new();
        // Free flow for a minute, then everyone crawls at 4 km/h (8 %: stationary).
        run.drive(0..200, |_, s| if s < 60 { 45.0 } else { 4.0 });
        assert_eq!(run.statuses(), [(Status::Open, Severity::Major, "J1")]);
        let opened = run.seen[0].0;
        let t = Thresholds::default();
        // The window mean must first fall below 25 %, then stay there for the beginning time.
        assert!(opened >= 60 + t.begin_ms / 1000, "opened at {opened}");
        assert!(
            opened <= 60 + (t.window_ms + t.begin_ms) / 1000 + 2,
            "opened at {opened}"
        );
    }

    #[test]
    fn a_slow_vehicle_alone_is_not_a_jam() {
        let mut run = Run::new();
        // One vehicle stopped, two at free flow: enough vehicles, but the road flows.
        run.drive(0..300, |v, _| if v == 0 { 0.0 } else { 45.0 });
        assert_eq!(run.statuses(), []);
        // Only one vehicle on the road, crawling: not enough vehicles.
        let mut detector = JamDetector::new(&City::builtin(), Thresholds::default());
        for s in 0..300 {
            assert_eq!(detector.observe("v0", &on_avenue(s * 1000, 4.82, 2.0)), []);
        }
        assert!(detector.expire(300_000).is_empty());
    }

    #[test]
    fn a_class_change_updates_the_jam() {
        let mut run = Run::new();
        // Queuing at 10 km/h (20 %), then stationary at 2 km/h (4 %).
        run.drive(0..200, |_, s| if s < 100 { 10.0 } else { 2.0 });
        assert_eq!(
            run.statuses(),
            [
                (Status::Open, Severity::Moderate, "J1"),
                (Status::Update, Severity::Major, "J1")
            ]
        );
        let updated = run.seen[1].0;
        assert!(
            (100 + 10..=100 + 30).contains(&updated),
            "updated at {updated}"
        );
    }

    #[test]
    fn a_jam_clears_only_after_the_ending_time() {
        let mut run = Run::new();
        run.drive(0..100, |_, _| 4.0);
        run.drive(100..250, |_, _| 45.0);
        assert_eq!(
            run.statuses(),
            [
                (Status::Open, Severity::Major, "J1"),
                (Status::Cleared, Severity::Major, "J1")
            ]
        );
        let cleared = run.seen[1].0;
        let t = Thresholds::default();
        assert!(cleared >= 100 + t.end_ms / 1000, "cleared at {cleared}");
        assert!(
            cleared <= 100 + (t.window_ms + t.end_ms) / 1000 + 2,
            "cleared at {cleared}"
        );
    }

    #[test]
    fn a_jam_that_clears_and_reforms_is_a_new_incident() {
        let mut run = Run::new();
        run.drive(
            0..300,
            |_, s| if (100..200).contains(&s) { 45.0 } else { 4.0 },
        );
        assert_eq!(
            run.statuses(),
            [
                (Status::Open, Severity::Major, "J1"),
                (Status::Cleared, Severity::Major, "J1"),
                (Status::Open, Severity::Major, "J2"),
            ]
        );
    }

    #[test]
    fn speeds_wavering_around_the_threshold_do_not_flap() {
        // 17 km/h (34 %) and 8 km/h (16 %) in turns of 10 s: once the window has filled, each
        // vehicle's mean wavers around 25 % (12.3 / 12.7 km/h), crossing it every 10 s.
        let wavering = |s: i64| if (s / 10) % 2 == 0 { 17.0 } else { 8.0 };
        let mut run = Run::new();
        run.drive(0..600, |_, s| wavering(s));
        assert_eq!(run.statuses(), [], "never below long enough to open");
        // An open jam whose traffic wavers stays one incident: never cleared nor reopened.
        let mut run = Run::new();
        run.drive(0..60, |_, _| 4.0);
        run.drive(60..660, |_, s| wavering(s));
        let statuses = run.statuses();
        assert_eq!(statuses[0], (Status::Open, Severity::Major, "J1"));
        assert!(statuses[1..]
            .iter()
            .all(|(status, _, incident)| *status == Status::Update && *incident == "J1"));
        assert!(statuses.len() <= 2, "{statuses:?}");
    }

    #[test]
    fn gps_jitter_around_the_road_still_matches() {
        let mut rng = StdRng::seed_from_u64(5);
        let jitter: Vec<(f64, f64, f64)> = (0..600)
            .map(|_| {
                (
                    rng.random_range(-20.0..20.0),
                    rng.random_range(-20.0..20.0),
                    rng.random_range(-25.0..25.0),
                )
            })
            .collect();
        let mut run = Run::new();
        run.drive_fixes(0..200, |v, s| {
            let (north_m, east_m, heading) = jitter[(s as usize * 3 + v) % jitter.len()];
            let speed = if s < 60 { 45.0 } else { 4.0 };
            Telemetry {
                lat: AVENUE_LAT + north_m / METRES_PER_DEGREE,
                lon: LONS[v] + east_m / (METRES_PER_DEGREE * AVENUE_LAT.to_radians().cos()),
                heading: (if v == 1 { 270.0 } else { 90.0 } + heading).rem_euclid(360.0),
                ..on_avenue(s * 1000, LONS[v], speed)
            }
        });
        assert_eq!(run.statuses(), [(Status::Open, Severity::Major, "J1")]);
        for v in 0..3 {
            assert_eq!(
                run.detector.road_of(&format!("v{v}")),
                Some("avenue-centre")
            );
        }
    }

    #[test]
    fn map_matching_uses_distance_and_heading() {
        let city = City::builtin();
        let mut detector = JamDetector::new(&city, Thresholds::default());
        let fix = |ts, lat, lon, speed_kmh, heading| Telemetry {
            ts,
            lat,
            lon,
            speed_kmh,
            heading,
            flags: vec![],
        };
        // 100 m off the avenue: no road.
        detector.observe(
            "a",
            &fix(0, AVENUE_LAT + 100.0 / METRES_PER_DEGREE, 4.82, 40.0, 90.0),
        );
        assert_eq!(detector.road_of("a"), None);
        // At the avenue / rue centrale crossing (4.835, 45.760), the heading decides.
        detector.observe("north", &fix(0, 45.7601, 4.8350, 30.0, 0.0));
        detector.observe("east", &fix(0, 45.7601, 4.8350, 30.0, 90.0));
        assert_eq!(detector.road_of("north"), Some("rue-centrale"));
        assert_eq!(detector.road_of("east"), Some("avenue-centre"));
        // Stopped at the crossing, its heading unreliable, a vehicle keeps its road.
        detector.observe("north", &fix(1000, 45.7600, 4.8350, 0.0, 90.0));
        assert_eq!(detector.road_of("north"), Some("rue-centrale"));
    }

    /// Checks `map_match` against the plain scan for `count` fixes: on and around the city's
    /// segments (jittered across the tolerance's edge, exactly at it, past the segments' ends),
    /// anywhere over its bounds and beyond, and a few not finite; any heading, speeds on both
    /// sides of `heading_min_kmh`, from vehicles on no road or on any.
    fn assert_index_matches_scan(city: &City, seed: u64, count: usize) {
        let detector = JamDetector::new(city, Thresholds::default());
        let t = &detector.thresholds;
        let mut rng = StdRng::seed_from_u64(seed);
        let b = &city.bounds;
        let (mut matched, mut kept) = (0, 0);
        for i in 0..count {
            let mut heading = rng.random_range(0.0..360.0);
            let mut near_road = rng.random_range(0..city.roads.len());
            let [lon, lat] = match rng.random_range(0..10) {
                0 => [
                    rng.random_range(b.min_lon - 0.01..b.max_lon + 0.01),
                    rng.random_range(b.min_lat - 0.01..b.max_lat + 0.01),
                ],
                1 => [[f64::NAN, 45.76], [4.83, f64::INFINITY]][i % 2],
                _ => {
                    let segment = &detector.segments[rng.random_range(0..detector.segments.len())];
                    let along = rng.random_range(-0.2..1.2);
                    let (dx, dy) = (segment.b[0] - segment.a[0], segment.b[1] - segment.a[1]);
                    let length = dx.hypot(dy).max(f64::EPSILON);
                    let across = match rng.random_range(0..3) {
                        0 => t.match_tolerance_m * [1.0, -1.0][i % 2],
                        _ => rng.random_range(-1.5..1.5) * t.match_tolerance_m,
                    };
                    near_road = segment.road;
                    if rng.random_bool(0.5) {
                        // Roughly along the segment, either way.
                        heading =
                            segment.bearing + rng.random_range(-60.0..60.0) + [0.0, 180.0][i % 2];
                    }
                    let x = segment.a[0] + along * dx - across * dy / length;
                    let y = segment.a[1] + along * dy + across * dx / length;
                    [
                        detector.origin[0] + x / detector.scale_lon,
                        detector.origin[1] + y / METRES_PER_DEGREE,
                    ]
                }
            };
            let fix = Telemetry {
                ts: i as i64,
                lat,
                lon,
                speed_kmh: rng.random_range(0.0..3.0 * t.heading_min_kmh),
                heading: heading.rem_euclid(360.0),
                flags: vec![],
            };
            let previous = match rng.random_range(0..3) {
                0 => None,
                1 => Some(near_road),
                _ => Some(rng.random_range(0..city.roads.len())),
            };
            let by_index = detector.map_match(&fix, previous);
            assert_eq!(
                by_index,
                detector.map_match_by_scan(&fix, previous),
                "{fix:?} from road {previous:?}"
            );
            matched += usize::from(by_index.is_some());
            kept += usize::from(by_index.is_some() && by_index == previous);
        }
        // The fixes exercised every outcome: no road, the previous one, another one.
        assert!(
            count / 10 < matched && count / 20 < kept && kept < matched * 9 / 10,
            "{matched} matched, {kept} kept their road, of {count}"
        );
    }

    #[test]
    fn the_segment_index_matches_what_scanning_every_segment_matches() {
        let city = City::builtin();
        assert_index_matches_scan(&city, 1, 200_000);
        // The same city crowded with random roads, many segments to a cell and many crossing.
        let mut rng = StdRng::seed_from_u64(2);
        let mut crowded = city.clone();
        let b = crowded.bounds;
        for r in 0..400 {
            let mut point = [
                rng.random_range(b.min_lon..b.max_lon),
                rng.random_range(b.min_lat..b.max_lat),
            ];
            let mut points = vec![point];
            for _ in 0..rng.random_range(1..6) {
                point = [
                    point[0] + rng.random_range(-0.004..0.004),
                    point[1] + rng.random_range(-0.003..0.003),
                ];
                points.push(point);
            }
            crowded.roads.push(vigie_model::city::Road {
                id: format!("random-{r}"),
                name: format!("Random {r}"),
                free_flow_kmh: 50.0,
                points,
            });
        }
        assert_index_matches_scan(&crowded, 3, 50_000);
    }

    #[test]
    fn a_jam_whose_vehicles_go_quiet_clears_on_expiry() {
        let mut run = Run::new();
        run.drive(0..100, |_, _| 2.0);
        let findings = run.detector.expire(100_000 + 20_000);
        run.record(findings);
        let findings = run.detector.expire(100_000 + 20_000 + 30_000);
        run.record(findings);
        assert_eq!(
            run.statuses(),
            [
                (Status::Open, Severity::Major, "J1"),
                (Status::Cleared, Severity::Major, "J1")
            ]
        );
        assert!(run.seen[1].0 >= 100 + 30);
    }

    #[test]
    fn a_long_queue_lists_its_first_vehicles_and_counts_them_all() {
        let mut detector = JamDetector::new(&City::builtin(), Thresholds::default());
        let mut opened = Vec::new();
        for s in 0..60 {
            for v in 0..30 {
                let fix = on_avenue(s * 1000, 4.81 + 0.0005 * v as f64, 3.0);
                opened.extend(detector.observe(&format!("v{v:02}"), &fix));
            }
        }
        assert_eq!(opened.len(), 1);
        assert_eq!(
            opened[0].vehicles.len(),
            Thresholds::default().max_listed_vehicles
        );
        assert_eq!(opened[0].vehicles[0], "v00");
        assert!(
            opened[0]
                .detail
                .starts_with("stationary: 30 vehicles at 6 %"),
            "{}",
            opened[0].detail
        );
        assert!(
            (opened[0].lon - (4.81 + 0.0005 * 14.5)).abs() < 1e-9,
            "mean position of all 30"
        );
    }
}
