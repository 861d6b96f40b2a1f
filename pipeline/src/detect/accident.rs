//! Accident detection per vehicle: a crash flag, or a hard deceleration followed by the vehicle
//! staying stopped. Cleared when the vehicle drives on, or after a timeout.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vigie_model::telemetry::FLAG_CRASH;
use vigie_model::{EventKind, Severity, Status, Telemetry};

use super::Finding;

#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Deceleration (m/s², negative) between two fixes that makes a vehicle suspect.
    pub hard_braking_mps2: f64,
    /// Deceleration beyond which the accident is major rather than moderate.
    pub severe_braking_mps2: f64,
    /// Below this speed a vehicle counts as stopped.
    pub stopped_kmh: f64,
    /// How long a suspect vehicle must stay stopped before the accident is reported.
    pub stopped_for_ms: i64,
    /// Above this speed a vehicle in an accident has driven on.
    pub moving_on_kmh: f64,
    /// An accident with no clearing evidence is cleared after this long.
    pub timeout_ms: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            hard_braking_mps2: -7.0,
            severe_braking_mps2: -10.0,
            stopped_kmh: 3.0,
            stopped_for_ms: 10_000,
            moving_on_kmh: 15.0,
            timeout_ms: 15 * 60_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Fix {
    at_ms: i64,
    speed_kmh: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Phase {
    Driving,
    /// Braked hard at `since_ms` with this deceleration; waiting to see it stay stopped.
    Suspect {
        since_ms: i64,
        deceleration_mps2: f64,
    },
    /// An accident is open; `incident` is known once the event got its id. Its clearing
    /// keeps its `severity`: a cleared major accident is still a major one in the history.
    Open {
        opened_ms: i64,
        incident: Option<String>,
        severity: Severity,
        lat: f64,
        lon: f64,
    },
}

impl Phase {
    /// The accident just opened at `fix`.
    fn opened_at(fix: &Telemetry, severity: Severity) -> Phase {
        Phase::Open {
            opened_ms: fix.ts,
            incident: None,
            severity,
            lat: fix.lat,
            lon: fix.lon,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VehicleState {
    last: Fix,
    phase: Phase,
}

/// What the detector knows of each vehicle: all it carries from one fix to the next.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    vehicles: HashMap<String, VehicleState>,
}

pub struct AccidentDetector {
    thresholds: Thresholds,
    pub(super) state: State,
}

impl AccidentDetector {
    pub fn new(thresholds: Thresholds) -> AccidentDetector {
        AccidentDetector {
            thresholds,
            state: State::default(),
        }
    }

    pub fn observe(&mut self, vehicle: &str, fix: &Telemetry) -> Vec<Finding> {
        let t = &self.thresholds;
        let now = Fix {
            at_ms: fix.ts,
            speed_kmh: fix.speed_kmh,
        };
        let Some(state) = self.state.vehicles.get_mut(vehicle) else {
            let phase = if fix.has_flag(FLAG_CRASH) {
                Phase::opened_at(fix, Severity::Major)
            } else {
                Phase::Driving
            };
            let crashed = matches!(phase, Phase::Open { .. });
            self.state
                .vehicles
                .insert(vehicle.to_owned(), VehicleState { last: now, phase });
            return crashed
                .then(|| opened(vehicle, fix, Severity::Major, "crash sensor"))
                .into_iter()
                .collect();
        };
        if fix.ts <= state.last.at_ms {
            // Out-of-order or repeated fix: the state already reflects newer data.
            return Vec::new();
        }
        let dt_s = (fix.ts - state.last.at_ms) as f64 / 1000.0;
        let acceleration = (fix.speed_kmh - state.last.speed_kmh) / 3.6 / dt_s;
        state.last = now;
        let mut findings = Vec::new();
        state.phase = match std::mem::replace(&mut state.phase, Phase::Driving) {
            Phase::Open {
                incident, severity, ..
            } if fix.speed_kmh > t.moving_on_kmh => {
                let (place, detail) = ((fix.lat, fix.lon), "vehicle moved on");
                findings.push(clearing(vehicle, incident, severity, place, fix.ts, detail));
                Phase::Driving
            }
            open @ Phase::Open { .. } => open,
            _ if fix.has_flag(FLAG_CRASH) => {
                findings.push(opened(vehicle, fix, Severity::Major, "crash sensor"));
                Phase::opened_at(fix, Severity::Major)
            }
            Phase::Suspect {
                since_ms,
                deceleration_mps2,
            } if fix.speed_kmh <= t.stopped_kmh => {
                if fix.ts - since_ms >= t.stopped_for_ms {
                    let severity = if deceleration_mps2 <= t.severe_braking_mps2 {
                        Severity::Major
                    } else {
                        Severity::Moderate
                    };
                    let detail =
                        format!("braked at {deceleration_mps2:.1} m/s² and stayed stopped");
                    findings.push(opened(vehicle, fix, severity, &detail));
                    Phase::opened_at(fix, severity)
                } else {
                    Phase::Suspect {
                        since_ms,
                        deceleration_mps2,
                    }
                }
            }
            _ if acceleration <= t.hard_braking_mps2 => Phase::Suspect {
                since_ms: fix.ts,
                deceleration_mps2: acceleration,
            },
            _ => Phase::Driving,
        };
        findings
    }

    /// Takes over an accident a previous run opened and never cleared: it clears under the same
    /// incident when the vehicle moves on, or at the timeout counted from `opened_ms`. Called
    /// before any telemetry, in the order the incidents opened: a vehicle is in one accident at
    /// a time, so of two left open (by runs stopped one after the other) the later is taken
    /// over and the earlier returned, cleared.
    pub fn adopt(
        &mut self,
        vehicle: &str,
        incident: &str,
        opened_ms: i64,
        severity: Severity,
        (lat, lon): (f64, f64),
    ) -> Option<Finding> {
        let adopted = VehicleState {
            last: Fix {
                at_ms: opened_ms,
                speed_kmh: 0.0,
            },
            phase: Phase::Open {
                opened_ms,
                incident: Some(incident.to_owned()),
                severity,
                lat,
                lon,
            },
        };
        match self
            .state
            .vehicles
            .insert(vehicle.to_owned(), adopted)?
            .phase
        {
            Phase::Open {
                incident: Some(earlier),
                severity,
                lat,
                lon,
                ..
            } => {
                let (earlier, detail) = (Some(earlier), "superseded by a later accident");
                Some(clearing(
                    vehicle,
                    earlier,
                    severity,
                    (lat, lon),
                    opened_ms,
                    detail,
                ))
            }
            _ => None,
        }
    }

    /// Records the incident id given to the accident a vehicle just opened.
    pub fn assign_incident(&mut self, vehicle: &str, id: &str) {
        if let Some(VehicleState {
            phase: Phase::Open { incident, .. },
            ..
        }) = self.state.vehicles.get_mut(vehicle)
        {
            *incident = Some(id.to_owned());
        }
    }

    /// Clears accidents open longer than the timeout at `now_ms`.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Finding> {
        let timeout = self.thresholds.timeout_ms;
        let mut findings = Vec::new();
        for (vehicle, state) in &mut self.state.vehicles {
            if let Phase::Open {
                opened_ms,
                incident,
                severity,
                lat,
                lon,
            } = &state.phase
            {
                if now_ms - opened_ms >= timeout {
                    let (incident, place) = (incident.clone(), (*lat, *lon));
                    let detail = "timed out";
                    findings.push(clearing(
                        vehicle, incident, *severity, place, now_ms, detail,
                    ));
                    state.phase = Phase::Driving;
                }
            }
        }
        findings.sort_by(|a, b| a.vehicles.cmp(&b.vehicles));
        findings
    }
}

fn opened(vehicle: &str, fix: &Telemetry, severity: Severity, detail: &str) -> Finding {
    Finding {
        status: Status::Open,
        ..clearing(vehicle, None, severity, (fix.lat, fix.lon), fix.ts, detail)
    }
}

/// The clearing of the vehicle's accident `incident` (of `severity`) at `at_ms`, at
/// `(lat, lon)`.
fn clearing(
    vehicle: &str,
    incident: Option<String>,
    severity: Severity,
    (lat, lon): (f64, f64),
    at_ms: i64,
    detail: &str,
) -> Finding {
    Finding {
        kind: EventKind::Accident,
        status: Status::Cleared,
        severity,
        incident,
        vehicles: vec![vehicle.to_owned()],
        zone: None,
        road: None,
        lat,
        lon,
        at_ms,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(ts: i64, speed_kmh: f64, flags: &[&str]) -> Telemetry {
        Telemetry {
            ts,
            lat: 45.76,
            lon: 4.835,
            speed_kmh,
            heading: 0.0,
            flags: flags.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn run(trace: &[Telemetry]) -> Vec<(Status, Severity)> {
        let mut detector = AccidentDetector::new(Thresholds::default());
        let mut seen = Vec::new();
        for fix in trace {
            for finding in detector.observe("v1", fix) {
                if finding.status == Status::Open {
                    detector.assign_incident("v1", "I1");
                } else {
                    assert_eq!(finding.incident.as_deref(), Some("I1"));
                }
                seen.push((finding.status, finding.severity));
            }
        }
        seen
    }

    #[test]
    fn crash_flag_opens_once_then_clears_when_moving_on() {
        let mut trace = vec![fix(0, 50.0, &[]), fix(1000, 0.0, &["crash"])];
        trace.extend((2..10).map(|s| fix(s * 1000, 0.0, &["crash"])));
        trace.push(fix(20_000, 30.0, &[]));
        assert_eq!(
            run(&trace),
            [
                (Status::Open, Severity::Major),
                (Status::Cleared, Severity::Major)
            ]
        );
    }

    #[test]
    fn hard_braking_then_staying_stopped_is_an_accident() {
        // 60 km/h to 0 in 2 s: -8.3 m/s².
        let mut trace = vec![fix(0, 60.0, &[]), fix(2000, 0.0, &[])];
        trace.extend((3..=13).map(|s| fix(s * 1000, 0.0, &[])));
        assert_eq!(run(&trace), [(Status::Open, Severity::Moderate)]);
    }

    #[test]
    fn stopping_at_a_light_is_not_an_accident() {
        // 50 km/h to 0 over 5 s (-2.8 m/s²), waits 40 s, drives off.
        let mut trace: Vec<_> = (0..=5)
            .map(|s| fix(s * 1000, 50.0 - 10.0 * s as f64, &[]))
            .collect();
        trace.extend((6..45).map(|s| fix(s * 1000, 0.0, &[])));
        trace.push(fix(46_000, 20.0, &[]));
        assert_eq!(run(&trace), []);
    }

    #[test]
    fn hard_braking_then_driving_on_is_not_an_accident() {
        let trace = [
            fix(0, 70.0, &[]),
            fix(1000, 20.0, &[]),
            fix(2000, 0.0, &[]),
            fix(5000, 30.0, &[]),
        ];
        assert_eq!(run(&trace), []);
    }

    #[test]
    fn out_of_order_fixes_are_ignored() {
        let trace = [
            fix(5000, 50.0, &[]),
            fix(4000, 0.0, &["crash"]),
            fix(6000, 50.0, &[]),
        ];
        assert_eq!(run(&trace), []);
    }

    #[test]
    fn open_accidents_time_out() {
        let mut detector = AccidentDetector::new(Thresholds::default());
        detector.observe("v1", &fix(0, 0.0, &["crash"]));
        detector.assign_incident("v1", "I1");
        assert!(detector.expire(60_000).is_empty());
        let cleared = detector.expire(15 * 60_000);
        assert_eq!(cleared.len(), 1);
        assert_eq!(
            (cleared[0].status, cleared[0].incident.as_deref()),
            (Status::Cleared, Some("I1"))
        );
        assert!(detector.expire(30 * 60_000).is_empty());
    }
}
