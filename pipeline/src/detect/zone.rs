//! Zone entries and exits per vehicle, with hysteresis: a vehicle changes zone only after several
//! consecutive fixes agree, so GPS jitter along a border never flaps.
//!
//! Zones are found through a uniform grid over their bounding boxes: a fix tests only the few
//! zones whose box covers its cell, not every zone of the city.

use std::collections::HashMap;

use vigie_model::{City, EventKind, Severity, Status, Telemetry};

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

/// Cells per side of the grid over the zones' bounding box.
const GRID_SIDE: usize = 64;

/// The zones (by index in the city) whose bounding box meets each cell of a grid.
#[derive(Debug)]
struct ZoneGrid {
    min: [f64; 2],
    cell: [f64; 2],
    cells: Vec<Vec<usize>>,
}

impl ZoneGrid {
    fn new(city: &City) -> ZoneGrid {
        let boxes: Vec<[f64; 4]> = city
            .zones
            .iter()
            .map(|zone| {
                zone.polygon.iter().fold(
                    [
                        f64::INFINITY,
                        f64::INFINITY,
                        f64::NEG_INFINITY,
                        f64::NEG_INFINITY,
                    ],
                    |[x0, y0, x1, y1], &[x, y]| [x0.min(x), y0.min(y), x1.max(x), y1.max(y)],
                )
            })
            .collect();
        let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for &[x0, y0, x1, y1] in &boxes {
            min = [min[0].min(x0), min[1].min(y0)];
            max = [max[0].max(x1), max[1].max(y1)];
        }
        // A degenerate extent (no zones, or a flat one) still gets cells of a usable size.
        let cell =
            [0, 1].map(|axis| ((max[axis] - min[axis]) / GRID_SIDE as f64).max(f64::EPSILON));
        let mut cells = vec![Vec::new(); GRID_SIDE * GRID_SIDE];
        for (zone, &[x0, y0, x1, y1]) in boxes.iter().enumerate() {
            if !(x0 <= x1 && y0 <= y1) {
                continue; // an empty polygon contains nothing
            }
            let (cx0, cy0) = (
                Self::axis(x0, min[0], cell[0]),
                Self::axis(y0, min[1], cell[1]),
            );
            let (cx1, cy1) = (
                Self::axis(x1, min[0], cell[0]),
                Self::axis(y1, min[1], cell[1]),
            );
            for cy in cy0.unwrap_or(0)..=cy1.unwrap_or(GRID_SIDE - 1) {
                for cx in cx0.unwrap_or(0)..=cx1.unwrap_or(GRID_SIDE - 1) {
                    cells[cy * GRID_SIDE + cx].push(zone);
                }
            }
        }
        ZoneGrid { min, cell, cells }
    }

    /// The cell along one axis; `None` beyond the zones' extent (or for NaN), where no zone is.
    fn axis(value: f64, min: f64, cell: f64) -> Option<usize> {
        let index = ((value - min) / cell).floor();
        // The far edge belongs to the last cell.
        (0.0..=GRID_SIDE as f64)
            .contains(&index)
            .then(|| (index as usize).min(GRID_SIDE - 1))
    }

    /// The zone containing a point, as `City::zone_at` finds it, but testing only nearby zones.
    fn zone_at(&self, city: &City, lat: f64, lon: f64) -> Option<usize> {
        let cx = Self::axis(lon, self.min[0], self.cell[0])?;
        let cy = Self::axis(lat, self.min[1], self.cell[1])?;
        self.cells[cy * GRID_SIDE + cx]
            .iter()
            .copied()
            .find(|&zone| city.zones[zone].contains(lat, lon))
    }
}

#[derive(Debug, Default)]
struct VehicleZone {
    /// The zone (index in the city) the vehicle is known to be in.
    current: Option<usize>,
    /// A different zone seen lately, and for how many consecutive fixes.
    candidate: Option<(Option<usize>, u32)>,
}

pub struct ZoneDetector {
    thresholds: Thresholds,
    grid: ZoneGrid,
    vehicles: HashMap<String, VehicleZone>,
}

impl ZoneDetector {
    pub fn new(city: &City, thresholds: Thresholds) -> ZoneDetector {
        ZoneDetector {
            thresholds,
            grid: ZoneGrid::new(city),
            vehicles: HashMap::new(),
        }
    }

    /// `city` must be the one the detector was made for.
    pub fn observe(&mut self, city: &City, vehicle: &str, fix: &Telemetry) -> Vec<Finding> {
        let seen = self.grid.zone_at(city, fix.lat, fix.lon);
        let Some(state) = self.vehicles.get_mut(vehicle) else {
            // A vehicle's first fix tells where it is, not that it crossed anything.
            self.vehicles.insert(
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
        let grid = ZoneGrid::new(&city);
        let b = &city.bounds;
        let steps = 200;
        for i in -10..=steps + 10 {
            for j in -10..=steps + 10 {
                let lat = b.min_lat + (b.max_lat - b.min_lat) * f64::from(i) / f64::from(steps);
                let lon = b.min_lon + (b.max_lon - b.min_lon) * f64::from(j) / f64::from(steps);
                let by_grid = grid.zone_at(&city, lat, lon).map(|z| &city.zones[z].id);
                let by_scan = city.zone_at(lat, lon).map(|z| &z.id);
                assert_eq!(by_grid, by_scan, "at {lat}, {lon}");
            }
        }
        assert_eq!(grid.zone_at(&city, f64::NAN, 4.83), None);
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
