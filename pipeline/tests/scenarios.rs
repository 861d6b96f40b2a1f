//! Scenario tests, pure (no servers): a seeded fleet with scripted incidents runs through the
//! detectors offline, fixes in time order, and what they report must equal what was injected:
//! its ground truth (`GroundTruth::differences`, the check crates/e2e/tests/scenario.rs makes
//! on what the real pipeline stored) and the bounds below.

use std::collections::{BTreeMap, HashMap};

use vigie_model::{City, Event, EventKind, Severity, Status};
use vigie_pipeline::detect::{jam, Detector, Thresholds};
use vigie_pipeline::fleet::{vehicle_id, Crash, Fleet, GroundTruth, Jam, Leeway, Scenario};

const START_MS: i64 = 1_700_000_000_000;

/// Drives the fleet for `seconds` at `rate` fixes per vehicle per second through a detector,
/// expiring after every tick as the gateway does. Checks the events against the run's ground
/// truth, exactly: fixes come at regular intervals here, so no slack.
fn detect(vehicles: usize, seed: u64, scenario: &Scenario, seconds: i64, rate: i64) -> Vec<Event> {
    let (events, truth) = detect_with_truth(vehicles, seed, scenario, seconds, rate);
    let leeway = Leeway {
        fix_period_ms: 1000 / rate,
        slack_ms: 0,
    };
    let differences = truth.differences(&events, &Thresholds::default(), leeway);
    assert!(
        differences.is_empty(),
        "{vehicles} vehicles, seed {seed}, {rate} fixes/s:\n{}",
        differences.join("\n")
    );
    events
}

fn detect_with_truth(
    vehicles: usize,
    seed: u64,
    scenario: &Scenario,
    seconds: i64,
    rate: i64,
) -> (Vec<Event>, GroundTruth) {
    let city = City::builtin();
    let mut fleet = Fleet::new(&city, vehicles, seed, scenario.clone(), START_MS);
    fleet.record_zone_crossings();
    let mut detector = Detector::new(city, Thresholds::default());
    let mut events = Vec::new();
    for tick in 0..=seconds * rate {
        let elapsed_ms = tick * 1000 / rate;
        for (vehicle, fix) in fleet.tick(elapsed_ms) {
            events.extend(detector.observe(&vehicle, &fix));
        }
        events.extend(detector.expire(START_MS + elapsed_ms));
    }
    (events, fleet.ground_truth())
}

/// Seconds since the start of the run.
fn second(event: &Event) -> f64 {
    ((event.occurred_at.unix_timestamp_nanos() / 1_000_000) as i64 - START_MS) as f64 / 1000.0
}

/// Accident and jam events by incident, in order of opening.
fn incidents(events: &[Event], kind: EventKind) -> Vec<Vec<&Event>> {
    let mut by_incident: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in events.iter().filter(|e| e.kind == kind) {
        by_incident
            .entry(event.incident.as_str())
            .or_default()
            .push(event);
    }
    let mut incidents: Vec<Vec<&Event>> = by_incident.into_values().collect();
    incidents.sort_by(|a, b| second(a[0]).total_cmp(&second(b[0])));
    incidents
}

/// Every event well formed, every zone crossing consistent with where the vehicle is.
fn check_consistency(city: &City, events: &[Event]) {
    let mut ids = std::collections::HashSet::new();
    for event in events {
        assert!(ids.insert(event.id.as_str()), "duplicate id {event:?}");
        if event.status == Status::Open {
            assert_eq!(
                event.incident, event.id,
                "an open event starts its incident"
            );
        }
    }
    let mut inside: HashMap<&str, &str> = HashMap::new();
    for event in events {
        let zone = event.zone.as_deref();
        let here = city.zone_at(event.lat, event.lon).map(|z| z.id.as_str());
        match event.kind {
            EventKind::ZoneEnter => {
                assert_eq!(
                    here, zone,
                    "entered a zone the vehicle is not in: {event:?}"
                );
                inside.insert(&event.vehicles[0], zone.unwrap());
            }
            EventKind::ZoneExit => {
                assert_ne!(here, zone, "left a zone the vehicle is still in: {event:?}");
                if let Some(previous) = inside.remove(event.vehicles[0].as_str()) {
                    assert_eq!(
                        Some(previous),
                        zone,
                        "left a zone it had not entered: {event:?}"
                    );
                }
            }
            EventKind::Accident | EventKind::Jam => {}
        }
    }
}

#[test]
fn every_injected_incident_is_found_and_nothing_else() {
    let city = City::builtin();
    let scenario = Scenario {
        crashes: vec![Crash {
            vehicle: 1,
            at_ms: 30_000,
            stopped_for_ms: 60_000,
        }],
        jams: vec![
            // 15 % of free flow: queuing, a moderate jam.
            Jam {
                road: "rue-centrale".into(),
                at_ms: 60_000,
                lasting_ms: 120_000,
                speed_fraction: 0.15,
            },
            // 5 %: stationary, a major one.
            Jam {
                road: "quay".into(),
                at_ms: 200_000,
                lasting_ms: 90_000,
                speed_fraction: 0.05,
            },
        ],
        repeat_every_ms: None,
    };
    let t = jam::Thresholds::default();
    for (seed, rate) in [(42, 1), (7, 2), (2026, 4)] {
        let events = detect(15, seed, &scenario, 400, rate);
        let fleet = Fleet::new(&city, 15, seed, scenario.clone(), START_MS);
        check_consistency(&city, &events);
        assert!(
            events.iter().any(|e| e.kind == EventKind::ZoneEnter),
            "the fleet crosses zones"
        );

        let accidents = incidents(&events, EventKind::Accident);
        assert_eq!(accidents.len(), 1, "seed {seed}: {accidents:#?}");
        let accident = &accidents[0];
        let statuses: Vec<Status> = accident.iter().map(|e| e.status).collect();
        assert_eq!(statuses, [Status::Open, Status::Cleared], "seed {seed}");
        assert_eq!(accident[0].vehicles, [vehicle_id(1)]);
        assert_eq!(accident[0].severity, Severity::Major);
        assert!(
            (30.0..=31.0).contains(&second(accident[0])),
            "seed {seed}: {accident:#?}"
        );
        assert!(
            (90.0..=93.0).contains(&second(accident[1])),
            "seed {seed}: {accident:#?}"
        );

        let jams = incidents(&events, EventKind::Jam);
        assert_eq!(jams.len(), scenario.jams.len(), "seed {seed}: {jams:#?}");
        for (found, injected) in jams.iter().zip(&scenario.jams) {
            let (at, end) = (
                injected.at_ms as f64 / 1000.0,
                (injected.at_ms + injected.lasting_ms) as f64 / 1000.0,
            );
            let statuses: Vec<Status> = found.iter().map(|e| e.status).collect();
            assert_eq!(
                statuses,
                [Status::Open, Status::Cleared],
                "seed {seed}: {found:#?}"
            );
            let (open, cleared) = (found[0], found[1]);
            assert_eq!(open.road.as_deref(), Some(injected.road.as_str()));
            assert_eq!(cleared.road.as_deref(), Some(injected.road.as_str()));
            let expected = if injected.speed_fraction < 0.10 {
                Severity::Major
            } else {
                Severity::Moderate
            };
            assert_eq!(open.severity, expected, "seed {seed}: {open:#?}");
            let on_road: Vec<String> = fleet
                .vehicles_on(&injected.road)
                .into_iter()
                .map(vehicle_id)
                .collect();
            assert_eq!(open.vehicles, on_road, "seed {seed}: {open:#?}");
            let begin = (t.begin_ms + t.window_ms) as f64 / 1000.0;
            assert!(
                (at + t.begin_ms as f64 / 1000.0..=at + begin + 10.0).contains(&second(open)),
                "{open:#?}"
            );
            let ending = (t.end_ms + t.window_ms) as f64 / 1000.0;
            assert!(
                (end + t.end_ms as f64 / 1000.0..=end + ending).contains(&second(cleared)),
                "{cleared:#?}"
            );
            let road = city.road(&injected.road).unwrap();
            let on_the_road = road
                .points
                .iter()
                .any(|p| (p[0] - open.lon).abs() < 1e-3 || (p[1] - open.lat).abs() < 1e-3);
            assert!(on_the_road, "the jam is placed on its road: {open:#?}");
        }
    }
}

#[test]
fn no_incident_injected_means_no_accident_and_no_jam() {
    let city = City::builtin();
    for (vehicles, seed, seconds, rate) in [(300, 9, 300, 1), (100, 10, 180, 4)] {
        let events = detect(vehicles, seed, &Scenario::default(), seconds, rate);
        check_consistency(&city, &events);
        let incidents: Vec<&Event> = events.iter().filter(|e| e.kind.has_lifecycle()).collect();
        assert!(
            incidents.is_empty(),
            "{vehicles} vehicles, seed {seed}: {incidents:#?}"
        );
        assert!(events.iter().any(|e| e.kind == EventKind::ZoneExit));
    }
}

#[test]
fn the_same_seed_reports_the_same_events() {
    let scenario = Scenario {
        crashes: vec![Crash {
            vehicle: 3,
            at_ms: 10_000,
            stopped_for_ms: 30_000,
        }],
        jams: vec![Jam {
            road: "ring-north".into(),
            at_ms: 20_000,
            lasting_ms: 60_000,
            speed_fraction: 0.1,
        }],
        repeat_every_ms: None,
    };
    // 10 % is the stationary line itself: the jam's class wavers (no ground truth to meet).
    let (first, truth) = detect_with_truth(15, 5, &scenario, 150, 1);
    assert!(first.iter().any(|e| e.kind == EventKind::Jam));
    assert!(!truth.zone_crossings.is_empty());
    assert_eq!((first, truth), detect_with_truth(15, 5, &scenario, 150, 1));
}
