//! Zone entries and exits per vehicle, with hysteresis: a vehicle changes zone only after several
//! consecutive fixes agree, so GPS jitter along a border never flaps.

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

#[derive(Debug, Default)]
struct VehicleZone {
    /// The zone the vehicle is known to be in.
    current: Option<String>,
    /// A different zone seen lately, and for how many consecutive fixes.
    candidate: Option<(Option<String>, u32)>,
}

pub struct ZoneDetector {
    thresholds: Thresholds,
    vehicles: HashMap<String, VehicleZone>,
}

impl ZoneDetector {
    pub fn new(thresholds: Thresholds) -> ZoneDetector {
        ZoneDetector {
            thresholds,
            vehicles: HashMap::new(),
        }
    }

    pub fn observe(&mut self, city: &City, vehicle: &str, fix: &Telemetry) -> Vec<Finding> {
        let seen = city.zone_at(fix.lat, fix.lon).map(|zone| zone.id.clone());
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
        let left = std::mem::replace(&mut state.current, seen.clone());
        let finding = |kind, zone: String| Finding {
            kind,
            status: Status::Open,
            severity: Severity::Minor,
            incident: None,
            vehicles: vec![vehicle.to_owned()],
            zone: Some(zone),
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
        let mut detector = ZoneDetector::new(Thresholds::default());
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
    fn leaving_the_city_is_an_exit_only() {
        let city = City::builtin();
        let mut detector = ZoneDetector::new(Thresholds::default());
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
