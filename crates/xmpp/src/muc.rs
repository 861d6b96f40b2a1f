//! XEP-0045: Multi-User Chat — joining (password, history limits), reading occupant
//! presence (roles, affiliations, status codes such as 110 "this is you"), why we left
//! (kicked, banned, room destroyed), subject, private messages, moderation and the owner's
//! configuration form. The room list is the service's XEP-0030 items (`disco`).

use crate::chatstates::{self, ChatState};
use crate::data_form::{self, DataForm};
use crate::error::Error;
use crate::jid;
use crate::stanza::{
    wire_enum, Iq, Message, MessageType, Presence, PresenceType, Show, StanzaError,
};
use crate::xml::Element;

pub use crate::data_form::DATA_FORMS_NS;

pub const MUC_NS: &str = "http://jabber.org/protocol/muc";
pub const MUC_USER_NS: &str = "http://jabber.org/protocol/muc#user";
pub const MUC_ADMIN_NS: &str = "http://jabber.org/protocol/muc#admin";
pub const MUC_OWNER_NS: &str = "http://jabber.org/protocol/muc#owner";
/// The `FORM_TYPE` of the owner configuration form.
pub const ROOMCONFIG_NS: &str = "http://jabber.org/protocol/muc#roomconfig";

/// Status 110: this presence is about ourselves.
pub const STATUS_SELF: u16 = 110;
/// Status 201: the room was created by this join (and may be locked until configured).
pub const STATUS_ROOM_CREATED: u16 = 201;
/// Status 301: banned (affiliation outcast).
pub const STATUS_BANNED: u16 = 301;
/// Status 303: the occupant changed nick; the item carries the new one.
pub const STATUS_NICK_CHANGED: u16 = 303;
/// Status 307: kicked (role none).
pub const STATUS_KICKED: u16 = 307;
/// Status 321: removed because of an affiliation change.
pub const STATUS_AFFILIATION_CHANGED: u16 = 321;
/// Status 322: removed because the room became members-only.
pub const STATUS_MEMBERS_ONLY: u16 = 322;
/// Status 332: removed because the service is shutting down.
pub const STATUS_SHUTDOWN: u16 = 332;

/// How much discussion history the room should replay on join (XEP-0045 §7.2.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// No history at all (`maxstanzas='0'`).
    None,
    /// At most this many messages.
    MaxStanzas(u32),
    /// Messages of the last this many seconds.
    Seconds(u32),
    /// Messages since this XEP-0082 timestamp (e.g. `2026-11-22T00:00:00Z`).
    Since(String),
}

wire_enum!(
    /// Occupant role: privileges within the current visit.
    Role {
        Moderator = "moderator",
        Participant = "participant",
        Visitor = "visitor",
        None = "none",
    }
);

wire_enum!(
    /// Long-lived affiliation with the room.
    Affiliation {
        Owner = "owner",
        Admin = "admin",
        Member = "member",
        Outcast = "outcast",
        None = "none",
    }
);

/// The `<x xmlns='…muc#user'/>` part of an occupant presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MucUser {
    pub role: Role,
    pub affiliation: Affiliation,
    /// The occupant's real JID, when the room lets us see it.
    pub jid: Option<String>,
    /// The new nick, with status 303.
    pub nick: Option<String>,
    pub statuses: Vec<u16>,
    /// Why a moderator acted (`<item><reason/></item>`).
    pub reason: Option<String>,
    /// Who acted (`<item><actor nick='…'/></item>`).
    pub actor: Option<String>,
    /// `<destroy/>`: the room is gone.
    pub destroyed: Option<Destroyed>,
}

/// The room was destroyed (XEP-0045 §10.9): why, and where to go instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destroyed {
    pub reason: Option<String>,
    /// The alternate venue (a room JID) the owner suggested.
    pub alternate: Option<String>,
}

impl MucUser {
    /// Reads the `muc#user` extension of `presence`, if any.
    pub fn from_presence(presence: &Presence) -> Option<MucUser> {
        let x = presence.payload("x", MUC_USER_NS)?;
        let item = x.get_child("item", MUC_USER_NS);
        let item_attr = |name: &str| item.and_then(|item| item.attr(name));
        let destroyed = x
            .get_child("destroy", MUC_USER_NS)
            .map(|destroy| Destroyed {
                reason: destroy.get_child("reason", MUC_USER_NS).map(Element::text),
                alternate: destroy.attr("jid").map(str::to_owned),
            });
        Some(MucUser {
            role: item_attr("role")
                .and_then(Role::from_wire)
                .unwrap_or(Role::None),
            affiliation: item_attr("affiliation")
                .and_then(Affiliation::from_wire)
                .unwrap_or(Affiliation::None),
            jid: item_attr("jid").map(str::to_owned),
            nick: item_attr("nick").map(str::to_owned),
            statuses: x
                .children()
                .filter(|child| child.is("status", MUC_USER_NS))
                .filter_map(|status| status.attr("code")?.parse().ok())
                .collect(),
            reason: item
                .and_then(|item| item.get_child("reason", MUC_USER_NS))
                .map(Element::text),
            actor: item
                .and_then(|item| item.get_child("actor", MUC_USER_NS))
                .and_then(|actor| actor.attr("nick").or(actor.attr("jid")))
                .map(str::to_owned),
            destroyed,
        })
    }

    /// Whether the presence carries status `code`.
    pub fn has_status(&self, code: u16) -> bool {
        self.statuses.contains(&code)
    }

    /// Why an unavailable presence took the occupant out of the room.
    pub fn leave_reason(&self) -> LeaveReason {
        let (reason, actor) = (self.reason.clone(), self.actor.clone());
        if let Some(destroyed) = &self.destroyed {
            LeaveReason::Destroyed(destroyed.clone())
        } else if self.has_status(STATUS_BANNED) {
            LeaveReason::Banned { reason, actor }
        } else if self.has_status(STATUS_KICKED) {
            LeaveReason::Kicked { reason, actor }
        } else if let Some(&status) = self.statuses.iter().find(|code| {
            [
                STATUS_AFFILIATION_CHANGED,
                STATUS_MEMBERS_ONLY,
                STATUS_SHUTDOWN,
            ]
            .contains(code)
        }) {
            LeaveReason::Removed { status }
        } else {
            LeaveReason::Left
        }
    }
}

/// Why we (or another occupant) are out of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaveReason {
    /// A leave we asked for (or the occupant's own).
    Left,
    /// Status 307: a moderator kicked us.
    Kicked {
        reason: Option<String>,
        actor: Option<String>,
    },
    /// Status 301: an admin banned us.
    Banned {
        reason: Option<String>,
        actor: Option<String>,
    },
    /// The owner destroyed the room.
    Destroyed(Destroyed),
    /// Removed by the service: 321 (affiliation change), 322 (members-only), 332 (shutdown).
    Removed { status: u16 },
}

/// An occupant's presence in a room we are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupant {
    pub room: String,
    pub nick: String,
    pub role: Role,
    pub affiliation: Affiliation,
    pub jid: Option<String>,
    /// False when the occupant left.
    pub available: bool,
    /// Away, do not disturb…, from the occupant's presence (`None`: plainly online).
    pub show: Option<Show>,
    /// The occupant's free-text status, as they typed it.
    pub status: Option<String>,
}

/// A message to a room we are in: live, history replayed on join, or caught up from the
/// archive after a reconnection (then `delay` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMessage {
    /// Bare room JID.
    pub room: String,
    /// Sender's nick; empty for messages from the room itself.
    pub nick: String,
    pub id: Option<String>,
    /// XEP-0359 id given by the room's archive (only the room's own stanza-id is trusted).
    pub stanza_id: Option<String>,
    pub origin_id: Option<String>,
    pub body: Option<String>,
    /// XEP-0203 stamp, present on history and archived messages.
    pub delay: Option<String>,
    /// Unknown extensions, e.g. `<event xmlns='urn:vigie:event:1'/>`.
    pub payloads: Vec<Element>,
}

impl RoomMessage {
    /// Reads a groupchat message sent by `room` (or one of its occupants).
    pub fn from_message(message: Message) -> Option<RoomMessage> {
        if message.kind != MessageType::Groupchat {
            return None;
        }
        // The room is the sender's bare JID: cut from the sender's string, not copied.
        let mut room = message.from?;
        let nick = jid::resource(&room).unwrap_or_default().to_owned();
        room.truncate(jid::bare(&room).len());
        let stanza_id = (message.stanza_ids.into_iter())
            .find(|stanza_id| stanza_id.by == room)
            .map(|stanza_id| stanza_id.id);
        Some(RoomMessage {
            stanza_id,
            room,
            nick,
            id: message.id,
            origin_id: message.origin_id,
            body: message.body,
            delay: message.delay.map(|delay| delay.stamp),
            payloads: message.payloads,
        })
    }

    /// The first extension element named `name` in `ns`.
    pub fn payload(&self, name: &str, ns: &str) -> Option<&Element> {
        self.payloads.iter().find(|payload| payload.is(name, ns))
    }

    /// The XEP-0085 chat state the sender attached (e.g. composing), if any.
    pub fn chat_state(&self) -> Option<ChatState> {
        self.payloads.iter().find_map(ChatState::from_element)
    }
}

/// The presence joining `room` as `nick`, with the room's password if it has one.
pub fn join_presence(
    room: &str,
    nick: &str,
    history: &History,
    password: Option<&str>,
) -> Presence {
    let (limit, value) = match history {
        History::None => ("maxstanzas", "0".to_owned()),
        History::MaxStanzas(count) => ("maxstanzas", count.to_string()),
        History::Seconds(seconds) => ("seconds", seconds.to_string()),
        History::Since(stamp) => ("since", stamp.clone()),
    };
    let history = Element::new("history", MUC_NS).with_attr(limit, value);
    let mut x = Element::new("x", MUC_NS).with_child(history);
    if let Some(password) = password {
        x.push_child(Element::new("password", MUC_NS).with_text(password));
    }
    Presence::new(PresenceType::Available)
        .with_to(format!("{room}/{nick}"))
        .with_payload(x)
}

/// The presence leaving `room` where we are `nick`.
pub fn leave_presence(room: &str, nick: &str) -> Presence {
    Presence::new(PresenceType::Unavailable).with_to(format!("{room}/{nick}"))
}

/// A bodiless groupchat message telling `room` our XEP-0085 chat state, hinted not to be
/// stored like its one-to-one twin ([`chatstates::notification`]).
pub fn chat_state_notification(room: &str, state: ChatState) -> Message {
    let mut message = chatstates::notification(state).with_to(room);
    message.kind = MessageType::Groupchat;
    message
}

/// A groupchat message to `room`; `id` doubles as XEP-0359 origin-id so the echo can be
/// recognised even if the room rewrites the message id.
pub fn groupchat(room: &str, id: &str, body: &str, payload: Option<Element>) -> Message {
    let mut message = Message::new(MessageType::Groupchat)
        .with_to(room)
        .with_id(id)
        .with_body(body);
    message.origin_id = Some(id.to_owned());
    message.payloads.extend(payload);
    message
}

/// Changes the room's subject (XEP-0045 §8.1): a groupchat message with a subject and no
/// body.
pub fn set_subject(room: &str, id: &str, subject: &str) -> Message {
    let mut message = Message::new(MessageType::Groupchat)
        .with_to(room)
        .with_id(id);
    message.subject = Some(subject.to_owned());
    message
}

/// A private message to the occupant `nick` of `room` (XEP-0045 §7.5), marked with the
/// `muc#user` extension so servers and clients know it is a MUC private message.
pub fn private_message(room: &str, nick: &str, id: &str, body: &str) -> Message {
    Message::new(MessageType::Chat)
        .with_to(format!("{room}/{nick}"))
        .with_id(id)
        .with_body(body)
        .with_payload(Element::new("x", MUC_USER_NS))
}

/// A `muc#admin` request changing one item (XEP-0045 §8.2 kick, §9.1 ban).
fn admin_item(room: &str, item: Element, reason: Option<&str>) -> Iq {
    let mut item = item;
    if let Some(reason) = reason {
        item.push_child(Element::new("reason", MUC_ADMIN_NS).with_text(reason));
    }
    Iq::set(
        Some(room),
        Element::new("query", MUC_ADMIN_NS).with_child(item),
    )
}

/// Sets the role of occupant `nick`; `Role::None` kicks them (XEP-0045 §8.2).
pub fn set_role(room: &str, nick: &str, role: Role, reason: Option<&str>) -> Iq {
    let item = Element::new("item", MUC_ADMIN_NS)
        .with_attr("nick", nick)
        .with_attr("role", role.as_str());
    admin_item(room, item, reason)
}

/// Sets the affiliation of the bare JID `user`; `Affiliation::Outcast` bans them
/// (XEP-0045 §9.1).
pub fn set_affiliation(
    room: &str,
    user: &str,
    affiliation: Affiliation,
    reason: Option<&str>,
) -> Iq {
    let item = Element::new("item", MUC_ADMIN_NS)
        .with_attr("affiliation", affiliation.as_str())
        .with_attr("jid", user);
    admin_item(room, item, reason)
}

/// Destroys the room (owner only, XEP-0045 §10.9), pointing occupants to `alternate`.
pub fn destroy(room: &str, reason: Option<&str>, alternate: Option<&str>) -> Iq {
    let mut destroy = Element::new("destroy", MUC_OWNER_NS);
    if let Some(alternate) = alternate {
        destroy.set_attr("jid", alternate);
    }
    if let Some(reason) = reason {
        destroy.push_child(Element::new("reason", MUC_OWNER_NS).with_text(reason));
    }
    Iq::set(
        Some(room),
        Element::new("query", MUC_OWNER_NS).with_child(destroy),
    )
}

/// Asks for the owner configuration form (XEP-0045 §10.2).
pub fn config_form_request(room: &str) -> Iq {
    Iq::get(Some(room), Element::new("query", MUC_OWNER_NS))
}

/// Reads the form out of the answer to [`config_form_request`].
pub fn parse_config_form(payload: Option<&Element>) -> Result<DataForm, Error> {
    payload
        .filter(|query| query.is("query", MUC_OWNER_NS))
        .and_then(|query| query.get_child("x", DATA_FORMS_NS))
        .map(DataForm::from_element)
        .ok_or_else(|| Error::Peer("room configuration answered without a form".into()))
}

/// Submits the owner configuration form (XEP-0045 §10.1.3). No fields accepts the defaults,
/// which also unlocks a freshly created "instant room" (§10.1.2). Field names are the
/// `muc#roomconfig_*` vars, values are `"1"`/`"0"` for booleans.
pub fn configure(room: &str, fields: &[(&str, &str)]) -> Iq {
    let form = if fields.is_empty() {
        Element::new("x", DATA_FORMS_NS).with_attr("type", "submit")
    } else {
        data_form::submit(ROOMCONFIG_NS, fields.iter().copied())
    };
    Iq::set(
        Some(room),
        Element::new("query", MUC_OWNER_NS).with_child(form),
    )
}

/// What a presence from a room means to the room's member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomPresence {
    /// Our own presence (status 110): joined, changed, or left (`available == false`).
    SelfPresence {
        occupant: Occupant,
        created: bool,
        /// Set when unavailable: why we are out, or `None` for a nick change (303).
        left: Option<LeaveReason>,
        /// Status 303: our new nick (we stay in the room).
        new_nick: Option<String>,
    },
    Occupant(Occupant),
    /// The room refused us (nick conflict, banned, members-only…).
    Error(StanzaError),
}

/// Interprets a presence whose sender is in `room`; `None` if it is not MUC presence.
pub fn classify_presence(presence: &Presence, our_nick: &str) -> Option<RoomPresence> {
    let from = presence.from.as_deref()?;
    if presence.kind == PresenceType::Error {
        return presence.error.clone().map(RoomPresence::Error);
    }
    let user = MucUser::from_presence(presence)?;
    let nick = jid::resource(from)?;
    let available = presence.kind != PresenceType::Unavailable;
    let occupant = Occupant {
        room: jid::bare(from).to_owned(),
        nick: nick.to_owned(),
        role: user.role,
        affiliation: user.affiliation,
        jid: user.jid.clone(),
        available,
        show: presence.show,
        status: presence.status.clone(),
    };
    // Old servers omit 110; the nick we asked for is the fallback (XEP-0045 §7.2.3).
    if user.has_status(STATUS_SELF) || nick == our_nick {
        let new_nick = user
            .nick
            .clone()
            .filter(|_| !available && user.has_status(STATUS_NICK_CHANGED));
        Some(RoomPresence::SelfPresence {
            left: (!available && new_nick.is_none()).then(|| user.leave_reason()),
            new_nick,
            occupant,
            created: user.has_status(STATUS_ROOM_CREATED),
        })
    } else {
        Some(RoomPresence::Occupant(occupant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn presence(xml: &str) -> Presence {
        Presence::from_element(&Element::parse(xml, &Limits::default()).unwrap()).unwrap()
    }

    #[test]
    fn join_presence_with_each_history_limit() {
        assert_eq!(
            join_presence(
                "accidents@rooms.localhost",
                "gw",
                &History::MaxStanzas(20),
                None
            )
            .to_element()
            .to_xml(),
            "<presence xmlns='jabber:client' to='accidents@rooms.localhost/gw'>\
             <x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='20'/></x></presence>"
        );
        let none = join_presence("r@s", "n", &History::None, None).to_element();
        assert!(none.to_xml().contains("maxstanzas='0'"));
        let since = join_presence(
            "r@s",
            "n",
            &History::Since("2026-11-22T00:00:00Z".into()),
            None,
        )
        .to_element();
        assert!(since.to_xml().contains("since='2026-11-22T00:00:00Z'"));
        let seconds = join_presence("r@s", "n", &History::Seconds(600), Some("s3cr<t"));
        assert_eq!(
            seconds.to_element().to_xml(),
            "<presence xmlns='jabber:client' to='r@s/n'><x xmlns='http://jabber.org/protocol/muc'>\
             <history seconds='600'/><password>s3cr&lt;t</password></x></presence>"
        );
    }

    #[test]
    fn prosody_self_presence_after_creating_a_room() {
        let own = presence(
            "<presence xmlns='jabber:client' from='ops@rooms.localhost/gw' to='gateway@localhost/gw'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><status code='201'/>\
             <item jid='gateway@localhost/gw' affiliation='owner' role='moderator'/><status code='110'/></x></presence>",
        );
        let Some(RoomPresence::SelfPresence {
            occupant,
            created,
            left: None,
            new_nick: None,
        }) = classify_presence(&own, "gw")
        else {
            panic!("expected our own presence");
        };
        assert!(created);
        assert_eq!(
            (occupant.role, occupant.affiliation),
            (Role::Moderator, Affiliation::Owner)
        );
        assert_eq!(
            (occupant.room.as_str(), occupant.nick.as_str()),
            ("ops@rooms.localhost", "gw")
        );
    }

    #[test]
    fn other_occupants_and_errors() {
        let other = presence(
            "<presence xmlns='jabber:client' from='ops@rooms.localhost/viewer' type='unavailable'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'/></x></presence>",
        );
        let Some(RoomPresence::Occupant(occupant)) = classify_presence(&other, "gw") else {
            panic!("expected another occupant");
        };
        assert!(!occupant.available);
        assert_eq!(occupant.nick, "viewer");
        let conflict = presence(
            "<presence xmlns='jabber:client' from='ops@rooms.localhost/gw' type='error'>\
             <error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
        );
        assert!(
            matches!(classify_presence(&conflict, "gw"), Some(RoomPresence::Error(e)) if e.condition == "conflict")
        );
        let plain = presence("<presence xmlns='jabber:client' from='u@localhost/r'/>");
        assert_eq!(classify_presence(&plain, "gw"), None);
    }

    #[test]
    fn groupchat_and_room_message() {
        let event = Element::new("event", "urn:vigie:event:1").with_attr("id", "01J");
        let message = groupchat("ops@rooms.localhost", "m1", "hello", Some(event.clone()));
        assert_eq!(message.origin_id.as_deref(), Some("m1"));
        let mut echoed = message.clone();
        echoed.from = Some("ops@rooms.localhost/gw".into());
        echoed.stanza_ids.push(crate::stanza::StanzaId {
            id: "arch1".into(),
            by: "ops@rooms.localhost".into(),
        });
        let room_message = RoomMessage::from_message(echoed).unwrap();
        assert_eq!(room_message.nick, "gw");
        assert_eq!(room_message.stanza_id.as_deref(), Some("arch1"));
        assert_eq!(
            room_message.payload("event", "urn:vigie:event:1"),
            Some(&event)
        );
        assert_eq!(
            RoomMessage::from_message(Message::new(MessageType::Chat)),
            None
        );
    }

    #[test]
    fn configuration_form() {
        let instant = configure("ops@rooms.localhost", &[]).to_element().to_xml();
        assert_eq!(
            instant,
            "<iq xmlns='jabber:client' to='ops@rooms.localhost' id='' type='set'>\
             <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"
        );
        let moderated = configure(
            "ops@rooms.localhost",
            &[("muc#roomconfig_moderatedroom", "1")],
        );
        let form = moderated
            .payload
            .unwrap()
            .children()
            .next()
            .unwrap()
            .clone();
        let vars: Vec<&str> = form
            .children()
            .filter_map(|field| field.attr("var"))
            .collect();
        assert_eq!(vars, ["FORM_TYPE", "muc#roomconfig_moderatedroom"]);
    }

    #[test]
    fn why_we_left() {
        let out = |statuses: &str, item_extra: &str, x_extra: &str| {
            let own = presence(&format!(
                "<presence xmlns='jabber:client' from='ops@rooms.localhost/gw' type='unavailable'>\
                 <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'{item_extra}\
                 {statuses}{x_extra}</x></presence>"
            ));
            match classify_presence(&own, "gw") {
                Some(RoomPresence::SelfPresence { left, new_nick, .. }) => (left, new_nick),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            out("<status code='110'/>", "/>", ""),
            (Some(LeaveReason::Left), None)
        );
        assert_eq!(
            out(
                "<status code='307'/><status code='110'/>",
                "><actor nick='boss'/><reason>spam &amp; eggs</reason></item>",
                ""
            ),
            (
                Some(LeaveReason::Kicked {
                    reason: Some("spam & eggs".into()),
                    actor: Some("boss".into())
                }),
                None
            )
        );
        assert!(matches!(
            out("<status code='301'/>", "/>", "").0,
            Some(LeaveReason::Banned { reason: None, .. })
        ));
        assert_eq!(
            out(
                "",
                "/>",
                "<destroy jid='new@rooms.localhost'><reason>moved</reason></destroy>"
            )
            .0,
            Some(LeaveReason::Destroyed(Destroyed {
                reason: Some("moved".into()),
                alternate: Some("new@rooms.localhost".into())
            }))
        );
        assert_eq!(
            out("<status code='332'/>", "/>", "").0,
            Some(LeaveReason::Removed { status: 332 })
        );
        assert_eq!(
            out(
                "<status code='303'/><status code='110'/>",
                " nick='gw2'/>",
                ""
            ),
            (None, Some("gw2".into()))
        );
    }

    #[test]
    fn subject_private_message_and_moderation() {
        assert_eq!(
            set_subject("ops@rooms.localhost", "s1", "Today: A7")
                .to_element()
                .to_xml(),
            "<message xmlns='jabber:client' to='ops@rooms.localhost' id='s1' type='groupchat'>\
             <subject>Today: A7</subject></message>"
        );
        assert_eq!(
            private_message("ops@rooms.localhost", "viewer", "p1", "hi")
                .to_element()
                .to_xml(),
            "<message xmlns='jabber:client' to='ops@rooms.localhost/viewer' id='p1' type='chat'>\
             <body>hi</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>"
        );
        assert_eq!(
            set_role("ops@rooms.localhost", "troll", Role::None, Some("bye"))
                .to_element()
                .to_xml(),
            "<iq xmlns='jabber:client' to='ops@rooms.localhost' id='' type='set'>\
             <query xmlns='http://jabber.org/protocol/muc#admin'><item nick='troll' role='none'>\
             <reason>bye</reason></item></query></iq>"
        );
        assert_eq!(
            set_affiliation(
                "ops@rooms.localhost",
                "troll@localhost",
                Affiliation::Outcast,
                None
            )
            .to_element()
            .to_xml(),
            "<iq xmlns='jabber:client' to='ops@rooms.localhost' id='' type='set'>\
             <query xmlns='http://jabber.org/protocol/muc#admin'>\
             <item affiliation='outcast' jid='troll@localhost'/></query></iq>"
        );
        assert_eq!(
            destroy("ops@rooms.localhost", Some("moved"), Some("new@rooms.localhost"))
                .to_element()
                .to_xml(),
            "<iq xmlns='jabber:client' to='ops@rooms.localhost' id='' type='set'>\
             <query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='new@rooms.localhost'>\
             <reason>moved</reason></destroy></query></iq>"
        );
    }

    #[test]
    fn configuration_form_answers() {
        let owner = Element::parse(
            "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='form'>\
             <field var='muc#roomconfig_roomname' type='text-single'><value>Ops</value></field></x></query>",
            &Limits::default(),
        )
        .unwrap();
        let form = parse_config_form(Some(&owner)).unwrap();
        assert_eq!(
            form.field("muc#roomconfig_roomname").unwrap().values,
            ["Ops"]
        );
        let items = Element::new("query", "http://jabber.org/protocol/disco#items");
        assert!(matches!(
            parse_config_form(Some(&items)),
            Err(Error::Peer(_))
        ));
        assert!(matches!(parse_config_form(None), Err(Error::Peer(_))));
    }

    #[test]
    fn occupant_show_and_status_follow_their_presence() {
        // XEP-0045 example 24's shape, with RFC 6121 show and status.
        let away = presence(
            "<presence xmlns='jabber:client' from='ops@rooms.localhost/viewer' to='gw@localhost/gw'>\
             <show>away</show><status>On site &lt;A7&gt;</status>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>",
        );
        let Some(RoomPresence::Occupant(occupant)) = classify_presence(&away, "gw") else {
            panic!("expected another occupant");
        };
        assert_eq!(occupant.show, Some(Show::Away));
        assert_eq!(occupant.status.as_deref(), Some("On site <A7>"));
        let back = presence(
            "<presence xmlns='jabber:client' from='ops@rooms.localhost/viewer'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'/></x></presence>",
        );
        let Some(RoomPresence::Occupant(occupant)) = classify_presence(&back, "gw") else {
            panic!("expected another occupant");
        };
        assert_eq!((occupant.show, occupant.status), (None, None));
    }

    #[test]
    fn room_chat_states() {
        assert_eq!(
            chat_state_notification("ops@rooms.localhost", ChatState::Composing)
                .to_element()
                .to_xml(),
            "<message xmlns='jabber:client' to='ops@rooms.localhost' type='groupchat'>\
             <composing xmlns='http://jabber.org/protocol/chatstates'/>\
             <no-store xmlns='urn:xmpp:hints'/></message>"
        );
        let parse = |xml: &str| {
            let element = Element::parse(xml, &Limits::default()).unwrap();
            RoomMessage::from_message(Message::from_element(&element).unwrap()).unwrap()
        };
        let typing = parse(
            "<message xmlns='jabber:client' from='ops@rooms.localhost/viewer' type='groupchat'>\
             <paused xmlns='http://jabber.org/protocol/chatstates'/></message>",
        );
        assert_eq!(
            (
                typing.nick.as_str(),
                typing.body.as_deref(),
                typing.chat_state()
            ),
            ("viewer", None, Some(ChatState::Paused))
        );
        let said = parse(
            "<message xmlns='jabber:client' from='ops@rooms.localhost/viewer' type='groupchat'>\
             <body>on my way</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
        );
        assert_eq!(said.chat_state(), Some(ChatState::Active));
        assert_eq!(said.body.as_deref(), Some("on my way"));
    }
}
