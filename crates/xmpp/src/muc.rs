//! XEP-0045: Multi-User Chat — joining with a history limit, reading occupant presence
//! (roles, affiliations, status codes such as 110 "this is you"), leaving, configuring.

use crate::jid;
use crate::stanza::{wire_enum, Iq, Message, MessageType, Presence, PresenceType, StanzaError};
use crate::xml::Element;

pub const MUC_NS: &str = "http://jabber.org/protocol/muc";
pub const MUC_USER_NS: &str = "http://jabber.org/protocol/muc#user";
pub const MUC_OWNER_NS: &str = "http://jabber.org/protocol/muc#owner";
pub const DATA_FORMS_NS: &str = "jabber:x:data";

/// Status 110: this presence is about ourselves.
pub const STATUS_SELF: u16 = 110;
/// Status 201: the room was created by this join (and may be locked until configured).
pub const STATUS_ROOM_CREATED: u16 = 201;

/// How much discussion history the room should replay on join (XEP-0045 §7.2.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// No history at all (`maxstanzas='0'`).
    None,
    /// At most this many messages.
    MaxStanzas(u32),
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
    pub statuses: Vec<u16>,
}

impl MucUser {
    pub fn from_presence(presence: &Presence) -> Option<MucUser> {
        let x = presence.payload("x", MUC_USER_NS)?;
        let item = x.get_child("item", MUC_USER_NS);
        let item_attr = |name: &str| item.and_then(|item| item.attr(name));
        Some(MucUser {
            role: item_attr("role")
                .and_then(Role::from_wire)
                .unwrap_or(Role::None),
            affiliation: item_attr("affiliation")
                .and_then(Affiliation::from_wire)
                .unwrap_or(Affiliation::None),
            jid: item_attr("jid").map(str::to_owned),
            statuses: x
                .children()
                .filter(|child| child.is("status", MUC_USER_NS))
                .filter_map(|status| status.attr("code")?.parse().ok())
                .collect(),
        })
    }

    pub fn has_status(&self, code: u16) -> bool {
        self.statuses.contains(&code)
    }
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
}

/// A message to a room we are in: live, or history replayed on join (then `delay` is set).
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
    /// XEP-0203 stamp, present on history.
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
        let from = message.from.as_deref()?;
        let room = jid::bare(from).to_owned();
        let nick = jid::resource(from).unwrap_or_default().to_owned();
        Some(RoomMessage {
            stanza_id: message.stanza_id_by(&room).map(str::to_owned),
            room,
            nick,
            id: message.id,
            origin_id: message.origin_id,
            body: message.body,
            delay: message.delay.map(|delay| delay.stamp),
            payloads: message.payloads,
        })
    }

    pub fn payload(&self, name: &str, ns: &str) -> Option<&Element> {
        self.payloads.iter().find(|payload| payload.is(name, ns))
    }
}

/// The presence joining `room` as `nick`.
pub fn join_presence(room: &str, nick: &str, history: &History) -> Presence {
    let history = match history {
        History::None => Element::new("history", MUC_NS).with_attr("maxstanzas", "0"),
        History::MaxStanzas(count) => {
            Element::new("history", MUC_NS).with_attr("maxstanzas", count.to_string())
        }
        History::Since(stamp) => Element::new("history", MUC_NS).with_attr("since", stamp.clone()),
    };
    Presence::new(PresenceType::Available)
        .with_to(format!("{room}/{nick}"))
        .with_payload(Element::new("x", MUC_NS).with_child(history))
}

/// The presence leaving `room` where we are `nick`.
pub fn leave_presence(room: &str, nick: &str) -> Presence {
    Presence::new(PresenceType::Unavailable).with_to(format!("{room}/{nick}"))
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

/// Submits the owner configuration form (XEP-0045 §10.1.3). No fields accepts the defaults,
/// which also unlocks a freshly created "instant room" (§10.1.2). Field names are the
/// `muc#roomconfig_*` vars, values are `"1"`/`"0"` for booleans.
pub fn configure(room: &str, fields: &[(&str, &str)]) -> Iq {
    let field = |var: &str, value: &str| {
        Element::new("field", DATA_FORMS_NS)
            .with_attr("var", var)
            .with_child(Element::new("value", DATA_FORMS_NS).with_text(value))
    };
    let mut form = Element::new("x", DATA_FORMS_NS).with_attr("type", "submit");
    if !fields.is_empty() {
        form.push_child(
            field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig")
                .with_attr("type", "hidden"),
        );
        for (var, value) in fields {
            form.push_child(field(var, value));
        }
    }
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
    let occupant = Occupant {
        room: jid::bare(from).to_owned(),
        nick: nick.to_owned(),
        role: user.role,
        affiliation: user.affiliation,
        jid: user.jid.clone(),
        available: presence.kind != PresenceType::Unavailable,
    };
    // Old servers omit 110; the nick we asked for is the fallback (XEP-0045 §7.2.3).
    if user.has_status(STATUS_SELF) || nick == our_nick {
        Some(RoomPresence::SelfPresence {
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
            join_presence("accidents@rooms.localhost", "gw", &History::MaxStanzas(20))
                .to_element()
                .to_xml(),
            "<presence xmlns='jabber:client' to='accidents@rooms.localhost/gw'>\
             <x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='20'/></x></presence>"
        );
        let none = join_presence("r@s", "n", &History::None).to_element();
        assert!(none.to_xml().contains("maxstanzas='0'"));
        let since =
            join_presence("r@s", "n", &History::Since("2026-11-22T00:00:00Z".into())).to_element();
        assert!(since.to_xml().contains("since='2026-11-22T00:00:00Z'"));
    }

    #[test]
    fn prosody_self_presence_after_creating_a_room() {
        let own = presence(
            "<presence xmlns='jabber:client' from='ops@rooms.localhost/gw' to='gateway@localhost/gw'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><status code='201'/>\
             <item jid='gateway@localhost/gw' affiliation='owner' role='moderator'/><status code='110'/></x></presence>",
        );
        let Some(RoomPresence::SelfPresence { occupant, created }) = classify_presence(&own, "gw")
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
}
