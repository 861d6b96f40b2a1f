//! The live feed's model: events from the rooms, newest first, each shown once, bounded so hours
//! of traffic don't grow memory. Plain Rust, tested natively.

use std::collections::{HashSet, VecDeque};

use vigie_model::{Event, EventKind, Severity, Status};

/// One card of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub event: Event,
    /// Arrived live, rather than replayed from the room's history.
    pub live: bool,
}

/// An incident still open, as the feed knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenIncident<'a> {
    pub latest: &'a Event,
    /// When its earliest event in the feed occurred.
    pub since: time::OffsetDateTime,
}

/// Which cards the live feed shows; empty sets show everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveFilter {
    pub kinds: HashSet<EventKind>,
    pub severities: HashSet<Severity>,
}

impl LiveFilter {
    pub fn shows(&self, event: &Event) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&event.kind))
            && (self.severities.is_empty() || self.severities.contains(&event.severity))
    }

    /// Adds the kind to the filter, or removes it if present.
    pub fn toggle_kind(&mut self, kind: EventKind) {
        if !self.kinds.remove(&kind) {
            self.kinds.insert(kind);
        }
    }

    pub fn toggle_severity(&mut self, severity: Severity) {
        if !self.severities.remove(&severity) {
            self.severities.insert(severity);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Feed {
    cards: VecDeque<Card>,
    shown: HashSet<String>,
    capacity: usize,
}

impl Feed {
    pub fn new(capacity: usize) -> Feed {
        Feed {
            cards: VecDeque::new(),
            shown: HashSet::new(),
            capacity,
        }
    }

    /// Adds an event unless it is already shown (history replays and reconnects repeat events);
    /// returns whether it was new.
    pub fn accept(&mut self, event: Event, live: bool) -> bool {
        if !self.shown.insert(event.id.clone()) {
            return false;
        }
        self.cards.push_front(Card { event, live });
        while self.cards.len() > self.capacity {
            if let Some(dropped) = self.cards.pop_back() {
                self.shown.remove(&dropped.event.id);
            }
        }
        true
    }

    /// Newest first.
    pub fn cards(&self) -> impl Iterator<Item = &Card> {
        self.cards.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    /// Accidents and jams whose latest event in the feed is not `cleared`, newest first, with
    /// the time of their earliest event seen: the lifecycle folded per incident.
    pub fn open_incidents(&self) -> Vec<OpenIncident<'_>> {
        let mut open: Vec<OpenIncident<'_>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for card in &self.cards {
            let event = &card.event;
            if !matches!(event.kind, EventKind::Accident | EventKind::Jam) {
                continue;
            }
            match index.get(&event.incident) {
                Some(&i) => {
                    let incident: &mut OpenIncident<'_> = &mut open[i];
                    incident.since = incident.since.min(event.occurred_at);
                }
                None => {
                    index.insert(&event.incident, open.len());
                    open.push(OpenIncident {
                        latest: event,
                        since: event.occurred_at,
                    });
                }
            }
        }
        open.retain(|incident| incident.latest.status != Status::Cleared);
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Event {
        Event {
            id: id.into(),
            incident: id.into(),
            kind: EventKind::Accident,
            status: Status::Open,
            severity: Severity::Major,
            zone: Some("centre".into()),
            road: None,
            vehicles: vec!["veh-0001".into()],
            lat: 45.76,
            lon: 4.835,
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            detail: String::new(),
        }
    }

    #[test]
    fn newest_first_each_once() {
        let mut feed = Feed::new(10);
        assert!(feed.accept(event("A"), false));
        assert!(feed.accept(event("B"), true));
        assert!(
            !feed.accept(event("A"), true),
            "a replayed event is not shown twice"
        );
        let order: Vec<(&str, bool)> = feed
            .cards()
            .map(|c| (c.event.id.as_str(), c.live))
            .collect();
        assert_eq!(order, [("B", true), ("A", false)]);
    }

    #[test]
    fn bounded_memory() {
        let mut feed = Feed::new(3);
        for id in ["A", "B", "C", "D", "E"] {
            feed.accept(event(id), true);
        }
        let order: Vec<&str> = feed.cards().map(|c| c.event.id.as_str()).collect();
        assert_eq!(order, ["E", "D", "C"]);
        assert_eq!(feed.cards().count(), 3);
    }

    #[test]
    fn open_incidents_follow_the_lifecycle() {
        let mut feed = Feed::new(10);
        let opened = event("A");
        let cleared = Event {
            id: "B".into(),
            status: Status::Cleared,
            ..opened.clone()
        };
        let other = event("C");
        let zone = Event {
            id: "D".into(),
            incident: "D".into(),
            kind: EventKind::ZoneEnter,
            ..event("D")
        };
        for e in [opened, other, zone] {
            feed.accept(e, true);
        }
        let open: Vec<&str> = feed
            .open_incidents()
            .iter()
            .map(|o| o.latest.incident.as_str())
            .collect();
        assert_eq!(open, ["C", "A"]);
        feed.accept(cleared, true);
        let open: Vec<&str> = feed
            .open_incidents()
            .iter()
            .map(|o| o.latest.incident.as_str())
            .collect();
        assert_eq!(open, ["C"]);
    }

    #[test]
    fn filter_chips_combine_kinds_and_severities() {
        let mut filter = LiveFilter::default();
        let accident = event("A");
        let minor_zone = Event {
            kind: EventKind::ZoneEnter,
            severity: Severity::Minor,
            ..event("Z")
        };
        assert!(filter.shows(&accident) && filter.shows(&minor_zone));
        filter.toggle_kind(EventKind::Accident);
        assert!(filter.shows(&accident) && !filter.shows(&minor_zone));
        filter.toggle_severity(Severity::Minor);
        assert!(!filter.shows(&accident), "a major accident is not minor");
        filter.toggle_kind(EventKind::Accident);
        filter.toggle_severity(Severity::Minor);
        assert_eq!(filter, LiveFilter::default());
    }
}
