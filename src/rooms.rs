//! The event rooms of the MUC service (XEP-0045 §6.3, listed with XEP-0030 disco#items): which
//! ones the reader wants joined, where each one stands, and how many live events came in each
//! while it was not shown. Plain Rust, tested natively.

use vigie_model::contract::{room_for, room_title};
use vigie_model::EventKind;
use vigie_xmpp::disco::DiscoItem;

use crate::sorting::sorted_by_key;

/// Where a room stands for this session.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomState {
    /// Not wanted.
    Left,
    /// Wanted; joined once the session is online and the room answers.
    Joining,
    Joined,
    /// The room said no (e.g. `registration-required`); not asked again.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// Bare JID.
    pub jid: String,
    pub name: String,
    pub state: RoomState,
    /// Live events that arrived while its feed was not shown.
    pub unread: u32,
}

impl Room {
    pub fn is_wanted(&self) -> bool {
        matches!(self.state, RoomState::Joining | RoomState::Joined)
    }
}

/// The rooms the page lists: the configured event rooms first, in their order, then those the
/// service lists, by name. The operators' room is the chat's, not listed here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rooms {
    rooms: Vec<Room>,
    service: String,
    /// Configured, so kept first whatever the service lists.
    configured: usize,
    ops_room: String,
    /// The room whose feed is shown; `None`: every joined room's, merged.
    shown: Option<String>,
}

impl Rooms {
    /// The configured event rooms (ids on `service`), those in `wanted` (bare JIDs, e.g. the
    /// reader's choice from an earlier visit; `None`: every configured room) to be joined.
    pub fn new(
        service: &str,
        event_rooms: &[String],
        ops_room: &str,
        wanted: Option<&[String]>,
    ) -> Rooms {
        let jid = |room: &str| format!("{room}@{service}");
        let is_wanted = |jid: &str| wanted.is_none_or(|wanted| wanted.iter().any(|w| w == jid));
        let mut rooms: Vec<Room> = event_rooms
            .iter()
            .map(|room| {
                Room::new(
                    jid(room),
                    room_title(room).to_owned(),
                    is_wanted(&jid(room)),
                )
            })
            .collect();
        let configured = rooms.len();
        // A room wanted before and not configured (any more): the service's list will say
        // whether it is still there; meanwhile it is asked for.
        for other in wanted.unwrap_or_default() {
            if !rooms.iter().any(|room| &room.jid == other) {
                let name = other.split('@').next().unwrap_or(other).to_owned();
                rooms.push(Room::new(other.clone(), name, true));
            }
        }
        Rooms {
            rooms,
            service: service.to_owned(),
            configured,
            ops_room: jid(ops_room),
            shown: None,
        }
    }

    pub fn all(&self) -> &[Room] {
        &self.rooms
    }

    pub fn get(&self, jid: &str) -> Option<&Room> {
        self.rooms.iter().find(|room| room.jid == jid)
    }

    fn get_mut(&mut self, jid: &str) -> Option<&mut Room> {
        self.rooms.iter_mut().find(|room| room.jid == jid)
    }

    /// Bare JIDs of the rooms to be in, e.g. to join them again after a reconnection.
    pub fn wanted(&self) -> Vec<String> {
        self.rooms
            .iter()
            .filter(|room| room.is_wanted())
            .map(|room| room.jid.clone())
            .collect()
    }

    pub fn joined(&self) -> usize {
        (self.rooms.iter())
            .filter(|room| room.state == RoomState::Joined)
            .count()
    }

    /// Merges the service's answer to disco#items: names for the rooms we knew, and the rooms
    /// we did not (not wanted until the reader joins them). A room we wanted that the service
    /// no longer lists stays, since a hidden room is not listed either.
    pub fn discovered(&mut self, items: Vec<DiscoItem>) {
        for item in items {
            if item.jid == self.ops_room || item.node.is_some() {
                continue;
            }
            match self.get_mut(&item.jid) {
                Some(room) => {
                    if let Some(name) = item.name.filter(|name| !name.trim().is_empty()) {
                        room.name = name;
                    }
                }
                None => {
                    let local = item.jid.split('@').next().unwrap_or_default().to_owned();
                    let name = item.name.filter(|name| !name.trim().is_empty());
                    (self.rooms).push(Room::new(item.jid, name.unwrap_or(local), false));
                }
            }
        }
        // ASCII case folding: Unicode's tables would weigh on the page.
        let discovered = self.rooms.split_off(self.configured);
        (self.rooms).extend(sorted_by_key(discovered, |room| {
            room.name.to_ascii_lowercase()
        }));
    }

    /// The reader wants `jid` joined; returns whether it was not wanted before.
    pub fn want(&mut self, jid: &str) -> bool {
        match self.get_mut(jid) {
            Some(room) if !room.is_wanted() => {
                room.state = RoomState::Joining;
                true
            }
            _ => false,
        }
    }

    /// The reader leaves `jid`; returns whether it was wanted. Its feed, if shown, gives way
    /// to the merged one.
    pub fn leave(&mut self, jid: &str) -> bool {
        let Some(room) = self.get_mut(jid) else {
            return false;
        };
        let was_wanted = room.is_wanted();
        room.state = RoomState::Left;
        room.unread = 0;
        if self.shown.as_deref() == Some(jid) {
            self.shown = None;
        }
        was_wanted
    }

    /// The room confirmed the join; returns whether it is still wanted (the reader may have
    /// left it meanwhile: then the caller leaves it).
    pub fn confirmed(&mut self, jid: &str) -> bool {
        match self.get_mut(jid) {
            Some(room) if room.is_wanted() => {
                room.state = RoomState::Joined;
                true
            }
            _ => false,
        }
    }

    /// The room refused the join, or put us out: not asked again.
    pub fn refused(&mut self, jid: &str, why: &str) {
        if let Some(room) = self.get_mut(jid) {
            room.state = RoomState::Refused(why.to_owned());
        }
    }

    /// The session is lost: every joined room is to be joined again.
    pub fn disconnected(&mut self) {
        for room in &mut self.rooms {
            if room.state == RoomState::Joined {
                room.state = RoomState::Joining;
            }
        }
    }

    /// A live event came in `jid`: unread unless its feed is on screen; returns whether it is.
    pub fn arrived(&mut self, jid: &str) -> bool {
        let shown = self.shows(jid);
        self.get_mut(jid)
            .filter(|_| !shown)
            .map(|room| room.unread += 1)
            .is_some()
    }

    /// Shows the feed of `jid`, or the merged one (`None`); what it shows is read.
    pub fn show(&mut self, jid: Option<&str>) {
        self.shown = jid.map(str::to_owned);
        if let Some(room) = jid.and_then(|jid| self.get_mut(jid)) {
            room.unread = 0;
        }
    }

    pub fn shown(&self) -> Option<&str> {
        self.shown.as_deref()
    }

    /// Whether the feed on screen shows the events of `jid`.
    fn shows(&self, jid: &str) -> bool {
        self.shown.as_deref().is_none_or(|shown| shown == jid)
    }

    /// Whether incidents of `kind` are followed: their room is wanted. (The open incidents
    /// and the map leave out what a room left no longer keeps current.)
    pub fn follows(&self, kind: EventKind) -> bool {
        let jid = format!("{}@{}", room_for(kind), self.service);
        self.get(&jid).is_some_and(Room::is_wanted)
    }
}

impl Room {
    fn new(jid: String, name: String, wanted: bool) -> Room {
        let state = if wanted {
            RoomState::Joining
        } else {
            RoomState::Left
        };
        Room {
            jid,
            name,
            state,
            unread: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "rooms.localhost";

    fn configured(wanted: Option<&[String]>) -> Rooms {
        let rooms = ["accidents", "jams", "zones"].map(String::from);
        Rooms::new(SERVICE, &rooms, "ops", wanted)
    }

    fn item(jid: &str, name: Option<&str>) -> DiscoItem {
        DiscoItem {
            jid: jid.into(),
            node: None,
            name: name.map(String::from),
        }
    }

    fn jid(room: &str) -> String {
        format!("{room}@{SERVICE}")
    }

    fn names(rooms: &Rooms) -> Vec<(&str, &RoomState)> {
        (rooms.all().iter())
            .map(|room| (room.name.as_str(), &room.state))
            .collect()
    }

    #[test]
    fn configured_rooms_come_first_then_the_listed_ones_by_name_without_the_operators_room() {
        let mut rooms = configured(None);
        assert_eq!(rooms.wanted(), ["accidents", "jams", "zones"].map(jid));
        rooms.discovered(vec![
            item(&jid("roadworks"), Some("roadworks")),
            item(&jid("ops"), Some("Operators")),
            item(&jid("jams"), Some("Jams (city)")),
            item(&jid("bridges"), None),
            item(&jid("blank"), Some("  ")),
        ]);
        assert_eq!(
            names(&rooms),
            [
                ("Accidents", &RoomState::Joining),
                ("Jams (city)", &RoomState::Joining),
                ("Zone crossings", &RoomState::Joining),
                ("blank", &RoomState::Left),
                ("bridges", &RoomState::Left),
                ("roadworks", &RoomState::Left),
            ]
        );
        // A second answer adds nothing twice.
        rooms.discovered(vec![item(&jid("bridges"), None)]);
        assert_eq!(rooms.all().len(), 6);
    }

    #[test]
    fn an_earlier_choice_is_kept_even_for_a_room_not_configured() {
        let wanted = [jid("jams"), jid("roadworks")];
        let rooms = configured(Some(&wanted));
        assert_eq!(rooms.wanted(), wanted);
        assert_eq!(rooms.get(&jid("accidents")).unwrap().state, RoomState::Left);
        assert!(rooms.follows(EventKind::Jam));
        assert!(!rooms.follows(EventKind::Accident));
    }

    #[test]
    fn join_and_leave() {
        let mut rooms = configured(None);
        assert!(rooms.confirmed(&jid("zones")));
        assert_eq!(rooms.joined(), 1);
        assert!(rooms.leave(&jid("zones")));
        assert!(!rooms.leave(&jid("zones")), "left already");
        assert!(!rooms.follows(EventKind::ZoneEnter));
        assert!(
            !rooms.confirmed(&jid("zones")),
            "a join answered after the reader left is to be undone"
        );
        assert_eq!(rooms.joined(), 0);
        assert!(rooms.want(&jid("zones")));
        assert!(!rooms.want(&jid("zones")), "wanted already");
        assert!(!rooms.want(&jid("unknown")));
        assert!(rooms.confirmed(&jid("zones")));
        rooms.disconnected();
        assert_eq!(rooms.joined(), 0);
        assert_eq!(rooms.wanted(), ["accidents", "jams", "zones"].map(jid));
    }

    #[test]
    fn a_refused_room_is_not_asked_again() {
        let mut rooms = configured(None);
        rooms.refused(&jid("jams"), "forbidden");
        assert_eq!(rooms.wanted(), ["accidents", "zones"].map(jid));
        assert!(!rooms.confirmed(&jid("jams")));
        assert!(rooms.want(&jid("jams")), "unless the reader asks");
    }

    #[test]
    fn unread_counts_what_came_while_another_feed_was_shown() {
        let mut rooms = configured(None);
        rooms.arrived(&jid("jams"));
        assert_eq!(
            rooms.get(&jid("jams")).unwrap().unread,
            0,
            "merged feed shown"
        );
        rooms.show(Some(&jid("accidents")));
        rooms.arrived(&jid("jams"));
        rooms.arrived(&jid("jams"));
        rooms.arrived(&jid("accidents"));
        rooms.arrived(&jid("unknown"));
        let unread = |rooms: &Rooms, room| rooms.get(&jid(room)).unwrap().unread;
        assert_eq!(
            (unread(&rooms, "jams"), unread(&rooms, "accidents")),
            (2, 0)
        );
        rooms.show(Some(&jid("jams")));
        assert_eq!(unread(&rooms, "jams"), 0);
        rooms.arrived(&jid("zones"));
        rooms.leave(&jid("zones"));
        assert_eq!(unread(&rooms, "zones"), 0, "a room left has nothing unread");
        rooms.leave(&jid("jams"));
        assert_eq!(rooms.shown(), None, "the feed of a room left gives way");
    }
}
