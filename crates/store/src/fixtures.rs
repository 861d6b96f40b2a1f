//! Sample events and a reference filter written in plain Rust, for tests of the store and of its
//! users (feature `fixtures`).

use time::{Duration, OffsetDateTime};
use vigie_model::{Event, EventKind, Severity, Status};

use crate::{Incident, IncidentFilter};

/// A fresh event id.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// The `open` event of a new incident, minor, at a fixed place in the built-in city's centre.
pub fn open(kind: EventKind, at: OffsetDateTime) -> Event {
    let id = new_id();
    Event {
        incident: id.clone(),
        id,
        kind,
        status: Status::Open,
        severity: Severity::Minor,
        zone: Some("centre".into()),
        road: None,
        vehicles: vec!["v1".into()],
        lat: 45.76,
        lon: 4.835,
        occurred_at: at,
        detail: format!("{kind} opened"),
    }
}

/// A later event of the same incident.
pub fn follow(previous: &Event, status: Status, at: OffsetDateTime) -> Event {
    Event {
        id: new_id(),
        status,
        occurred_at: at,
        detail: format!("{} {status}", previous.kind),
        ..previous.clone()
    }
}

/// `count` varied incidents (kinds, severities, zones, vehicles, places, texts), deterministic
/// for a `seed`, opened a few seconds apart from `start`; about a third get an `update` and a
/// third are `cleared`. Vehicles stay the same over an incident's life.
pub fn varied_events(seed: u64, count: usize, start: OffsetDateTime) -> Vec<Event> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    const ZONES: [Option<&str>; 4] = [Some("centre"), Some("east"), Some("north"), None];
    const DETAILS: [&str; 5] = [
        "crash flag",
        "airbag deployed",
        "hard braking",
        "slow traffic",
        "queue 50% stopped",
    ];
    let mut events = Vec::new();
    for n in 0..count {
        // Some incidents share an opening time, to exercise the id tie-break.
        let opened = start + Duration::milliseconds(1_500 * (n as i64 / 2 * 2) + next(3) as i64);
        let first = Event {
            id: new_id(),
            incident: String::new(),
            kind: EventKind::ALL[next(4) as usize],
            status: Status::Open,
            severity: Severity::ALL[next(3) as usize],
            zone: ZONES[next(4) as usize].map(str::to_owned),
            road: (next(2) == 0).then(|| format!("r{}", next(5))),
            vehicles: (0..next(3)).map(|_| format!("v{}", next(8))).collect(),
            lat: 45.70 + next(1000) as f64 / 10_000.0,
            lon: 4.80 + next(1000) as f64 / 10_000.0,
            occurred_at: opened,
            detail: format!("{} #{n}", DETAILS[next(5) as usize]),
        };
        let first = Event {
            incident: first.id.clone(),
            ..first
        };
        let fate = next(3);
        let mut later = Vec::new();
        if fate >= 1 {
            let update = Event {
                severity: Severity::ALL[next(3) as usize],
                ..follow(&first, Status::Update, opened + Duration::seconds(30))
            };
            later.push(update);
        }
        if fate == 2 {
            later.push(follow(
                &first,
                Status::Cleared,
                opened + Duration::seconds(60),
            ));
        }
        events.push(first);
        events.extend(later);
    }
    events
}

fn listed<T: PartialEq>(values: &[T], value: T) -> bool {
    values.is_empty() || values.contains(&value)
}

/// What [`crate::list_incidents`] must return for `filter`, decided in plain Rust. Exact for
/// incidents whose vehicles never changed (as in [`varied_events`]).
pub fn matches(filter: &IncidentFilter, incident: &Incident) -> bool {
    listed(&filter.kinds, incident.kind)
        && listed(&filter.statuses, incident.status)
        && listed(&filter.severities, incident.severity)
        && (filter.zones.is_empty()
            || incident
                .zone
                .as_ref()
                .is_some_and(|z| filter.zones.contains(z)))
        && filter
            .vehicle
            .as_ref()
            .is_none_or(|v| incident.vehicles.contains(v))
        && filter.from.is_none_or(|from| incident.opened_at >= from)
        && filter.to.is_none_or(|to| incident.opened_at < to)
        && filter.bbox.is_none_or(|b| {
            (b.min_lat..=b.max_lat).contains(&incident.lat)
                && (b.min_lon..=b.max_lon).contains(&incident.lon)
        })
        && filter
            .text
            .as_ref()
            .is_none_or(|t| incident.detail.to_lowercase().contains(&t.to_lowercase()))
}
