//! The open incidents: accidents and jams not cleared yet, kept apart from the feed's bounded
//! buffer, so an incident stays shown until an event clears it, however many events came
//! since. Loaded from the REST API (at start, and after each reconnection) and kept current by
//! the rooms' events, folded by incident id. Plain Rust, tested natively.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use time::OffsetDateTime;
use vigie_model::{Event, Incident, Status};
use web_time::Instant;

use crate::api::OPEN_LIMIT;
use crate::sorting::sorted_by;

/// An incident still open, as the page knows it (owned, so views can keep it in a memo).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub latest: Event,
    /// When it opened: the API's `opened_at`, else read from its id, else its earliest event
    /// seen (a room's history may no longer hold the opening of a long jam).
    pub since: OffsetDateTime,
}

/// Most incidents kept open at once: as many as one answer of the API brings. Past it, the one
/// updated longest ago goes.
const MAX_OPEN: usize = OPEN_LIMIT as usize;

/// Incidents remembered as cleared, so that an answer of the API written before their clearing
/// (the collector stores events a moment after the rooms carry them) does not reopen them.
const REMEMBERED_CLEARED: usize = 1000;

/// An incident an answer of the API leaves out is closed only if no event touched it for this
/// long before the request: the collector may not have stored a fresh opening yet.
const STORE_LAG: Duration = Duration::from_secs(30);

/// What the panel and the map show: call [`OpenIncidents::apply`] with every event of the
/// rooms (live or from a room's history, in any order), [`OpenIncidents::load`] with each
/// answer of `GET /api/v1/incidents?status=open`, and read [`OpenIncidents::newest_first`].
#[derive(Debug, Default)]
pub struct OpenIncidents {
    open: HashMap<String, Entry>,
    cleared: Cleared,
}

#[derive(Debug)]
struct Entry {
    incident: OpenIncident,
    /// When an event or an answer of the API last brought it.
    touched: Instant,
}

impl OpenIncidents {
    /// Folds an event of the rooms in, at `now`; returns whether the open incidents changed.
    /// Clearing is final; otherwise the latest event by time wins, whatever the arrival order.
    pub fn apply(&mut self, event: &Event, now: Instant) -> bool {
        if !event.kind.has_lifecycle() || self.cleared.contains(&event.incident) {
            return false;
        }
        if event.status == Status::Cleared {
            self.cleared.remember(&event.incident);
            return self.open.remove(&event.incident).is_some();
        }
        match self.open.get_mut(&event.incident) {
            Some(entry) => {
                entry.touched = now;
                let shown = &mut entry.incident;
                let since = shown.since.min(event.occurred_at);
                let newer = event.occurred_at >= shown.latest.occurred_at && shown.latest != *event;
                if newer {
                    shown.latest = event.clone();
                }
                let changed = newer || since != shown.since;
                shown.since = since;
                changed
            }
            None => {
                let opened = vigie_model::event::id_time(&event.incident);
                self.insert(
                    OpenIncident {
                        latest: event.clone(),
                        since: opened.unwrap_or(event.occurred_at),
                    },
                    now,
                );
                true
            }
        }
    }

    /// Folds in the open incidents the API answered to a request sent at `requested`, newest
    /// first; `complete` when the answer holds them all (no further page). Incidents the rooms
    /// cleared meanwhile stay closed; a complete answer also closes those it leaves out that no
    /// event touched lately: their clearing was missed (e.g. while the page was offline).
    pub fn load(&mut self, incidents: Vec<Incident>, complete: bool, requested: Instant) {
        let mut listed = HashSet::with_capacity(incidents.len());
        for incident in incidents {
            let open = incident.kind.incident_status(incident.status) == Status::Open;
            if !open || self.cleared.contains(&incident.id) {
                continue;
            }
            listed.insert(incident.id.clone());
            let loaded = from_api(incident);
            match self.open.get_mut(&loaded.latest.incident) {
                Some(entry) => {
                    let shown = &mut entry.incident;
                    shown.since = shown.since.min(loaded.since);
                    if loaded.latest.occurred_at > shown.latest.occurred_at {
                        shown.latest = loaded.latest;
                    }
                }
                None => self.insert(loaded, requested),
            }
        }
        if complete {
            let settled = requested.checked_sub(STORE_LAG);
            self.open.retain(|id, entry| {
                listed.contains(id) || settled.is_none_or(|settled| entry.touched > settled)
            });
        }
    }

    /// The open incidents, the one updated last first.
    pub fn newest_first(&self) -> Vec<OpenIncident> {
        let open: Vec<OpenIncident> = self.open.values().map(|e| e.incident.clone()).collect();
        sorted_by(open, |a, b| {
            (b.latest.occurred_at, &b.latest.id).cmp(&(a.latest.occurred_at, &a.latest.id))
        })
    }

    fn insert(&mut self, incident: OpenIncident, touched: Instant) {
        self.open.insert(
            incident.latest.incident.clone(),
            Entry { incident, touched },
        );
        if self.open.len() > MAX_OPEN {
            let stalest = self
                .open
                .iter()
                .min_by_key(|(_, entry)| entry.incident.latest.occurred_at)
                .map(|(id, _)| id.clone());
            if let Some(id) = stalest {
                self.open.remove(&id);
            }
        }
    }
}

/// The latest state of an incident the API lists, as the event that brought it: the incident's
/// id stands for that event's, which the API does not give.
fn from_api(incident: Incident) -> OpenIncident {
    let updated = incident.updated_at > incident.opened_at;
    OpenIncident {
        since: incident.opened_at,
        latest: Event {
            id: incident.id.clone(),
            incident: incident.id,
            kind: incident.kind,
            status: if updated {
                Status::Update
            } else {
                Status::Open
            },
            severity: incident.severity,
            zone: incident.zone,
            road: incident.road,
            vehicles: incident.vehicles,
            lat: incident.lat,
            lon: incident.lon,
            occurred_at: incident.updated_at,
            detail: incident.detail,
        },
    }
}

/// The last [`REMEMBERED_CLEARED`] incidents cleared.
#[derive(Debug, Default)]
struct Cleared {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Cleared {
    fn contains(&self, incident: &str) -> bool {
        self.ids.contains(incident)
    }

    fn remember(&mut self, incident: &str) {
        if self.ids.insert(incident.to_owned()) {
            self.order.push_back(incident.to_owned());
        }
        while self.order.len() > REMEMBERED_CLEARED {
            if let Some(forgotten) = self.order.pop_front() {
                self.ids.remove(&forgotten);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use vigie_model::{EventKind, Severity};

    const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    fn at(minute: i64) -> OffsetDateTime {
        T0 + time::Duration::minutes(minute)
    }

    /// An accident's event in the centre, `minute`s after the epoch (the feed's tests too).
    pub(crate) fn event(id: &str, incident: &str, status: Status, minute: i64) -> Event {
        Event {
            id: id.into(),
            incident: incident.into(),
            kind: EventKind::Accident,
            status,
            severity: Severity::Major,
            zone: Some("centre".into()),
            road: None,
            vehicles: vec!["veh-0001".into()],
            lat: 45.76,
            lon: 4.835,
            occurred_at: at(minute),
            detail: String::new(),
        }
    }

    fn opened(incident: &str, minute: i64) -> Event {
        event(incident, incident, Status::Open, minute)
    }

    fn listed(incident: &str, opened: i64, updated: i64) -> Incident {
        Incident {
            id: incident.into(),
            kind: EventKind::Jam,
            status: Status::Open,
            severity: Severity::Moderate,
            zone: None,
            road: Some("quay".into()),
            vehicles: vec!["veh-0002".into()],
            lat: 45.75,
            lon: 4.83,
            opened_at: at(opened),
            updated_at: at(updated),
            cleared_at: None,
            detail: "speed 12% of free flow".into(),
        }
    }

    fn ids(open: &OpenIncidents) -> Vec<String> {
        open.newest_first()
            .into_iter()
            .map(|o| o.latest.incident)
            .collect()
    }

    #[test]
    fn incidents_follow_their_lifecycle_by_id() {
        let now = Instant::now();
        let mut open = OpenIncidents::default();
        assert!(open.apply(&opened("A", 1), now));
        assert!(open.apply(&opened("C", 2), now));
        let zone = Event {
            kind: EventKind::ZoneEnter,
            ..opened("Z", 3)
        };
        assert!(!open.apply(&zone, now), "a zone crossing is never open");
        assert_eq!(ids(&open), ["C", "A"]);
        assert!(open.apply(&event("A2", "A", Status::Update, 4), now));
        assert_eq!(ids(&open), ["A", "C"], "the one updated last comes first");
        assert!(
            !open.apply(&event("A2", "A", Status::Update, 4), now),
            "a repeat"
        );
        assert!(open.apply(&event("A3", "A", Status::Cleared, 5), now));
        assert_eq!(ids(&open), ["C"]);
        assert!(
            !open.apply(&opened("A", 1), now),
            "a late replay of the opening does not reopen a cleared incident"
        );
        assert_eq!(ids(&open), ["C"]);
    }

    #[test]
    fn the_latest_event_by_time_wins_whatever_the_arrival_order() {
        let now = Instant::now();
        let mut open = OpenIncidents::default();
        open.apply(&event("J2", "J", Status::Update, 10), now);
        open.apply(&event("J1", "J", Status::Open, 3), now);
        let shown = &open.newest_first()[0];
        assert_eq!(shown.latest.id, "J2");
        assert_eq!(shown.since, at(3), "dates from the earliest event seen");
    }

    #[test]
    fn an_incident_dates_from_its_opening_even_when_no_event_of_it_is_older() {
        let opening = time::macros::datetime!(2026-11-22 07:00:00 UTC);
        let millis = (opening.unix_timestamp_nanos() / 1_000_000) as u64;
        let incident = ulid::Ulid::from_parts(millis, 7).to_string();
        // Only a later update of the jam arrived.
        let update = Event {
            occurred_at: opening + time::Duration::minutes(40),
            ..event("U", &incident, Status::Update, 0)
        };
        let mut open = OpenIncidents::default();
        open.apply(&update, Instant::now());
        assert_eq!(open.newest_first()[0].since, opening);
    }

    #[test]
    fn an_old_open_incident_stays_however_many_events_come_after_it() {
        let now = Instant::now();
        let mut open = OpenIncidents::default();
        open.load(vec![listed("OLD", -60, -60)], true, now);
        for n in 0..5_000 {
            let id = format!("E{n}");
            open.apply(&opened(&id, n), now);
            open.apply(&event(&format!("{id}c"), &id, Status::Cleared, n), now);
        }
        assert_eq!(ids(&open), ["OLD"]);
        let old = &open.newest_first()[0];
        assert_eq!((old.since, old.latest.kind), (at(-60), EventKind::Jam));
        assert_eq!(old.latest.status, Status::Open);
        open.apply(&event("OLDc", "OLD", Status::Cleared, 6_000), now);
        assert!(open.newest_first().is_empty(), "until an event clears it");
    }

    #[test]
    fn an_answer_updates_only_what_is_older_than_it() {
        let now = Instant::now();
        let mut open = OpenIncidents::default();
        open.apply(&event("A5", "A", Status::Update, 5), now);
        open.apply(&event("B5", "B", Status::Update, 5), now);
        open.load(vec![listed("A", 1, 9), listed("B", 1, 4)], true, now);
        let shown = open.newest_first();
        let latest: Vec<(&str, Status, OffsetDateTime)> = shown
            .iter()
            .map(|o| (o.latest.id.as_str(), o.latest.status, o.since))
            .collect();
        assert_eq!(
            latest,
            [("A", Status::Update, at(1)), ("B5", Status::Update, at(1))],
            "the API knows a later state of A; the rooms one of B"
        );
        // The rooms' events after the answer take over again.
        open.apply(&event("A10", "A", Status::Update, 10), now);
        assert_eq!(open.newest_first()[0].latest.id, "A10");
    }

    #[test]
    fn an_answer_does_not_reopen_what_the_rooms_cleared() {
        let now = Instant::now();
        let mut open = OpenIncidents::default();
        open.apply(&opened("A", 1), now);
        open.apply(&event("A2", "A", Status::Cleared, 2), now);
        // Asked before the collector stored the clearing.
        open.load(vec![listed("A", 1, 1), listed("B", 1, 1)], true, now);
        assert_eq!(ids(&open), ["B"]);
        let cleared = Incident {
            status: Status::Cleared,
            ..listed("C", 1, 2)
        };
        open.load(vec![cleared], false, now);
        assert_eq!(ids(&open), ["B"], "only open incidents are taken");
    }

    #[test]
    fn a_complete_answer_closes_what_was_missed_but_not_what_is_too_fresh_to_be_stored() {
        let start = Instant::now();
        let mut open = OpenIncidents::default();
        open.load(
            vec![listed("GONE", 1, 1), listed("KEPT", 1, 1)],
            true,
            start,
        );
        open.apply(&opened("FRESH", 5), start + Duration::from_secs(55));
        let later = start + Duration::from_secs(60);
        // Only partial: nothing can be said of what it leaves out.
        open.load(vec![listed("KEPT", 1, 1)], false, later);
        assert_eq!(ids(&open), ["FRESH", "KEPT", "GONE"]);
        // Complete: GONE was cleared while the page was away; FRESH is not stored yet.
        open.load(vec![listed("KEPT", 1, 1)], true, later);
        assert_eq!(ids(&open), ["FRESH", "KEPT"]);
    }

    #[test]
    fn memory_is_bounded() {
        let now = Instant::now();
        let mut open = OpenIncidents::default();
        let many = MAX_OPEN as i64 + 10;
        for n in 0..many {
            open.apply(&opened(&format!("I{n}"), n), now);
        }
        let shown = ids(&open);
        assert_eq!(shown.len(), MAX_OPEN);
        assert_eq!(
            shown.last().map(String::as_str),
            Some("I10"),
            "the stalest went"
        );
        for n in 0..many {
            let id = format!("I{n}");
            open.apply(
                &event(&format!("{id}c"), &id, Status::Cleared, many + n),
                now,
            );
        }
        assert!(open.open.is_empty());
        assert_eq!(open.cleared.ids.len(), REMEMBERED_CLEARED);
        assert_eq!(open.cleared.order.len(), REMEMBERED_CLEARED);
    }
}
