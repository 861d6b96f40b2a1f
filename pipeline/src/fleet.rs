//! The simulated fleet: vehicles driving the city's roads at plausible speeds, with scripted
//! incidents. Pure and deterministic for a seed; the simulator program only publishes its fixes.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use vigie_model::telemetry::FLAG_CRASH;
use vigie_model::{City, Event, EventKind, Road, Severity, Status, Telemetry, Zone};

use crate::detect::Thresholds;

/// Metres per degree of latitude, and of longitude at the equator.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// A scripted crash: the vehicle stops dead with its crash sensor raised, then drives on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crash {
    pub vehicle: usize,
    pub at_ms: i64,
    pub stopped_for_ms: i64,
}

/// A scripted jam: every vehicle on `road` slows down to `speed_fraction` of the road's
/// free-flow speed from `at_ms` for `lasting_ms`, then speeds up again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jam {
    pub road: String,
    pub at_ms: i64,
    pub lasting_ms: i64,
    pub speed_fraction: f64,
}

impl Jam {
    /// Default crawl: 15 % of free-flow speed, DATEX II "queuing" (a moderate jam).
    pub const DEFAULT_SPEED_FRACTION: f64 = 0.15;

    fn active(&self, elapsed_ms: i64) -> bool {
        (self.at_ms..self.at_ms + self.lasting_ms).contains(&elapsed_ms)
    }
}

/// What the simulator injects; the scripted part of the run's [`GroundTruth`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub crashes: Vec<Crash>,
    pub jams: Vec<Jam>,
    /// The crashes and jams happen again every this many milliseconds (`None`: once), so a
    /// stack left running keeps showing every kind of incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_every_ms: Option<i64>,
}

impl Scenario {
    /// Where `elapsed_ms` after the start falls in the scripted timeline.
    fn timeline_ms(&self, elapsed_ms: i64) -> i64 {
        match self.repeat_every_ms {
            Some(period) if period > 0 => elapsed_ms % period,
            _ => elapsed_ms,
        }
    }
}

/// Which way a vehicle crossed a zone's border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crossing {
    Enter,
    Exit,
}

impl Crossing {
    /// The event the zone detector reports for it.
    pub fn kind(self) -> EventKind {
        match self {
            Crossing::Enter => EventKind::ZoneEnter,
            Crossing::Exit => EventKind::ZoneExit,
        }
    }
}

/// A vehicle entering or leaving a zone, at its first fix on the other side of the border (a
/// change of zone is an exit of the old one and an entry into the new one, at the same fix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneCrossing {
    pub vehicle: usize,
    pub zone: String,
    pub crossing: Crossing,
    pub at_ms: i64,
}

/// What a run injected, written by `--ground-truth`: the scripted crashes and jams, the road
/// each vehicle drives, and the zone crossings those routes made. Times (`at_ms`, `end_ms`) are
/// milliseconds after `start_ms`, the telemetry time (`ts`) of the run's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub start_ms: i64,
    /// The last fix, in milliseconds after the start.
    pub end_ms: i64,
    #[serde(flatten)]
    pub scenario: Scenario,
    /// The road of each vehicle, by vehicle index (`veh-0007` is index 7).
    pub roads: Vec<String>,
    pub zone_crossings: Vec<ZoneCrossing>,
}

/// How far a reported event may lag what [`GroundTruth`] says happened, beyond what the
/// detectors' thresholds imply (docs/detection.md).
#[derive(Debug, Clone, Copy)]
pub struct Leeway {
    /// The fixes' nominal spacing in telemetry time: a change is seen at the next fix.
    pub fix_period_ms: i64,
    /// Added to every upper bound: irregular fix spacing (a simulator paced by the wall clock).
    pub slack_ms: i64,
}

impl GroundTruth {
    /// How the events of a run (every event, any order) differ from the ground truth, one line
    /// per difference; empty when every injected incident and crossing was reported within its
    /// detector's delay and nothing else was. A crossing too close to the end for the detector
    /// to confirm it may be missing. A repeating scenario cannot be compared.
    pub fn differences(
        &self,
        events: &[Event],
        thresholds: &Thresholds,
        leeway: Leeway,
    ) -> Vec<String> {
        let mut differences = Vec::new();
        if self.scenario.repeat_every_ms.is_some() {
            differences.push("a repeating scenario cannot be compared".to_owned());
            return differences;
        }
        let at = |event: &Event| {
            (event.occurred_at.unix_timestamp_nanos() / 1_000_000) as i64 - self.start_ms
        };
        let mut incidents: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
        for event in events.iter().filter(|e| e.kind.has_lifecycle()) {
            incidents.entry(&event.incident).or_default().push(event);
        }
        for history in incidents.values_mut() {
            history.sort_by_key(|e| (at(e), e.status != Status::Open));
        }
        let mut unmatched: Vec<&Vec<&Event>> = incidents.values().collect();
        // Each scripted incident: its kind, vehicles, road, severity, and the windows its
        // opening and clearing must fall in (from the detectors' thresholds).
        let mut expected = Vec::new();
        let period = leeway.fix_period_ms;
        for crash in &self.scenario.crashes {
            let end = crash.at_ms + crash.stopped_for_ms;
            // Driving on: above `moving_on_kmh` once accelerating at most MAX_ACCELERATION_MPS2.
            let moving_on_ms = (thresholds.accident.moving_on_kmh / 3.6 / MAX_ACCELERATION_MPS2
                * 1000.0)
                .ceil() as i64;
            expected.push((
                EventKind::Accident,
                vec![vehicle_id(crash.vehicle)],
                None,
                Severity::Major,
                (crash.at_ms, crash.at_ms + period),
                (end, end + moving_on_ms + period),
            ));
        }
        let jams = &thresholds.jam;
        for jam in &self.scenario.jams {
            let end = jam.at_ms + jam.lasting_ms;
            let on_road = (self.roads.iter().enumerate())
                .filter(|(_, road)| **road == jam.road)
                .map(|(vehicle, _)| vehicle_id(vehicle))
                .collect();
            let severity = if jam.speed_fraction < jams.stationary_fraction {
                Severity::Major
            } else {
                Severity::Moderate
            };
            // Opens `begin_ms` after the road's mean speed falls under the queuing line, which
            // takes the vehicles' braking and up to a `window_ms` of averaging (10 s allowed for
            // braking); clears `end_ms` after it is back above, with the same averaging.
            expected.push((
                EventKind::Jam,
                on_road,
                Some(jam.road.clone()),
                severity,
                (
                    jam.at_ms + jams.begin_ms,
                    jam.at_ms + jams.begin_ms + jams.window_ms + 10_000,
                ),
                (end + jams.end_ms, end + jams.end_ms + jams.window_ms),
            ));
        }
        for (kind, vehicles, road, severity, opens, clears) in expected {
            let within = |(from, to): (i64, i64), event: &Event| {
                (from..=to + leeway.slack_ms).contains(&at(event))
            };
            let found = unmatched.iter().position(|history| {
                let [open, cleared] = history[..] else {
                    return false;
                };
                open.kind == kind
                    && (open.status, cleared.status) == (Status::Open, Status::Cleared)
                    && history
                        .iter()
                        .all(|e| e.vehicles == vehicles && e.road == road && e.severity == severity)
                    && within(opens, open)
                    && within(clears, cleared)
            });
            match found {
                Some(index) => {
                    unmatched.remove(index);
                }
                None => differences.push(format!(
                    "missing: {kind:?} of {vehicles:?} on {road:?}, {severity:?}, opened within \
                     {opens:?} ms and cleared within {clears:?} ms (+{} ms)",
                    leeway.slack_ms
                )),
            }
        }
        for history in unmatched {
            let lines: Vec<String> = history
                .iter()
                .map(|e| format!("{:?} at {} ms: {e:?}", e.status, at(e)))
                .collect();
            differences.push(format!("not injected: {}", lines.join("; ")));
        }

        // Zone crossings: reported at the fix that confirms them, `confirm_fixes - 1` fixes
        // after the first one on the other side of the border.
        let confirm_ms = i64::from(thresholds.zone.confirm_fixes.saturating_sub(1)) * period;
        let mut reported: Vec<&Event> = events.iter().filter(|e| !e.kind.has_lifecycle()).collect();
        reported.sort_by_key(|e| at(e));
        for crossing in &self.zone_crossings {
            let vehicle = vehicle_id(crossing.vehicle);
            let latest = crossing.at_ms + confirm_ms + leeway.slack_ms;
            let found = reported.iter().position(|e| {
                e.kind == crossing.crossing.kind()
                    && e.vehicles == [vehicle.as_str()]
                    && e.zone.as_deref() == Some(crossing.zone.as_str())
                    && (crossing.at_ms..=latest).contains(&at(e))
            });
            match found {
                Some(index) => {
                    reported.remove(index);
                }
                None if latest > self.end_ms => {}
                None => differences.push(format!(
                    "missing: {crossing:?} ({vehicle}), reported within {} ms",
                    confirm_ms + leeway.slack_ms
                )),
            }
        }
        for event in reported {
            differences.push(format!("not injected: at {} ms: {event:?}", at(event)));
        }
        differences
    }
}

/// Largest acceleration or braking of a driving vehicle (m/s²), well short of the accident
/// detector's hard braking, so slowing into a jam never looks like a crash. Crashes stop dead.
pub const MAX_ACCELERATION_MPS2: f64 = 2.5;

pub fn vehicle_id(index: usize) -> String {
    format!("veh-{index:04}")
}

/// A road as a polyline in local metres, with its cumulative lengths.
struct Track {
    points: Vec<[f64; 2]>,
    lengths: Vec<f64>,
    free_flow_kmh: f64,
    road: String,
}

impl Track {
    fn new(road: &Road, origin: [f64; 2]) -> Track {
        let scale_lon = METRES_PER_DEGREE * origin[1].to_radians().cos();
        let points: Vec<[f64; 2]> = road
            .points
            .iter()
            .map(|&[lon, lat]| {
                [
                    (lon - origin[0]) * scale_lon,
                    (lat - origin[1]) * METRES_PER_DEGREE,
                ]
            })
            .collect();
        let mut lengths = vec![0.0];
        for pair in points.windows(2) {
            let step = (pair[1][0] - pair[0][0]).hypot(pair[1][1] - pair[0][1]);
            lengths.push(lengths.last().copied().unwrap_or(0.0) + step);
        }
        Track {
            points,
            lengths,
            free_flow_kmh: road.free_flow_kmh,
            road: road.id.clone(),
        }
    }

    fn length(&self) -> f64 {
        self.lengths.last().copied().unwrap_or(0.0)
    }

    /// Position (local metres) and heading (degrees from north) at a distance along the track.
    fn locate(&self, distance: f64, forward: bool) -> ([f64; 2], f64) {
        let segment = self
            .lengths
            .partition_point(|&l| l <= distance)
            .clamp(1, self.points.len() - 1);
        let (a, b) = (self.points[segment - 1], self.points[segment]);
        let span = self.lengths[segment] - self.lengths[segment - 1];
        let t = if span > 0.0 {
            (distance - self.lengths[segment - 1]) / span
        } else {
            0.0
        };
        let position = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
        let (dx, dy) = if forward {
            (b[0] - a[0], b[1] - a[1])
        } else {
            (a[0] - b[0], a[1] - b[1])
        };
        (position, dx.atan2(dy).to_degrees().rem_euclid(360.0))
    }
}

struct Vehicle {
    track: usize,
    distance: f64,
    forward: bool,
    /// Fraction of free-flow speed this driver keeps.
    pace: f64,
    speed_kmh: f64,
}

pub struct Fleet {
    origin: [f64; 2],
    tracks: Vec<Track>,
    vehicles: Vec<Vehicle>,
    scenario: Scenario,
    rng: StdRng,
    start_ms: i64,
    last_elapsed_ms: i64,
    zones: Vec<Zone>,
    /// Once [`Fleet::record_zone_crossings`] is called.
    zone_log: Option<ZoneLog>,
}

/// Each vehicle's zone at its last fix (`None` before its first), and the crossings so far.
type ZoneLog = (Vec<Option<Option<usize>>>, Vec<ZoneCrossing>);

impl Fleet {
    /// Vehicles are spread over the roads round-robin: vehicle `i` drives road `i % roads`.
    pub fn new(
        city: &City,
        vehicles: usize,
        seed: u64,
        scenario: Scenario,
        start_ms: i64,
    ) -> Fleet {
        let origin = [city.bounds.min_lon, city.bounds.min_lat];
        let tracks: Vec<Track> = city
            .roads
            .iter()
            .map(|road| Track::new(road, origin))
            .collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let vehicles = (0..vehicles)
            .map(|i| {
                let track = i % tracks.len();
                let distance = rng.random_range(0.0..tracks[track].length());
                let forward = rng.random_bool(0.5);
                let pace = rng.random_range(0.6..1.0);
                Vehicle {
                    track,
                    distance,
                    forward,
                    pace,
                    speed_kmh: tracks[track].free_flow_kmh * pace,
                }
            })
            .collect();
        Fleet {
            origin,
            tracks,
            vehicles,
            scenario,
            rng,
            start_ms,
            last_elapsed_ms: 0,
            zones: city.zones.clone(),
            zone_log: None,
        }
    }

    /// From now on, notes every zone crossing for [`Fleet::ground_truth`]: a vehicle's first fix
    /// tells where it is, each later fix in another zone (found as `City::zone_at` finds it)
    /// than the previous one is an exit and an entry. Off by default: a long run would
    /// accumulate them.
    pub fn record_zone_crossings(&mut self) {
        self.zone_log
            .get_or_insert_with(|| (vec![None; self.vehicles.len()], Vec::new()));
    }

    /// What this fleet was scripted to do and, if recorded, the zone crossings it made.
    pub fn ground_truth(&self) -> GroundTruth {
        GroundTruth {
            start_ms: self.start_ms,
            end_ms: self.last_elapsed_ms,
            scenario: self.scenario.clone(),
            roads: (self.vehicles.iter())
                .map(|v| self.tracks[v.track].road.clone())
                .collect(),
            zone_crossings: self
                .zone_log
                .as_ref()
                .map(|(_, crossings)| crossings.clone())
                .unwrap_or_default(),
        }
    }

    pub fn len(&self) -> usize {
        self.vehicles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vehicles.is_empty()
    }

    /// The vehicles driving a road (by id), in order.
    pub fn vehicles_on(&self, road: &str) -> Vec<usize> {
        (0..self.vehicles.len())
            .filter(|&i| self.tracks[self.vehicles[i].track].road == road)
            .collect()
    }

    /// Moves every vehicle to `elapsed_ms` after the start and returns each one's fix.
    pub fn tick(&mut self, elapsed_ms: i64) -> Vec<(String, Telemetry)> {
        let dt_s = (elapsed_ms - self.last_elapsed_ms).max(0) as f64 / 1000.0;
        self.last_elapsed_ms = elapsed_ms;
        let scale_lon = METRES_PER_DEGREE * self.origin[1].to_radians().cos();
        let scripted_ms = self.scenario.timeline_ms(elapsed_ms);
        let mut fixes = Vec::with_capacity(self.vehicles.len());
        for (index, vehicle) in self.vehicles.iter_mut().enumerate() {
            let track = &self.tracks[vehicle.track];
            let crashed = self.scenario.crashes.iter().any(|c| {
                c.vehicle == index && (c.at_ms..c.at_ms + c.stopped_for_ms).contains(&scripted_ms)
            });
            vehicle.speed_kmh = if crashed {
                0.0
            } else {
                let noise: f64 = self.rng.random_range(-0.05..0.05);
                let jam = self
                    .scenario
                    .jams
                    .iter()
                    .find(|jam| jam.road == track.road && jam.active(scripted_ms));
                let wanted = match jam {
                    Some(jam) => track.free_flow_kmh * jam.speed_fraction * (1.0 + 2.0 * noise),
                    None => track.free_flow_kmh * (vehicle.pace + noise),
                };
                // Accelerate and brake smoothly, whatever the fix rate.
                let max_change = MAX_ACCELERATION_MPS2 * 3.6 * dt_s;
                wanted
                    .clamp(
                        vehicle.speed_kmh - max_change,
                        vehicle.speed_kmh + max_change,
                    )
                    .max(0.0)
            };
            let step = vehicle.speed_kmh / 3.6 * dt_s * if vehicle.forward { 1.0 } else { -1.0 };
            vehicle.distance += step;
            if vehicle.distance >= track.length() || vehicle.distance <= 0.0 {
                // A U-turn: back from the end by what went past it, so a vehicle never stands
                // on a road's end, which may lie on a zone's border (ring-north's ends are
                // north's), and touching it is no crossing.
                vehicle.forward = !vehicle.forward;
                let past = if vehicle.distance <= 0.0 {
                    -vehicle.distance
                } else {
                    vehicle.distance - track.length()
                };
                vehicle.distance = if vehicle.forward {
                    past
                } else {
                    track.length() - past
                }
                .clamp(0.0, track.length());
            }
            let ([x, y], heading) = track.locate(vehicle.distance, vehicle.forward);
            let (lat, lon) = (
                self.origin[1] + y / METRES_PER_DEGREE,
                self.origin[0] + x / scale_lon,
            );
            if let Some((zone_of, crossings)) = &mut self.zone_log {
                let zone = self.zones.iter().position(|z| z.contains(lat, lon));
                if let Some(before) = zone_of[index].replace(zone).filter(|&z| z != zone) {
                    let crossing = |zone: usize, crossing| ZoneCrossing {
                        vehicle: index,
                        zone: self.zones[zone].id.clone(),
                        crossing,
                        at_ms: elapsed_ms,
                    };
                    crossings.extend(before.map(|z| crossing(z, Crossing::Exit)));
                    crossings.extend(zone.map(|z| crossing(z, Crossing::Enter)));
                }
            }
            fixes.push((
                vehicle_id(index),
                Telemetry {
                    ts: self.start_ms + elapsed_ms,
                    lat,
                    lon,
                    speed_kmh: (vehicle.speed_kmh * 10.0).round() / 10.0,
                    heading: (heading * 10.0).round() / 10.0 % 360.0,
                    flags: if crashed {
                        vec![FLAG_CRASH.to_owned()]
                    } else {
                        Vec::new()
                    },
                },
            ));
        }
        fixes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_traffic() {
        let city = City::builtin();
        let run = |seed| {
            let mut fleet = Fleet::new(&city, 5, seed, Scenario::default(), 0);
            (1..20)
                .flat_map(|s| fleet.tick(s * 500))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn vehicles_stay_in_the_city_at_plausible_speeds() {
        let city = City::builtin();
        let mut fleet = Fleet::new(&city, 20, 1, Scenario::default(), 0);
        for s in 1..600 {
            for (_, fix) in fleet.tick(s * 1000) {
                let b = city.bounds;
                assert!((b.min_lat..=b.max_lat).contains(&fix.lat), "{fix:?}");
                assert!((b.min_lon..=b.max_lon).contains(&fix.lon), "{fix:?}");
                assert!((10.0..=80.0).contains(&fix.speed_kmh), "{fix:?}");
                assert!(Telemetry::decode(&fix.encode()).is_ok());
            }
        }
    }

    #[test]
    fn a_scripted_crash_stops_the_vehicle_with_its_flag() {
        let city = City::builtin();
        let crash = Crash {
            vehicle: 1,
            at_ms: 3000,
            stopped_for_ms: 5000,
        };
        let mut fleet = Fleet::new(
            &city,
            3,
            1,
            Scenario {
                crashes: vec![crash],
                jams: vec![],
                repeat_every_ms: None,
            },
            0,
        );
        let fixes: Vec<_> = (1..=10)
            .map(|s| fleet.tick(s * 1000)[1].1.clone())
            .collect();
        let crashed: Vec<bool> = fixes.iter().map(|f| f.has_flag(FLAG_CRASH)).collect();
        assert_eq!(
            crashed,
            [false, false, true, true, true, true, true, false, false, false]
        );
        assert!(fixes[2..7]
            .windows(2)
            .all(|w| w[0].lat == w[1].lat && w[0].lon == w[1].lon));
        assert_eq!(fixes[2].speed_kmh, 0.0);
    }

    #[test]
    fn a_repeated_scenario_crashes_again_every_period() {
        let city = City::builtin();
        let crash = Crash {
            vehicle: 1,
            at_ms: 3000,
            stopped_for_ms: 2000,
        };
        let scenario = Scenario {
            crashes: vec![crash],
            jams: vec![],
            repeat_every_ms: Some(10_000),
        };
        let mut fleet = Fleet::new(&city, 3, 1, scenario, 0);
        let crashed: Vec<i64> = (1..=30)
            .filter(|s| fleet.tick(s * 1000)[1].1.has_flag(FLAG_CRASH))
            .collect();
        assert_eq!(crashed, [3, 4, 13, 14, 23, 24]);
    }

    #[test]
    fn a_scripted_jam_slows_the_road_gently_then_releases_it() {
        let city = City::builtin();
        let jam = Jam {
            road: "quay".into(),
            at_ms: 10_000,
            lasting_ms: 60_000,
            speed_fraction: 0.1,
        };
        let mut fleet = Fleet::new(
            &city,
            15,
            3,
            Scenario {
                crashes: vec![],
                jams: vec![jam],
                repeat_every_ms: None,
            },
            0,
        );
        let on_quay = fleet.vehicles_on("quay");
        assert_eq!(on_quay, [2, 7, 12]);
        let mut previous = fleet.tick(0);
        for s in 1..=120 {
            let fixes = fleet.tick(s * 1000);
            for (i, ((_, fix), (_, before))) in fixes.iter().zip(&previous).enumerate() {
                let change = (fix.speed_kmh - before.speed_kmh) / 3.6;
                assert!(
                    change.abs() <= MAX_ACCELERATION_MPS2 + 0.05,
                    "vehicle {i} at {s} s: {change} m/s²"
                );
                if on_quay.contains(&i) && (30..70).contains(&s) {
                    assert!(
                        fix.speed_kmh <= 50.0 * 0.1 * 1.1 + 0.05,
                        "vehicle {i} at {s} s: {fix:?}"
                    );
                } else if !on_quay.contains(&i) || s >= 90 {
                    assert!(fix.speed_kmh >= 10.0, "vehicle {i} at {s} s: {fix:?}");
                }
            }
            previous = fixes;
        }
    }
}
