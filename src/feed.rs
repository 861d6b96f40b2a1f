//! The live feed's model: events from the rooms, newest first, each shown once, bounded so hours
//! of traffic don't grow memory (the open incidents are kept apart, in [`crate::open`]). Plain
//! Rust, tested natively.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use vigie_model::{Event, EventKind, Severity};

use crate::api::{road_name, zone_name};

/// One card of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub event: Event,
    /// Bare JID of the room it came in.
    pub room: String,
    /// Arrived live, rather than replayed from the room's history.
    pub live: bool,
}

/// Which cards the live feed shows; empty sets show everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveFilter {
    pub kinds: HashSet<EventKind>,
    pub severities: HashSet<Severity>,
    /// Zone ids of the city.
    pub zones: HashSet<String>,
}

impl LiveFilter {
    pub fn shows(&self, event: &Event) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&event.kind))
            && (self.severities.is_empty()
                || (event.kind.has_lifecycle() && self.severities.contains(&event.severity)))
            && (self.zones.is_empty()
                || (event.zone.as_ref()).is_some_and(|zone| self.zones.contains(zone)))
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

    pub fn toggle_zone(&mut self, zone: &str) {
        if !self.zones.remove(zone) {
            self.zones.insert(zone.to_owned());
        }
    }
}

#[derive(Debug, Clone)]
pub struct Feed {
    /// Shared, so a view takes the cards it shows without copying their events.
    cards: VecDeque<Arc<Card>>,
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

    /// Adds an event that came in `room` unless it is already shown (history replays and
    /// reconnects repeat events); returns whether it was new. Live events go on top, in time
    /// order (those missed during an outage come from the archives after newer ones came live);
    /// events from the rooms' histories, which come room after room, go below them, in time
    /// order too, newest first.
    pub fn accept(&mut self, room: &str, event: Event, live: bool) -> bool {
        if !self.shown.insert(event.id.clone()) {
            return false;
        }
        let room = room.to_owned();
        let card = Arc::new(Card { event, room, live });
        if live {
            let at = self
                .cards
                .iter()
                .position(|c| !c.live || c.event.occurred_at <= card.event.occurred_at)
                .unwrap_or(self.cards.len());
            self.cards.insert(at, card);
        } else {
            let at = self
                .cards
                .iter()
                .position(|c| !c.live && c.event.occurred_at <= card.event.occurred_at)
                .unwrap_or(self.cards.len());
            self.cards.insert(at, card);
        }
        while self.cards.len() > self.capacity {
            if let Some(dropped) = self.cards.pop_back() {
                self.shown.remove(&dropped.event.id);
            }
        }
        true
    }

    /// The newest `limit` cards of `room` (`None`: of every room) that `filter` shows, and how
    /// many more it shows beyond them: the page keeps only a window of the feed in its DOM.
    pub fn newest(
        &self,
        room: Option<&str>,
        filter: &LiveFilter,
        limit: usize,
    ) -> (Vec<Arc<Card>>, usize) {
        let mut shown = (self.cards.iter())
            .filter(|card| room.is_none_or(|room| card.room == room) && filter.shows(&card.event));
        let window: Vec<Arc<Card>> = shown.by_ref().take(limit).cloned().collect();
        (window, shown.count())
    }

    /// Drops the cards of a room left: they would no longer be kept current, and a rejoin
    /// brings its history again.
    pub fn forget_room(&mut self, room: &str) {
        let shown = &mut self.shown;
        self.cards.retain(|card| {
            let keep = card.room != room;
            if !keep {
                shown.remove(&card.event.id);
            }
            keep
        });
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }
}

/// Items waiting to be applied together: a burst of events costs one render, not one each.
/// While rooms' histories are arriving after a join, nothing is scheduled: the histories of
/// every room render together once the last has ended.
#[derive(Debug)]
pub struct Batch<T> {
    items: Vec<T>,
    flush_scheduled: bool,
    /// Rooms joined whose history has not ended yet.
    awaited_histories: usize,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            items: Vec::new(),
            flush_scheduled: false,
            awaited_histories: 0,
        }
    }
}

impl<T> Batch<T> {
    /// Queues `item`; returns whether the caller must schedule a flush (none is pending yet).
    pub fn push(&mut self, item: T) -> bool {
        self.items.push(item);
        self.awaited_histories == 0 && !std::mem::replace(&mut self.flush_scheduled, true)
    }

    /// `rooms` were joined: hold their histories until each has ended.
    pub fn await_histories(&mut self, rooms: usize) {
        self.awaited_histories = rooms;
    }

    /// A room's history ended (the room sent its subject, XEP-0045 §7.2.15), or a subject
    /// changed; returns whether the caller must flush now: no history is awaited any more.
    pub fn history_ended(&mut self) -> bool {
        self.awaited_histories = self.awaited_histories.saturating_sub(1);
        self.awaited_histories == 0
    }

    /// Stops waiting for histories (one never ended); returns whether the caller must flush.
    pub fn stop_awaiting(&mut self) -> bool {
        std::mem::replace(&mut self.awaited_histories, 0) > 0
    }

    /// Everything queued, oldest first; the next push schedules a new flush.
    pub fn take(&mut self) -> Vec<T> {
        self.flush_scheduled = false;
        std::mem::take(&mut self.items)
    }
}

/// Vehicles named before the rest are only counted (a jam can hold dozens).
const VEHICLES_NAMED: usize = 3;

/// The first few vehicles and a count of the rest.
pub fn vehicles_label(vehicles: &[String]) -> String {
    let mut label = vehicles[..vehicles.len().min(VEHICLES_NAMED)].join(", ");
    if vehicles.len() > VEHICLES_NAMED {
        label.push_str(&format!(" +{} more", vehicles.len() - VEHICLES_NAMED));
    }
    label
}

/// The severity worth showing: an accident's or a jam's. A zone crossing carries one on the
/// wire (the contract's field is required) but it grades nothing.
pub fn shown_severity(kind: EventKind, severity: Severity) -> Option<&'static str> {
    kind.has_lifecycle().then(|| severity.as_str())
}

/// How long an incident has been open, from whole minutes: "45 min", "2 h 05".
pub fn duration_label(minutes: i64) -> String {
    if minutes < 60 {
        format!("{minutes} min")
    } else {
        format!("{} h {:02}", minutes / 60, minutes % 60)
    }
}

/// Where an open incident is, by name: a jam's road, else its zone.
pub fn place_name(event: &Event) -> &str {
    match (&event.road, &event.zone) {
        (Some(road), _) => road_name(road),
        (None, Some(zone)) => zone_name(zone),
        (None, None) => "",
    }
}

/// The line under a card's title: its vehicles, zone, road and detail (places by name), the
/// empty ones left out.
pub fn card_line(event: &Event) -> String {
    let vehicles = vehicles_label(&event.vehicles);
    [
        vehicles.as_str(),
        event.zone.as_deref().map(zone_name).unwrap_or_default(),
        event.road.as_deref().map(road_name).unwrap_or_default(),
        event.detail.as_str(),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::Status;

    const ROOM: &str = "accidents@rooms.localhost";

    fn event(id: &str) -> Event {
        crate::open::tests::event(id, id, Status::Open, 0)
    }

    #[test]
    fn newest_first_each_once() {
        let mut feed = Feed::new(10);
        assert!(feed.accept(ROOM, event("A"), false));
        assert!(feed.accept(ROOM, event("B"), true));
        assert!(
            !feed.accept(ROOM, event("A"), true),
            "a replayed event is not shown twice"
        );
        let (cards, _) = feed.newest(None, &LiveFilter::default(), usize::MAX);
        let order: Vec<(&str, bool)> = cards
            .iter()
            .map(|c| (c.event.id.as_str(), c.live))
            .collect();
        assert_eq!(order, [("B", true), ("A", false)]);
    }

    #[test]
    fn an_event_missed_during_an_outage_goes_below_newer_live_ones() {
        let mut feed = Feed::new(10);
        let at = |id: &str, minute| crate::open::tests::event(id, id, Status::Open, minute);
        feed.accept(ROOM, at("history", 1), false);
        feed.accept(ROOM, at("live", 10), true);
        feed.accept(ROOM, at("missed", 5), true);
        feed.accept(ROOM, at("later", 20), true);
        let (cards, _) = feed.newest(None, &LiveFilter::default(), usize::MAX);
        let order: Vec<&str> = cards.iter().map(|c| c.event.id.as_str()).collect();
        assert_eq!(order, ["later", "live", "missed", "history"]);
    }

    #[test]
    fn bounded_memory() {
        let mut feed = Feed::new(3);
        for id in ["A", "B", "C", "D", "E"] {
            feed.accept(ROOM, event(id), true);
        }
        let (cards, _) = feed.newest(None, &LiveFilter::default(), usize::MAX);
        let order: Vec<&str> = cards.iter().map(|c| c.event.id.as_str()).collect();
        assert_eq!(order, ["E", "D", "C"]);
        assert_eq!(feed.shown.len(), 3, "dropped cards are forgotten too");
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
        assert!(
            !filter.shows(&minor_zone),
            "a zone crossing grades nothing, so no severity chip selects it"
        );
        filter.toggle_severity(Severity::Minor);
        assert!(filter.shows(&minor_zone));
        assert_eq!(filter, LiveFilter::default());

        let in_centre = Event {
            zone: Some("centre".into()),
            ..event("C")
        };
        let nowhere = Event {
            zone: None,
            ..event("N")
        };
        filter.toggle_zone("centre");
        assert!(filter.shows(&in_centre));
        assert!(!filter.shows(&nowhere), "no zone: not in the one chosen");
        filter.toggle_zone("east");
        assert!(filter.shows(&in_centre), "zones add up");
        filter.toggle_kind(EventKind::Jam);
        assert!(!filter.shows(&in_centre), "and combine with kinds");
        filter.toggle_kind(EventKind::Jam);
        filter.toggle_zone("centre");
        filter.toggle_zone("east");
        assert_eq!(filter, LiveFilter::default());
    }

    #[test]
    fn newest_keeps_a_window_and_counts_the_rest() {
        let mut feed = Feed::new(10);
        for id in ["A", "B", "C", "D", "E"] {
            feed.accept(ROOM, event(id), true);
        }
        feed.accept(
            ROOM,
            Event {
                kind: EventKind::ZoneEnter,
                ..event("Z")
            },
            true,
        );
        let (window, more) = feed.newest(None, &LiveFilter::default(), 2);
        let ids: Vec<&str> = window.iter().map(|c| c.event.id.as_str()).collect();
        assert_eq!((ids, more), (vec!["Z", "E"], 4));
        let mut accidents = LiveFilter::default();
        accidents.toggle_kind(EventKind::Accident);
        let (window, more) = feed.newest(None, &accidents, 3);
        let ids: Vec<&str> = window.iter().map(|c| c.event.id.as_str()).collect();
        assert_eq!((ids, more), (vec!["E", "D", "C"], 2));
        let (window, more) = feed.newest(None, &accidents, 50);
        assert_eq!((window.len(), more), (5, 0));
    }

    #[test]
    fn a_room_has_its_own_feed_within_the_merged_one_and_leaving_it_forgets_its_cards() {
        const ZONES: &str = "zones@rooms.localhost";
        let mut feed = Feed::new(10);
        feed.accept(ROOM, event("A1"), true);
        feed.accept(ZONES, event("Z1"), true);
        feed.accept(ROOM, event("A2"), false);
        let ids = |feed: &Feed, room| {
            let (cards, _) = feed.newest(room, &LiveFilter::default(), usize::MAX);
            cards.iter().map(|c| c.event.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&feed, None), ["Z1", "A1", "A2"]);
        assert_eq!(ids(&feed, Some(ROOM)), ["A1", "A2"]);
        assert_eq!(ids(&feed, Some(ZONES)), ["Z1"]);
        feed.forget_room(ROOM);
        assert_eq!(ids(&feed, None), ["Z1"]);
        assert!(
            feed.accept(ROOM, event("A2"), false),
            "a room joined again shows its history again"
        );
    }

    #[test]
    fn batch_schedules_one_flush_per_burst() {
        let mut batch = Batch::default();
        assert!(batch.push(1), "the first item schedules a flush");
        assert!(!batch.push(2) && !batch.push(3), "later ones ride on it");
        assert_eq!(batch.take(), [1, 2, 3]);
        assert_eq!(batch.take(), Vec::<i32>::new());
        assert!(
            batch.push(4),
            "after a flush, the next item schedules another"
        );
    }

    #[test]
    fn batch_holds_histories_until_the_last_room_has_sent_its_own() {
        let mut batch = Batch::default();
        batch.await_histories(2);
        assert!(
            !batch.push(1) && !batch.push(2),
            "no flush while histories arrive"
        );
        assert!(
            !batch.history_ended(),
            "one room is still sending its history"
        );
        assert!(!batch.push(3));
        assert!(batch.history_ended(), "the last history ended: flush");
        assert_eq!(batch.take(), [1, 2, 3]);
        assert!(batch.push(4), "live events are batched by time again");
        assert!(batch.history_ended(), "a later subject change flushes too");
    }

    #[test]
    fn batch_stops_awaiting_a_history_that_never_ends() {
        let mut batch = Batch::default();
        batch.await_histories(3);
        assert!(!batch.push(1));
        assert!(!batch.history_ended(), "two rooms still sending");
        assert!(batch.stop_awaiting(), "given up: flush");
        assert_eq!(batch.take(), [1]);
        assert!(!batch.stop_awaiting(), "nothing awaited: nothing to flush");
        assert!(batch.push(2));
    }

    #[test]
    fn room_histories_merge_in_time_order_below_live_events() {
        let at = |id: &str, minute: i64| Event {
            occurred_at: time::OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(minute),
            ..event(id)
        };
        let mut feed = Feed::new(10);
        // The accidents room's history, then the zones room's.
        for (id, minute) in [
            ("a1", 1),
            ("a3", 3),
            ("a5", 5),
            ("z2", 2),
            ("z4", 4),
            ("z6", 6),
        ] {
            feed.accept(ROOM, at(id, minute), false);
        }
        feed.accept(ROOM, at("live", 0), true);
        // A late room history still goes below the live event.
        feed.accept(ROOM, at("j7", 7), false);
        let (cards, _) = feed.newest(None, &LiveFilter::default(), usize::MAX);
        let order: Vec<&str> = cards.iter().map(|c| c.event.id.as_str()).collect();
        assert_eq!(order, ["live", "j7", "z6", "a5", "z4", "a3", "z2", "a1"]);
    }

    #[test]
    fn only_incidents_with_a_lifecycle_show_their_severity() {
        assert_eq!(
            shown_severity(EventKind::Accident, Severity::Major),
            Some("major")
        );
        assert_eq!(
            shown_severity(EventKind::Jam, Severity::Minor),
            Some("minor")
        );
        assert_eq!(shown_severity(EventKind::ZoneEnter, Severity::Minor), None);
        assert_eq!(shown_severity(EventKind::ZoneExit, Severity::Minor), None);
    }

    #[test]
    fn durations_past_an_hour_read_in_hours() {
        let labels: Vec<String> = [0, 59, 60, 125, 1500].map(duration_label).into();
        assert_eq!(labels, ["0 min", "59 min", "1 h 00", "2 h 05", "25 h 00"]);
    }

    #[test]
    fn card_lines_name_places_leave_out_what_is_empty_and_count_long_vehicle_lists() {
        assert_eq!(card_line(&event("A")), "veh-0001 · Centre");
        let jam = Event {
            kind: EventKind::Jam,
            zone: None,
            road: Some("quay".into()),
            vehicles: (1..=7).map(|n| format!("v{n}")).collect(),
            detail: "speed 12% of free flow".into(),
            ..event("J")
        };
        assert_eq!(
            card_line(&jam),
            "v1, v2, v3 +4 more · River quay · speed 12% of free flow"
        );
        assert_eq!(place_name(&jam), "River quay");
        // A place the city does not know keeps its id.
        let elsewhere = Event {
            zone: Some("harbour".into()),
            ..event("E")
        };
        assert_eq!(card_line(&elsewhere), "veh-0001 · harbour");
        assert_eq!(place_name(&elsewhere), "harbour");
        let bare = Event {
            vehicles: Vec::new(),
            zone: None,
            ..event("B")
        };
        assert_eq!(card_line(&bare), "");
    }
}
