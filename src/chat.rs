//! The operators' chat as the page shows it: bounded conversation logs, room occupants, who is
//! typing (XEP-0085), the roster and presence labels. Plain Rust without IO or a clock (callers
//! pass `now`), so it is unit-tested natively.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use vigie_xmpp::stanza::Show;
use vigie_xmpp::ChatState;
use vigie_xmpp::Role;
use web_time::Instant;

use vigie_xmpp::keyed::Keyed;

use crate::sorting::sorted_by_key;

/// Lines kept per conversation: older ones are dropped, so hours of chat don't grow memory.
pub const MAX_LINES: usize = 200;
/// Longest body shown; the rest is cut (a hostile 200 KB body must not freeze the page).
pub const MAX_BODY_CHARS: usize = 2000;
/// One-to-one conversations kept; the one quiet the longest goes first.
pub const MAX_CONVERSATIONS: usize = 50;
/// Pending subscription requests kept.
pub const MAX_REQUESTS: usize = 50;
/// "Is typing" fades if the peer never says it stopped (XEP-0085 §5.2 leaves it to us).
pub const TYPING_FADES_AFTER: Duration = Duration::from_secs(30);
/// We tell peers we paused after this long without a keystroke (XEP-0085 §5.2).
pub const PAUSED_AFTER: Duration = Duration::from_secs(5);

/// One message as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Unique in the page (across logs, and a log opened again), for keyed lists.
    pub key: u64,
    pub author: String,
    pub body: String,
    pub at: OffsetDateTime,
    /// Sent while we were away (offline storage, room history): `at` is the original time.
    pub delayed: bool,
    pub own: bool,
}

/// A message arriving in a log.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The most stable id the message has (stanza-id, else origin-id, else id): a message
    /// seen twice (room history after a rejoin) is kept once.
    pub id: Option<String>,
    pub author: String,
    pub body: String,
    pub at: OffsetDateTime,
    pub delayed: bool,
    pub own: bool,
}

/// The next [`Line::key`].
static NEXT_LINE_KEY: AtomicU64 = AtomicU64::new(1);

/// One conversation's messages, oldest first, at most [`MAX_LINES`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatLog {
    lines: VecDeque<(Option<String>, Line)>,
    /// Messages from others not yet seen.
    pub unread: u32,
}

impl ChatLog {
    /// Adds a message unless one with the same id is already here; whether it was added.
    pub fn push(&mut self, message: Incoming) -> bool {
        if message.id.is_some() && self.lines.iter().any(|(id, _)| *id == message.id) {
            return false;
        }
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
        }
        if !message.own {
            self.unread = self.unread.saturating_add(1);
        }
        let line = Line {
            key: NEXT_LINE_KEY.fetch_add(1, Ordering::Relaxed),
            author: message.author,
            body: clip(message.body),
            at: message.at,
            delayed: message.delayed,
            own: message.own,
        };
        self.lines.push_back((message.id, line));
        true
    }

    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().map(|(_, line)| line)
    }

    fn last_at(&self) -> Option<OffsetDateTime> {
        self.lines.back().map(|(_, line)| line.at)
    }
}

/// Cuts `body` to [`MAX_BODY_CHARS`] characters, marking the cut.
fn clip(mut body: String) -> String {
    if let Some((at, _)) = body.char_indices().nth(MAX_BODY_CHARS) {
        body.truncate(at);
        body.push_str(" […]");
    }
    body
}

/// The one-to-one conversations, by the peer's JID.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversations {
    logs: Keyed<ChatLog>,
}

impl Conversations {
    /// Adds a message to the conversation with `peer`, opening it if needed.
    pub fn push(&mut self, peer: &str, message: Incoming) -> bool {
        self.open(peer);
        self.logs.get_or_default(peer).push(message)
    }

    /// Opens the conversation with `peer` if it is not open yet (to write first).
    pub fn open(&mut self, peer: &str) {
        if self.logs.contains_key(peer) {
            return;
        }
        if self.logs.len() == MAX_CONVERSATIONS {
            let quietest = self
                .logs
                .iter()
                .min_by_key(|(_, log)| log.last_at())
                .map(|(peer, _)| peer.clone());
            if let Some(quietest) = quietest {
                self.logs.remove(&quietest);
            }
        }
        self.logs.insert(peer.to_owned(), ChatLog::default());
    }

    pub fn get(&self, peer: &str) -> Option<&ChatLog> {
        self.logs.get(peer)
    }

    /// Marks `peer`'s messages read.
    pub fn mark_read(&mut self, peer: &str) {
        if let Some(log) = self.logs.get_mut(peer) {
            log.unread = 0;
        }
    }

    /// Peers with their unread counts, by JID.
    pub fn peers(&self) -> impl Iterator<Item = (&str, u32)> {
        self.logs
            .iter()
            .map(|(peer, log)| (peer.as_str(), log.unread))
    }
}

/// Who is composing a message, per conversation partner (a room nick or a JID).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Typing {
    since: Keyed<Instant>,
}

impl Typing {
    /// `who` started (or goes on) composing.
    pub fn composing(&mut self, who: &str, now: Instant) {
        self.since.insert(who.to_owned(), now);
    }

    /// `who` paused, went away, or sent their message.
    pub fn stopped(&mut self, who: &str) {
        self.since.remove(who);
    }

    /// `who` told their XEP-0085 chat state: composing, or any other (no longer typing).
    pub fn chat_state(&mut self, who: &str, state: ChatState, now: Instant) {
        match state {
            ChatState::Composing => self.composing(who, now),
            _ => self.stopped(who),
        }
    }

    /// Those composing now, by name; a "composing" older than [`TYPING_FADES_AFTER`] no
    /// longer counts.
    pub fn who(&self, now: Instant) -> Vec<&str> {
        self.since
            .iter()
            .filter(|(_, since)| now.saturating_duration_since(**since) < TYPING_FADES_AFTER)
            .map(|(who, _)| who.as_str())
            .collect()
    }

    /// "ana is typing…", "ana and bob are typing…", "3 people are typing…", or nothing.
    pub fn sentence(&self, now: Instant) -> Option<String> {
        match self.who(now).as_slice() {
            [] => None,
            [one] => Some(format!("{one} is typing…")),
            [one, two] => Some(format!("{one} and {two} are typing…")),
            many => Some(format!("{} people are typing…", many.len())),
        }
    }
}

/// The chat state we tell peers (XEP-0085), as the page decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnChatState {
    Composing,
    Paused,
}

/// Our own typing: composing on the first keystroke, paused after [`PAUSED_AFTER`] without
/// one, active when the message goes. Each method returns the state to send, if it changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnTyping {
    last_keystroke: Option<Instant>,
    composing: bool,
}

impl OwnTyping {
    pub fn keystroke(&mut self, now: Instant) -> Option<OwnChatState> {
        self.last_keystroke = Some(now);
        (!std::mem::replace(&mut self.composing, true)).then_some(OwnChatState::Composing)
    }

    pub fn tick(&mut self, now: Instant) -> Option<OwnChatState> {
        let idle = self
            .last_keystroke
            .is_some_and(|at| now.saturating_duration_since(at) >= PAUSED_AFTER);
        if self.composing && idle {
            self.composing = false;
            return Some(OwnChatState::Paused);
        }
        None
    }

    /// The message was sent (it carries `<active/>` itself) or the draft was cleared.
    pub fn sent(&mut self) {
        *self = OwnTyping::default();
    }

    /// We switched to another conversation: the one we leave hears we paused, if it last
    /// heard us composing (else it would show us typing until its indicator fades).
    pub fn left(&mut self) -> Option<OwnChatState> {
        let composing = self.composing;
        *self = OwnTyping::default();
        composing.then_some(OwnChatState::Paused)
    }
}

/// Availability as people see it, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Availability {
    Chat,
    Available,
    Away,
    Dnd,
    Xa,
    Offline,
}

impl Availability {
    /// The presences we can choose for ourselves, in menu order.
    pub const CHOICES: [Availability; 4] = [
        Availability::Available,
        Availability::Away,
        Availability::Dnd,
        Availability::Xa,
    ];

    pub fn from_show(show: Option<Show>) -> Availability {
        match show {
            None => Availability::Available,
            Some(Show::Chat) => Availability::Chat,
            Some(Show::Away) => Availability::Away,
            Some(Show::Dnd) => Availability::Dnd,
            Some(Show::Xa) => Availability::Xa,
        }
    }

    pub fn show(self) -> Option<Show> {
        match self {
            Availability::Chat => Some(Show::Chat),
            Availability::Away => Some(Show::Away),
            Availability::Dnd => Some(Show::Dnd),
            Availability::Xa => Some(Show::Xa),
            Availability::Available | Availability::Offline => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Availability::Chat => "free to chat",
            Availability::Available => "available",
            Availability::Away => "away",
            Availability::Dnd => "do not disturb",
            Availability::Xa => "extended away",
            Availability::Offline => "offline",
        }
    }

    /// A CSS class and stable test hook.
    pub fn class(self) -> &'static str {
        match self {
            Availability::Chat => "free",
            Availability::Available => "available",
            Availability::Away => "away",
            Availability::Dnd => "dnd",
            Availability::Xa => "xa",
            Availability::Offline => "offline",
        }
    }

    pub fn from_class(class: &str) -> Option<Availability> {
        [Availability::Chat, Availability::Offline]
            .into_iter()
            .chain(Availability::CHOICES)
            .find(|a| a.class() == class)
    }
}

/// Someone's presence: availability and free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceView {
    pub availability: Availability,
    pub status: Option<String>,
}

impl PresenceView {
    pub const OFFLINE: PresenceView = PresenceView {
        availability: Availability::Offline,
        status: None,
    };

    /// "away — at lunch", or just "away".
    pub fn describe(&self) -> String {
        match self.status.as_deref().map(str::trim) {
            Some(status) if !status.is_empty() => {
                format!("{} — {}", self.availability.label(), status)
            }
            _ => self.availability.label().to_owned(),
        }
    }

    /// [`describe`](Self::describe), unless plainly available with nothing to say.
    pub fn note(&self) -> Option<String> {
        let plain = self.availability == Availability::Available
            && self.status.as_deref().is_none_or(|s| s.trim().is_empty());
        (!plain).then(|| self.describe())
    }
}

/// A room occupant as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccupantView {
    pub nick: String,
    pub role: Role,
    pub presence: PresenceView,
}

/// The occupants of one room, by nick.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Occupants {
    by_nick: Keyed<OccupantView>,
}

impl Occupants {
    /// Adds or updates an occupant; one who left (`None`) is removed.
    pub fn update(&mut self, nick: &str, present: Option<(Role, PresenceView)>) {
        match present {
            Some((role, presence)) => {
                self.by_nick.insert(
                    nick.to_owned(),
                    OccupantView {
                        nick: nick.to_owned(),
                        role,
                        presence,
                    },
                );
            }
            None => {
                self.by_nick.remove(nick);
            }
        }
    }

    /// Moderators first, then participants, then visitors; by nick within each.
    pub fn sorted(&self) -> Vec<&OccupantView> {
        sorted_by_key(self.by_nick.values().collect(), |o| {
            (role_rank(o.role), o.nick.to_ascii_lowercase())
        })
    }

    pub fn len(&self) -> usize {
        self.by_nick.len()
    }

    pub fn clear(&mut self) {
        self.by_nick.clear();
    }
}

fn role_rank(role: Role) -> u8 {
    match role {
        Role::Moderator => 0,
        Role::Participant => 1,
        Role::Visitor => 2,
        Role::None => 3,
    }
}

/// A roster contact as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub jid: String,
    pub name: Option<String>,
    /// RFC 6121 subscription: none, to, from or both.
    pub subscription: String,
    /// We asked to see their presence and they have not answered.
    pub pending: bool,
    /// Presence per connected resource.
    resources: Keyed<PresenceView>,
}

impl Contact {
    pub fn new(jid: &str) -> Contact {
        Contact {
            jid: jid.to_owned(),
            name: None,
            subscription: "none".to_owned(),
            pending: false,
            resources: Keyed::default(),
        }
    }

    /// The name to show: the roster name, else the JID.
    pub fn label(&self) -> &str {
        self.name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.jid)
    }

    /// The most available of its resources' presences.
    pub fn presence(&self) -> PresenceView {
        self.resources
            .values()
            .min_by_key(|p| p.availability)
            .cloned()
            .unwrap_or(PresenceView::OFFLINE)
    }
}

/// Our contacts, with their presence, and the subscription requests waiting for an answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    contacts: Keyed<Contact>,
    requests: VecDeque<String>,
}

impl Roster {
    /// Adds or updates a contact from the server's roster (keeping its known presence).
    pub fn upsert(&mut self, mut contact: Contact) {
        if let Some(known) = self.contacts.remove(&contact.jid) {
            contact.resources = known.resources;
        }
        self.contacts.insert(contact.jid.clone(), contact);
    }

    pub fn remove(&mut self, jid: &str) {
        self.contacts.remove(jid);
    }

    /// Keeps only the contacts `keep` accepts (after reading the whole roster again).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.contacts.retain(|jid, _| keep(jid));
    }

    pub fn contains(&self, jid: &str) -> bool {
        self.contacts.contains_key(jid)
    }

    /// A contact's resource changed presence (`None`: it went offline).
    pub fn presence(&mut self, jid: &str, resource: &str, presence: Option<PresenceView>) {
        if let Some(contact) = self.contacts.get_mut(jid) {
            match presence {
                Some(presence) => contact.resources.insert(resource.to_owned(), presence),
                None => contact.resources.remove(resource),
            };
        }
    }

    /// Online contacts first (most available first), then by label.
    pub fn sorted(&self) -> Vec<&Contact> {
        sorted_by_key(self.contacts.values().collect(), |c| {
            (c.presence().availability, c.label().to_ascii_lowercase())
        })
    }

    /// `jid` asks to see our presence; each asker is listed once, oldest dropped past
    /// [`MAX_REQUESTS`].
    pub fn request(&mut self, jid: &str) {
        if self.requests.iter().any(|r| r == jid) {
            return;
        }
        if self.requests.len() == MAX_REQUESTS {
            self.requests.pop_front();
        }
        self.requests.push_back(jid.to_owned());
    }

    /// The request from `jid` was answered.
    pub fn answered(&mut self, jid: &str) {
        self.requests.retain(|r| r != jid);
    }

    pub fn requests(&self) -> impl Iterator<Item = &str> {
        self.requests.iter().map(String::as_str)
    }
}

/// When a message was written: its XEP-0203 delay stamp if it has one, else `now`.
pub fn message_time(delay: Option<&str>, now: OffsetDateTime) -> (OffsetDateTime, bool) {
    let stamp = delay.and_then(|stamp| {
        OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).ok()
    });
    match stamp {
        Some(at) => (at, true),
        None => (now, delay.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_795_000_000 + seconds).unwrap()
    }

    fn message(id: Option<&str>, body: &str, own: bool) -> Incoming {
        Incoming {
            id: id.map(str::to_owned),
            author: "ana".into(),
            body: body.into(),
            at: at(0),
            delayed: false,
            own,
        }
    }

    #[test]
    fn a_log_keeps_the_latest_lines_only() {
        let mut log = ChatLog::default();
        for n in 0..MAX_LINES + 25 {
            assert!(log.push(message(None, &n.to_string(), false)));
        }
        assert_eq!(log.lines().count(), MAX_LINES);
        assert_eq!(log.lines().next().unwrap().body, "25");
        assert_eq!(
            log.lines().last().unwrap().body,
            (MAX_LINES + 24).to_string()
        );
        let keys: Vec<u64> = log.lines().map(|l| l.key).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys stay unique");
    }

    #[test]
    fn a_message_seen_twice_is_kept_once_and_own_ones_are_not_unread() {
        let mut log = ChatLog::default();
        assert!(log.push(message(Some("s1"), "hello", false)));
        assert!(!log.push(message(Some("s1"), "hello", false)));
        assert!(log.push(message(None, "same text, no id", false)));
        assert!(log.push(message(None, "same text, no id", false)));
        assert!(log.push(message(Some("s2"), "mine", true)));
        assert_eq!(log.lines().count(), 4);
        assert_eq!(log.unread, 3);
    }

    #[test]
    fn huge_bodies_are_clipped_on_a_character_boundary() {
        let mut log = ChatLog::default();
        log.push(message(None, &"é".repeat(MAX_BODY_CHARS * 50), false));
        let body = &log.lines().next().unwrap().body;
        assert_eq!(body.chars().count(), MAX_BODY_CHARS + 4);
        assert!(body.ends_with(" […]"));
        log.push(message(None, &"x".repeat(MAX_BODY_CHARS), false));
        assert_eq!(log.lines().last().unwrap().body.len(), MAX_BODY_CHARS);
    }

    #[test]
    fn conversations_are_bounded_and_drop_the_quietest() {
        let mut chats = Conversations::default();
        for n in 0..MAX_CONVERSATIONS {
            let mut m = message(None, "hi", false);
            m.at = at(n as i64 + 10);
            chats.push(&format!("peer{n}@localhost"), m);
        }
        let mut m = message(None, "late", false);
        m.at = at(1000);
        chats.push("new@localhost", m);
        assert_eq!(chats.peers().count(), MAX_CONVERSATIONS);
        assert!(chats.get("peer0@localhost").is_none(), "the quietest went");
        assert!(chats.get("new@localhost").is_some());
        chats.mark_read("new@localhost");
        assert_eq!(chats.get("new@localhost").unwrap().unread, 0);
        chats.open("blank@localhost");
        assert_eq!(chats.get("blank@localhost").unwrap().lines().count(), 0);
    }

    #[test]
    fn typing_fades_and_stops() {
        let t0 = Instant::now();
        let mut typing = Typing::default();
        assert_eq!(typing.sentence(t0), None);
        typing.composing("ana", t0);
        assert_eq!(typing.sentence(t0).as_deref(), Some("ana is typing…"));
        typing.composing("bob", t0 + Duration::from_secs(20));
        assert_eq!(
            typing.sentence(t0 + Duration::from_secs(21)).as_deref(),
            Some("ana and bob are typing…")
        );
        // Ana never said she stopped: her "composing" fades.
        assert_eq!(
            typing.who(t0 + TYPING_FADES_AFTER),
            vec!["bob"],
            "a stale composing no longer counts"
        );
        typing.stopped("bob");
        assert_eq!(
            typing.sentence(t0 + Duration::from_secs(22)).as_deref(),
            Some("ana is typing…")
        );
        typing.composing("bob", t0);
        typing.composing("cy", t0);
        assert_eq!(typing.sentence(t0).as_deref(), Some("3 people are typing…"));
    }

    #[test]
    fn chat_states_start_and_stop_typing() {
        let t0 = Instant::now();
        let mut typing = Typing::default();
        typing.chat_state("ana", ChatState::Composing, t0);
        assert_eq!(typing.who(t0), vec!["ana"]);
        for stop in [
            ChatState::Paused,
            ChatState::Active,
            ChatState::Inactive,
            ChatState::Gone,
        ] {
            typing.chat_state("ana", ChatState::Composing, t0);
            typing.chat_state("ana", stop, t0);
            assert_eq!(typing.who(t0), Vec::<&str>::new(), "{stop:?}");
        }
    }

    #[test]
    fn occupant_away_with_status() {
        let mut room = Occupants::default();
        let away = PresenceView {
            availability: Availability::from_show(Some(Show::Away)),
            status: Some("on site".into()),
        };
        room.update("bob", Some((Role::Participant, away)));
        let bob = room.sorted()[0];
        assert_eq!(bob.presence.availability.class(), "away");
        assert_eq!(bob.presence.note().as_deref(), Some("away — on site"));
        let plain = PresenceView {
            availability: Availability::Available,
            status: Some(" ".into()),
        };
        assert_eq!(plain.note(), None);
        let busy = PresenceView {
            availability: Availability::Dnd,
            status: None,
        };
        assert_eq!(busy.note().as_deref(), Some("do not disturb"));
    }

    #[test]
    fn own_typing_sends_composing_once_then_paused_then_resets_on_send() {
        let t0 = Instant::now();
        let mut own = OwnTyping::default();
        assert_eq!(own.tick(t0), None, "nothing typed, nothing to say");
        assert_eq!(own.keystroke(t0), Some(OwnChatState::Composing));
        assert_eq!(own.keystroke(t0 + Duration::from_secs(1)), None);
        assert_eq!(own.tick(t0 + Duration::from_secs(5)), None, "idle 4 s");
        assert_eq!(
            own.tick(t0 + Duration::from_secs(6)),
            Some(OwnChatState::Paused)
        );
        assert_eq!(own.tick(t0 + Duration::from_secs(60)), None, "said once");
        assert_eq!(
            own.keystroke(t0 + Duration::from_secs(61)),
            Some(OwnChatState::Composing)
        );
        own.sent();
        assert_eq!(own.tick(t0 + Duration::from_secs(99)), None);
        assert_eq!(
            own.keystroke(t0 + Duration::from_secs(99)),
            Some(OwnChatState::Composing)
        );
    }

    #[test]
    fn leaving_a_conversation_while_composing_tells_it_we_paused_once() {
        let t0 = Instant::now();
        let mut own = OwnTyping::default();
        assert_eq!(own.left(), None, "nothing typed, nothing to say");
        own.keystroke(t0);
        assert_eq!(own.left(), Some(OwnChatState::Paused));
        assert_eq!(own.left(), None);
        assert_eq!(own.tick(t0 + Duration::from_secs(60)), None, "said already");
        own.keystroke(t0);
        own.tick(t0 + Duration::from_secs(6));
        assert_eq!(own.left(), None, "it heard we paused");
    }

    #[test]
    fn presence_labels_and_round_trips() {
        for choice in Availability::CHOICES {
            assert_eq!(Availability::from_show(choice.show()), choice);
            assert_eq!(Availability::from_class(choice.class()), Some(choice));
        }
        assert_eq!(Availability::from_class("bogus"), None);
        let away = PresenceView {
            availability: Availability::from_show(Some(Show::Away)),
            status: Some("at lunch".into()),
        };
        assert_eq!(away.describe(), "away — at lunch");
        let blank = PresenceView {
            availability: Availability::Dnd,
            status: Some("  ".into()),
        };
        assert_eq!(blank.describe(), "do not disturb");
        assert_eq!(PresenceView::OFFLINE.describe(), "offline");
    }

    #[test]
    fn occupants_sort_by_role_then_nick() {
        let mut room = Occupants::default();
        let here = |role| Some((role, PresenceView::OFFLINE));
        room.update("zoe", here(Role::Participant));
        room.update("Bob", here(Role::Participant));
        room.update("amy", here(Role::Visitor));
        room.update("max", here(Role::Moderator));
        room.update("gone", here(Role::Participant));
        room.update("gone", None);
        let order: Vec<&str> = room.sorted().iter().map(|o| o.nick.as_str()).collect();
        assert_eq!(order, ["max", "Bob", "zoe", "amy"]);
        room.update("amy", here(Role::Moderator));
        assert_eq!(room.sorted()[0].nick, "amy");
        assert_eq!(room.len(), 4);
    }

    #[test]
    fn the_roster_lists_online_contacts_first_and_keeps_presence_across_updates() {
        let mut roster = Roster::default();
        let mut zed = Contact::new("zed@localhost");
        zed.name = Some("Zed".into());
        roster.upsert(zed.clone());
        roster.upsert(Contact::new("amy@localhost"));
        roster.upsert(Contact::new("bob@localhost"));
        let away = PresenceView {
            availability: Availability::Away,
            status: None,
        };
        let here = PresenceView {
            availability: Availability::Available,
            status: None,
        };
        roster.presence("zed@localhost", "phone", Some(away.clone()));
        roster.presence("zed@localhost", "desk", Some(here.clone()));
        roster.presence("bob@localhost", "desk", Some(away.clone()));
        roster.presence("stranger@localhost", "x", Some(here));
        let order: Vec<&str> = roster.sorted().iter().map(|c| c.label()).collect();
        assert_eq!(order, ["Zed", "bob@localhost", "amy@localhost"]);
        // A roster push (new name) keeps the presence; a resource leaving lowers it.
        zed.name = Some("Zed B.".into());
        roster.upsert(zed);
        roster.presence("zed@localhost", "desk", None);
        let zed = roster
            .sorted()
            .into_iter()
            .find(|c| c.jid == "zed@localhost")
            .unwrap();
        assert_eq!(zed.presence(), away);
        assert_eq!(zed.label(), "Zed B.");
        roster.remove("bob@localhost");
        assert!(!roster.contains("bob@localhost"));
        assert!(!roster.contains("stranger@localhost"));
    }

    #[test]
    fn subscription_requests_are_listed_once_and_bounded() {
        let mut roster = Roster::default();
        roster.request("a@localhost");
        roster.request("a@localhost");
        roster.request("b@localhost");
        assert_eq!(
            roster.requests().collect::<Vec<_>>(),
            ["a@localhost", "b@localhost"]
        );
        roster.answered("a@localhost");
        assert_eq!(roster.requests().collect::<Vec<_>>(), ["b@localhost"]);
        for n in 0..MAX_REQUESTS + 3 {
            roster.request(&format!("p{n}@localhost"));
        }
        assert_eq!(roster.requests().count(), MAX_REQUESTS);
        assert_eq!(roster.requests().next(), Some("p3@localhost"));
    }

    #[test]
    fn offline_messages_keep_their_own_time() {
        let now = at(0);
        let (when, delayed) = message_time(Some("2026-11-20T08:30:00.123Z"), now);
        assert!(delayed);
        assert_eq!(when, time::macros::datetime!(2026-11-20 08:30:00.123 UTC));
        let (when, delayed) = message_time(None, now);
        assert!(!delayed);
        assert_eq!(when, now);
        // A garbled stamp still marks the message as delayed, at the time it arrived.
        assert_eq!(message_time(Some("yesterday"), now), (now, true));
    }
}
