//! Zone entries and exits per vehicle, with hysteresis: a vehicle changes zone only after several
//! consecutive fixes agree, so GPS jitter along a border never flaps.
//!
//! Zones are found through a uniform grid over their bounding boxes (`grid.rs`): a fix tests
//! only the few zones whose box meets its cell, not every zone of the city.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vigie_model::{City, EventKind, Severity, Status, Telemetry};

use super::grid::{Grid, Rect};
use super::Finding;

#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Consecutive fixes that must agree on a new zone before the change is reported.
    pub confirm_fixes: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { confirm_fixes: 3 }
    }
}

/// Cells per side of the grid over the zones' bounding boxes.
const GRID_SIDE: usize = 64;

/// The zones, by index in the city, through a grid over their bounding boxes (lon, lat).
#[derive(Debug)]
struct ZoneIndex {
    grid: Grid,
}

impl ZoneIndex {
    fn new(city: &City) -> ZoneIndex {
        let boxes: Vec<Rect> = city
            .zones
            .iter()
            .map(|zone| Rect::around(zone.polygon.iter().copied()))
            .collect();
        ZoneIndex {
            grid: Grid::new(&boxes, GRID_SIDE),
        }
    }

    /// The zone containing a point, as `City::zone_at` finds it, but testing only nearby zones.
    fn zone_at(&self, city: &City, lat: f64, lon: f64) -> Option<usize> {
        self.grid
            .candidates([lon, lat])
            .iter()
            .copied()
            .find(|&zone| city.zones[zone].contains(lat, lon))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct VehicleZone {
    /// The zone (index in the city) the vehicle is known to be in.
    current: Option<usize>,
    /// A different zone seen lately, and for how many consecutive fixes.
    candidate: Option<(Option<usize>, u32)>,
}

/// Where each vehicle is, and the zone change it may be confirming.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    vehicles: HashMap<String, VehicleZone>,
}

impl State {
    /// Whether every zone it names is one of `city`'s (they are named by index).
    pub(super) fn fits(&self, city: &City) -> bool {
        let known = |zone: &Option<usize>| zone.is_none_or(|zone| zone < city.zones.len());
        self.vehicles.values().all(|vehicle| {
            known(&vehicle.current)
                && vehicle
                    .candidate
                    .as_ref()
                    .is_none_or(|(zone, _)| known(zone))
        })
    }
}

pub struct ZoneDetector {
    thresholds: Thresholds,
    zones: ZoneIndex,
    pub(super) state: State,
}

impl ZoneDetector {
    pub fn new(city: &City, thresholds: Thresholds) -> ZoneDetector {
        ZoneDetector {
            thresholds,
            zones: ZoneIndex::new(city),
            state: State::default(),
        }
    }

    /// `city` must be the one the detector was made for.
    pub fn observe(&mut self, city: &City, vehicle: &str, fix: &Telemetry) -> Vec<Finding> {
        let seen = self.zones.zone_at(city, fix.lat, fix.lon);
        let Some(state) = self.state.vehicles.get_mut(vehicle) else {
            // A vehicle's first fix tells where it is, not that it crossed anything.
            self.state.vehicles.insert(
                vehicle.to_owned(),
                VehicleZone {
                    current: seen,
                    candidate: None,
                },
            );
            return Vec::new();
        };
        if seen == state.current {
            state.candidate = None;
            return Vec::new();
        }
        let count = match &state.candidate {
            Some((zone, count)) if *zone == seen => count + 1,
            _ => 1,
        };
        if count < self.thresholds.confirm_fixes {
            state.candidate = Some((seen, count));
            return Vec::new();
        }
        state.candidate = None;
        let left = std::mem::replace(&mut state.current, seen);
        let finding = |kind, zone: usize| Finding {
            kind,
            status: Status::Open,
            severity: Severity::Minor,
            incident: None,
            vehicles: vec![vehicle.to_owned()],
            zone: Some(city.zones[zone].id.clone()),
            road: None,
            lat: fix.lat,
            lon: fix.lon,
            at_ms: fix.ts,
            detail: String::new(),
        };
        let mut findings = Vec::new();
        if let Some(zone) = left {
            findings.push(finding(EventKind::ZoneExit, zone));
        }
        if let Some(zone) = seen {
            findings.push(finding(EventKind::ZoneEnter, zone));
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_naming_a_zone_the_city_lacks_does_not_fit() {
        let city = City::builtin();
        let vehicle = |current, candidate| VehicleZone { current, candidate };
        let state = |vehicle| State {
            vehicles: HashMap::from([("v1".to_owned(), vehicle)]),
        };
        let last = city.zones.len() - 1;
        assert!(state(vehicle(Some(last), Some((None, 1)))).fits(&city));
        assert!(!state(vehicle(Some(last + 1), None)).fits(&city));
        assert!(!state(vehicle(None, Some((Some(last + 1), 2)))).fits(&city));
    }

    fn at(ts: i64, lon: f64) -> Telemetry {
        Telemetry {
            ts,
            lat: 45.760,
            lon,
            speed_kmh: 30.0,
            heading: 90.0,
            flags: vec![],
        }
    }

    fn crossings(lons: &[f64]) -> Vec<(EventKind, String)> {
        let city = City::builtin();
        let mut detector = ZoneDetector::new(&city, Thresholds::default());
        lons.iter()
            .enumerate()
            .flat_map(|(i, &lon)| detector.observe(&city, "v1", &at(i as i64 * 1000, lon)))
            .map(|f| (f.kind, f.zone.unwrap()))
            .collect()
    }

    #[test]
    fn crossing_from_centre_to_east_exits_then_enters() {
        // The centre/east border is at lon 4.845.
        let found = crossings(&[4.840, 4.842, 4.844, 4.846, 4.848, 4.850, 4.852]);
        assert_eq!(
            found,
            [
                (EventKind::ZoneExit, "centre".to_owned()),
                (EventKind::ZoneEnter, "east".to_owned())
            ]
        );
    }

    #[test]
    fn jitter_along_a_border_does_not_flap() {
        let found = crossings(&[
            4.8449, 4.8451, 4.8449, 4.8451, 4.8451, 4.8449, 4.8449, 4.8451,
        ]);
        assert_eq!(found, []);
    }

    #[test]
    fn the_grid_finds_the_zone_the_city_finds() {
        let city = City::builtin();
        let index = ZoneIndex::new(&city);
        let b = &city.bounds;
        let steps = 200;
        for i in -10..=steps + 10 {
            for j in -10..=steps + 10 {
                let lat = b.min_lat + (b.max_lat - b.min_lat) * f64::from(i) / f64::from(steps);
                let lon = b.min_lon + (b.max_lon - b.min_lon) * f64::from(j) / f64::from(steps);
                let by_grid = index.zone_at(&city, lat, lon).map(|z| &city.zones[z].id);
                let by_scan = city.zone_at(lat, lon).map(|z| &z.id);
                assert_eq!(by_grid, by_scan, "at {lat}, {lon}");
            }
        }
        assert_eq!(index.zone_at(&city, f64::NAN, 4.83), None);
    }

    #[test]
    fn leaving_the_city_is_an_exit_only() {
        let city = City::builtin();
        let mut detector = ZoneDetector::new(&city, Thresholds::default());
        let mut found = Vec::new();
        for (i, lat) in [45.760, 45.760, 45.700, 45.700, 45.700]
            .into_iter()
            .enumerate()
        {
            let fix = Telemetry {
                lat,
                ..at(i as i64 * 1000, 4.835)
            };
            found.extend(detector.observe(&city, "v1", &fix));
        }
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].kind, found[0].zone.as_deref()),
            (EventKind::ZoneExit, Some("centre"))
        );
    }
}
