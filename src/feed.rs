//! The live feed's model: events from the rooms, newest first, each shown once, bounded so hours
//! of traffic don't grow memory. Plain Rust, tested natively.

use std::collections::{HashSet, VecDeque};

use vigie_model::{Event, EventKind, Status};

/// One card of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub event: Event,
    /// Arrived live, rather than replayed from the room's history.
    pub live: bool,
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

    /// Accidents and jams whose latest event in the feed is not `cleared`, newest first: the
    /// lifecycle folded per incident.
    pub fn open_incidents(&self) -> Vec<&Event> {
        let mut latest: Vec<&Event> = Vec::new();
        let mut folded = HashSet::new();
        for card in &self.cards {
            let event = &card.event;
            if matches!(event.kind, EventKind::Accident | EventKind::Jam)
                && folded.insert(&event.incident)
            {
                latest.push(event);
            }
        }
        latest.retain(|event| event.status != Status::Cleared);
        latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::Severity;

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
            .map(|e| e.incident.as_str())
            .collect();
        assert_eq!(open, ["C", "A"]);
        feed.accept(cleared, true);
        let open: Vec<&str> = feed
            .open_incidents()
            .iter()
            .map(|e| e.incident.as_str())
            .collect();
        assert_eq!(open, ["C"]);
    }
}
