//! RFC 6120 §8 stanzas (`<message/>`, `<presence/>`, `<iq/>`) and their errors, with the
//! small extensions every message may carry: XEP-0359 stanza-id / origin-id and XEP-0203 delay.
//!
//! Parsing is strict about the stanza itself and keeps unknown extensions as `payloads`.

use std::borrow::Cow;
use std::fmt;

use crate::xml::Element;

pub const CLIENT_NS: &str = "jabber:client";
pub const STANZA_ERROR_NS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// XEP-0359: Unique and Stable Stanza IDs.
pub const SID_NS: &str = "urn:xmpp:sid:0";
/// XEP-0203: Delayed Delivery.
pub const DELAY_NS: &str = "urn:xmpp:delay";

/// Why an element is not a valid stanza.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StanzaParseError {
    #[error("expected <{expected}/> in jabber:client, got <{got}/>")]
    WrongElement { expected: &'static str, got: String },
    #[error("<{element}/> lacks required attribute `{attribute}`")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    #[error("<{element}/> has invalid {attribute}=`{value}`")]
    InvalidAttribute {
        element: &'static str,
        attribute: &'static str,
        value: String,
    },
    #[error("<{0}/> of type error lacks its <error/> child")]
    MissingError(&'static str),
}

/// Declares a closed set of attribute values with their wire names.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }

            pub fn from_wire(value: &str) -> Option<$name> {
                match value { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// RFC 6121 §5.2.2 message types.
    MessageType {
        Chat = "chat",
        Normal = "normal",
        Headline = "headline",
        Groupchat = "groupchat",
        Error = "error",
    }
);

wire_enum!(
    /// RFC 6121 §4.7.1 presence types; `Available` is the absent attribute.
    PresenceType {
        Available = "available",
        Unavailable = "unavailable",
        Subscribe = "subscribe",
        Subscribed = "subscribed",
        Unsubscribe = "unsubscribe",
        Unsubscribed = "unsubscribed",
        Probe = "probe",
        Error = "error",
    }
);

wire_enum!(
    /// RFC 6121 §4.7.2.1 availability sub-states.
    Show {
        Away = "away",
        Chat = "chat",
        Dnd = "dnd",
        Xa = "xa",
    }
);

wire_enum!(
    /// RFC 6120 §8.2.3 IQ types.
    IqType {
        Get = "get",
        Set = "set",
        Result = "result",
        Error = "error",
    }
);

wire_enum!(
    /// RFC 6120 §8.3.2 error types: what the sender may do next.
    ErrorType {
        Auth = "auth",
        Cancel = "cancel",
        Continue = "continue",
        Modify = "modify",
        Wait = "wait",
    }
);

/// RFC 6120 §8.3 stanza error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    pub kind: ErrorType,
    /// The defined condition's element name, e.g. `conflict`, `forbidden`, `item-not-found`.
    pub condition: String,
    pub text: Option<String>,
    pub by: Option<String>,
}

impl StanzaError {
    pub fn new(kind: ErrorType, condition: &str) -> StanzaError {
        StanzaError {
            kind,
            condition: condition.to_owned(),
            text: None,
            by: None,
        }
    }

    /// Reads an `<error/>` element; a missing or unknown type counts as `cancel`.
    pub fn from_element(error: &Element) -> StanzaError {
        let kind = error
            .attr("type")
            .and_then(ErrorType::from_wire)
            .unwrap_or(ErrorType::Cancel);
        let condition = error
            .children()
            .find(|child| child.ns() == STANZA_ERROR_NS && child.name() != "text")
            .map_or("undefined-condition", Element::name)
            .to_owned();
        StanzaError {
            kind,
            condition,
            text: error.get_child("text", STANZA_ERROR_NS).map(Element::text),
            by: error.attr("by").map(str::to_owned),
        }
    }

    pub fn to_element(&self) -> Element {
        let mut error = Element::new("error", CLIENT_NS)
            .with_attr("type", self.kind.as_str())
            .with_child(Element::new(&self.condition, STANZA_ERROR_NS));
        if let Some(by) = &self.by {
            error.set_attr("by", by.clone());
        }
        if let Some(text) = &self.text {
            error.push_child(Element::new("text", STANZA_ERROR_NS).with_text(text.clone()));
        }
        error
    }
}

impl fmt::Display for StanzaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stanza error {} ({})", self.condition, self.kind)?;
        if let Some(text) = &self.text {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StanzaError {}

/// XEP-0359 `<stanza-id/>`: the id an archiving entity (`by`) gave this stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaId {
    pub id: String,
    pub by: String,
}

/// XEP-0203 `<delay/>`: when the stanza was originally sent (history, offline storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delay {
    /// XEP-0082 timestamp, e.g. `2026-11-22T01:02:03Z`, kept as received.
    pub stamp: String,
    pub from: Option<String>,
}

/// A `<message/>` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub from: Option<String>,
    pub to: Option<String>,
    pub id: Option<String>,
    pub kind: MessageType,
    pub body: Option<String>,
    pub subject: Option<String>,
    pub stanza_ids: Vec<StanzaId>,
    pub origin_id: Option<String>,
    pub delay: Option<Delay>,
    pub error: Option<StanzaError>,
    /// Every other child element, unchanged.
    pub payloads: Vec<Element>,
}

impl Message {
    pub fn new(kind: MessageType) -> Message {
        Message {
            from: None,
            to: None,
            id: None,
            kind,
            body: None,
            subject: None,
            stanza_ids: Vec::new(),
            origin_id: None,
            delay: None,
            error: None,
            payloads: Vec::new(),
        }
    }

    pub fn with_to(mut self, to: impl Into<String>) -> Message {
        self.to = Some(to.into());
        self
    }

    pub fn with_id(mut self, id: impl Into<String>) -> Message {
        self.id = Some(id.into());
        self
    }

    pub fn with_body(mut self, body: impl Into<String>) -> Message {
        self.body = Some(body.into());
        self
    }

    pub fn with_payload(mut self, payload: Element) -> Message {
        self.payloads.push(payload);
        self
    }

    /// The stanza-id assigned by `by` (XEP-0359 says to trust only the expected archiver's).
    pub fn stanza_id_by(&self, by: &str) -> Option<&str> {
        self.stanza_ids
            .iter()
            .find(|stanza_id| stanza_id.by == by)
            .map(|stanza_id| stanza_id.id.as_str())
    }

    pub fn from_element(element: &Element) -> Result<Message, StanzaParseError> {
        let mut message = Message::read_stanza(element)?;
        for child in element.children() {
            message.read_child(Cow::Borrowed(child))?;
        }
        message.finish()
    }

    /// [`from_element`](Self::from_element), moving the payloads and texts out of `element`
    /// instead of copying them (how the client reads what it receives).
    pub fn from_owned_element(element: Element) -> Result<Message, StanzaParseError> {
        let mut message = Message::read_stanza(&element)?;
        for child in element.into_children() {
            message.read_child(Cow::Owned(child))?;
        }
        message.finish()
    }

    /// The `<message/>` element's own attributes.
    fn read_stanza(element: &Element) -> Result<Message, StanzaParseError> {
        expect_stanza(element, "message")?;
        let kind = match element.attr("type") {
            None => MessageType::Normal,
            Some(value) => {
                MessageType::from_wire(value).ok_or_else(|| invalid("message", "type", value))?
            }
        };
        let mut message = Message::new(kind);
        message.from = element.attr("from").map(str::to_owned);
        message.to = element.attr("to").map(str::to_owned);
        message.id = element.attr("id").map(str::to_owned);
        Ok(message)
    }

    fn read_child(&mut self, child: Cow<'_, Element>) -> Result<(), StanzaParseError> {
        let text = |child: Cow<'_, Element>| match child {
            Cow::Borrowed(child) => child.text(),
            Cow::Owned(child) => child.into_text(),
        };
        match (child.ns(), child.name()) {
            (CLIENT_NS, "body") if self.body.is_none() => self.body = Some(text(child)),
            (CLIENT_NS, "subject") if self.subject.is_none() => self.subject = Some(text(child)),
            (CLIENT_NS, "error") => self.error = Some(StanzaError::from_element(&child)),
            (SID_NS, "stanza-id") => match (child.attr("id"), child.attr("by")) {
                (Some(id), Some(by)) => self.stanza_ids.push(StanzaId {
                    id: id.to_owned(),
                    by: by.to_owned(),
                }),
                _ => return Err(missing("stanza-id", "id")),
            },
            (SID_NS, "origin-id") => {
                self.origin_id = Some(
                    child
                        .attr("id")
                        .ok_or_else(|| missing("origin-id", "id"))?
                        .to_owned(),
                );
            }
            (DELAY_NS, "delay") => {
                self.delay = Some(Delay {
                    stamp: child
                        .attr("stamp")
                        .ok_or_else(|| missing("delay", "stamp"))?
                        .to_owned(),
                    from: child.attr("from").map(str::to_owned),
                });
            }
            _ => self.payloads.push(child.into_owned()),
        }
        Ok(())
    }

    fn finish(self) -> Result<Message, StanzaParseError> {
        if self.kind == MessageType::Error && self.error.is_none() {
            return Err(StanzaParseError::MissingError("message"));
        }
        Ok(self)
    }

    pub fn to_element(&self) -> Element {
        let mut element = stanza_element("message", &self.from, &self.to, self.id.as_deref());
        if self.kind != MessageType::Normal {
            element.set_attr("type", self.kind.as_str());
        }
        if let Some(subject) = &self.subject {
            element.push_child(Element::new("subject", CLIENT_NS).with_text(subject.clone()));
        }
        if let Some(body) = &self.body {
            element.push_child(Element::new("body", CLIENT_NS).with_text(body.clone()));
        }
        for payload in &self.payloads {
            element.push_child(payload.clone());
        }
        for stanza_id in &self.stanza_ids {
            element.push_child(
                Element::new("stanza-id", SID_NS)
                    .with_attr("id", stanza_id.id.clone())
                    .with_attr("by", stanza_id.by.clone()),
            );
        }
        if let Some(origin_id) = &self.origin_id {
            element
                .push_child(Element::new("origin-id", SID_NS).with_attr("id", origin_id.clone()));
        }
        if let Some(delay) = &self.delay {
            let mut child = Element::new("delay", DELAY_NS).with_attr("stamp", delay.stamp.clone());
            if let Some(from) = &delay.from {
                child.set_attr("from", from.clone());
            }
            element.push_child(child);
        }
        if let Some(error) = &self.error {
            element.push_child(error.to_element());
        }
        element
    }
}

/// A `<presence/>` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub from: Option<String>,
    pub to: Option<String>,
    pub id: Option<String>,
    pub kind: PresenceType,
    pub show: Option<Show>,
    pub status: Option<String>,
    pub priority: i8,
    pub error: Option<StanzaError>,
    /// Every other child element (MUC `<x/>`, capabilities…), unchanged.
    pub payloads: Vec<Element>,
}

impl Presence {
    pub fn new(kind: PresenceType) -> Presence {
        Presence {
            from: None,
            to: None,
            id: None,
            kind,
            show: None,
            status: None,
            priority: 0,
            error: None,
            payloads: Vec::new(),
        }
    }

    pub fn with_to(mut self, to: impl Into<String>) -> Presence {
        self.to = Some(to.into());
        self
    }

    pub fn with_status(mut self, status: impl Into<String>) -> Presence {
        self.status = Some(status.into());
        self
    }

    /// The same presence with an availability sub-state (RFC 6121 §4.7.2.1).
    pub fn with_show(mut self, show: Show) -> Presence {
        self.show = Some(show);
        self
    }

    /// The same presence with a priority (RFC 6121 §4.7.2.3; negative: never receive
    /// messages sent to the bare JID).
    pub fn with_priority(mut self, priority: i8) -> Presence {
        self.priority = priority;
        self
    }

    pub fn with_payload(mut self, payload: Element) -> Presence {
        self.payloads.push(payload);
        self
    }

    pub fn payload(&self, name: &str, ns: &str) -> Option<&Element> {
        self.payloads.iter().find(|payload| payload.is(name, ns))
    }

    pub fn from_element(element: &Element) -> Result<Presence, StanzaParseError> {
        expect_stanza(element, "presence")?;
        let kind = match element.attr("type") {
            None => PresenceType::Available,
            Some("available") => return Err(invalid("presence", "type", "available")),
            Some(value) => {
                PresenceType::from_wire(value).ok_or_else(|| invalid("presence", "type", value))?
            }
        };
        let mut presence = Presence::new(kind);
        presence.from = element.attr("from").map(str::to_owned);
        presence.to = element.attr("to").map(str::to_owned);
        presence.id = element.attr("id").map(str::to_owned);
        for child in element.children() {
            match (child.ns(), child.name()) {
                (CLIENT_NS, "show") => {
                    let value = child.text();
                    presence.show = Some(
                        Show::from_wire(&value)
                            .ok_or_else(|| invalid("presence", "show", &value))?,
                    );
                }
                (CLIENT_NS, "status") if presence.status.is_none() => {
                    presence.status = Some(child.text())
                }
                (CLIENT_NS, "priority") => {
                    let value = child.text();
                    presence.priority = value
                        .trim()
                        .parse()
                        .map_err(|_| invalid("presence", "priority", &value))?;
                }
                (CLIENT_NS, "error") => presence.error = Some(StanzaError::from_element(child)),
                _ => presence.payloads.push(child.clone()),
            }
        }
        if kind == PresenceType::Error && presence.error.is_none() {
            return Err(StanzaParseError::MissingError("presence"));
        }
        Ok(presence)
    }

    pub fn to_element(&self) -> Element {
        let mut element = stanza_element("presence", &self.from, &self.to, self.id.as_deref());
        if self.kind != PresenceType::Available {
            element.set_attr("type", self.kind.as_str());
        }
        if let Some(show) = self.show {
            element.push_child(Element::new("show", CLIENT_NS).with_text(show.as_str()));
        }
        if let Some(status) = &self.status {
            element.push_child(Element::new("status", CLIENT_NS).with_text(status.clone()));
        }
        if self.priority != 0 {
            element.push_child(
                Element::new("priority", CLIENT_NS).with_text(self.priority.to_string()),
            );
        }
        for payload in &self.payloads {
            element.push_child(payload.clone());
        }
        if let Some(error) = &self.error {
            element.push_child(error.to_element());
        }
        element
    }
}

/// An `<iq/>` stanza: a request (get/set) carrying one payload, or its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iq {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Empty on outgoing requests lets the client pick a fresh id.
    pub id: String,
    pub kind: IqType,
    pub payload: Option<Element>,
    pub error: Option<StanzaError>,
}

impl Iq {
    fn new(kind: IqType, to: Option<&str>, payload: Option<Element>) -> Iq {
        Iq {
            from: None,
            to: to.map(str::to_owned),
            id: String::new(),
            kind,
            payload,
            error: None,
        }
    }

    /// A get request; `to: None` addresses our own account / server.
    pub fn get(to: Option<&str>, payload: Element) -> Iq {
        Iq::new(IqType::Get, to, Some(payload))
    }

    pub fn set(to: Option<&str>, payload: Element) -> Iq {
        Iq::new(IqType::Set, to, Some(payload))
    }

    /// The result answering `request`.
    pub fn result_for(request: &Iq, payload: Option<Element>) -> Iq {
        Iq {
            id: request.id.clone(),
            ..Iq::new(IqType::Result, request.from.as_deref(), payload)
        }
    }

    /// The error answering `request`.
    pub fn error_for(request: &Iq, error: StanzaError) -> Iq {
        Iq {
            id: request.id.clone(),
            error: Some(error),
            ..Iq::new(IqType::Error, request.from.as_deref(), None)
        }
    }

    pub fn from_element(element: &Element) -> Result<Iq, StanzaParseError> {
        expect_stanza(element, "iq")?;
        let id = element.attr("id").ok_or_else(|| missing("iq", "id"))?;
        let kind = element.attr("type").ok_or_else(|| missing("iq", "type"))?;
        let kind = IqType::from_wire(kind).ok_or_else(|| invalid("iq", "type", kind))?;
        let mut error = None;
        let mut payload = None;
        for child in element.children() {
            if kind == IqType::Error && child.is("error", CLIENT_NS) {
                error = Some(StanzaError::from_element(child));
            } else if payload.is_none() {
                payload = Some(child.clone());
            }
        }
        if matches!(kind, IqType::Get | IqType::Set) && payload.is_none() {
            return Err(missing("iq", "payload"));
        }
        if kind == IqType::Error && error.is_none() {
            return Err(StanzaParseError::MissingError("iq"));
        }
        Ok(Iq {
            from: element.attr("from").map(str::to_owned),
            to: element.attr("to").map(str::to_owned),
            id: id.to_owned(),
            kind,
            payload,
            error,
        })
    }

    pub fn to_element(&self) -> Element {
        let mut element = stanza_element("iq", &self.from, &self.to, Some(&self.id))
            .with_attr("type", self.kind.as_str());
        if let Some(payload) = &self.payload {
            element.push_child(payload.clone());
        }
        if let Some(error) = &self.error {
            element.push_child(error.to_element());
        }
        element
    }
}

/// Any stanza, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stanza {
    Message(Message),
    Presence(Presence),
    Iq(Iq),
}

impl Stanza {
    /// `Ok(None)` for top-level elements that are not stanzas (features, SASL, stream errors).
    pub fn from_element(element: &Element) -> Result<Option<Stanza>, StanzaParseError> {
        if element.ns() != CLIENT_NS {
            return Ok(None);
        }
        Ok(Some(match element.name() {
            "message" => Stanza::Message(Message::from_element(element)?),
            "presence" => Stanza::Presence(Presence::from_element(element)?),
            "iq" => Stanza::Iq(Iq::from_element(element)?),
            _ => return Ok(None),
        }))
    }

    /// [`from_element`](Self::from_element), moving a message's content out of `element`.
    pub fn from_owned_element(element: Element) -> Result<Option<Stanza>, StanzaParseError> {
        if element.is("message", CLIENT_NS) {
            Message::from_owned_element(element).map(|message| Some(Stanza::Message(message)))
        } else {
            Stanza::from_element(&element)
        }
    }
}

fn expect_stanza(element: &Element, expected: &'static str) -> Result<(), StanzaParseError> {
    if element.is(expected, CLIENT_NS) {
        Ok(())
    } else {
        Err(StanzaParseError::WrongElement {
            expected,
            got: element.name().to_owned(),
        })
    }
}

fn stanza_element(
    name: &str,
    from: &Option<String>,
    to: &Option<String>,
    id: Option<&str>,
) -> Element {
    let mut element = Element::new(name, CLIENT_NS);
    for (attribute, value) in [("from", from.as_deref()), ("to", to.as_deref()), ("id", id)] {
        if let Some(value) = value {
            element.set_attr(attribute, value);
        }
    }
    element
}

fn missing(element: &'static str, attribute: &'static str) -> StanzaParseError {
    StanzaParseError::MissingAttribute { element, attribute }
}

fn invalid(element: &'static str, attribute: &'static str, value: &str) -> StanzaParseError {
    StanzaParseError::InvalidAttribute {
        element,
        attribute,
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    fn element(xml: &str) -> Element {
        Element::parse(xml, &Limits::default()).unwrap()
    }

    /// A MUC history message as Prosody 0.12 sends it.
    const PROSODY_HISTORY: &str = "<message xmlns='jabber:client' type='groupchat' id='e1' \
        to='viewer@anon.localhost/x' from='accidents@rooms.localhost/gateway'>\
        <body>Accident on A7</body>\
        <event xmlns='urn:vigie:event:1' id='01J0' kind='accident'/>\
        <origin-id xmlns='urn:xmpp:sid:0' id='e1'/>\
        <stanza-id xmlns='urn:xmpp:sid:0' id='8d1e' by='accidents@rooms.localhost'/>\
        <delay xmlns='urn:xmpp:delay' stamp='2026-11-22T00:10:00Z' from='accidents@rooms.localhost'/>\
        </message>";

    #[test]
    fn parses_a_prosody_groupchat_message() {
        let message = Message::from_element(&element(PROSODY_HISTORY)).unwrap();
        assert_eq!(message.kind, MessageType::Groupchat);
        assert_eq!(message.body.as_deref(), Some("Accident on A7"));
        assert_eq!(message.origin_id.as_deref(), Some("e1"));
        assert_eq!(
            message.stanza_id_by("accidents@rooms.localhost"),
            Some("8d1e")
        );
        assert_eq!(message.stanza_id_by("someone.else"), None);
        assert_eq!(
            message.delay.as_ref().unwrap().stamp,
            "2026-11-22T00:10:00Z"
        );
        assert_eq!(message.payloads.len(), 1);
        assert!(message.payloads[0].is("event", "urn:vigie:event:1"));
    }

    #[test]
    fn owned_and_borrowed_readings_agree() {
        let error = "<message xmlns='jabber:client' type='error' from='a@b'>\
            <body>first</body><body>second</body><x xmlns='urn:x'>t<y/></x>\
            <error type='cancel'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>\
            </message>";
        for xml in [PROSODY_HISTORY, error] {
            let parsed = element(xml);
            let message = Message::from_element(&parsed).unwrap();
            assert_eq!(
                Stanza::from_owned_element(parsed),
                Ok(Some(Stanza::Message(message)))
            );
        }
        let broken =
            element("<message xmlns='jabber:client'><stanza-id xmlns='urn:xmpp:sid:0'/></message>");
        assert_eq!(
            Message::from_owned_element(broken.clone()),
            Message::from_element(&broken)
        );
        assert!(Message::from_owned_element(broken).is_err());
        let presence =
            element("<presence xmlns='jabber:client' from='a@b'><x xmlns='urn:x'/></presence>");
        assert_eq!(
            Stanza::from_owned_element(presence.clone()),
            Stanza::from_element(&presence)
        );
    }

    #[test]
    fn message_round_trips() {
        let message = Message::from_element(&element(PROSODY_HISTORY)).unwrap();
        assert_eq!(
            Message::from_element(&message.to_element()).unwrap(),
            message
        );
        let built = Message::new(MessageType::Chat)
            .with_to("a@b")
            .with_id("1")
            .with_body("x & y")
            .with_payload(Element::new("x", "urn:x"));
        assert_eq!(
            built.to_element().to_xml(),
            "<message xmlns='jabber:client' to='a@b' id='1' type='chat'><body>x &amp; y</body><x xmlns='urn:x'/></message>"
        );
        assert_eq!(Message::from_element(&built.to_element()).unwrap(), built);
    }

    #[test]
    fn presence_with_error_and_payload_round_trips() {
        let presence = Presence::from_element(&element(
            "<presence xmlns='jabber:client' from='r@rooms.localhost/nick' type='error'>\
             <x xmlns='http://jabber.org/protocol/muc'/>\
             <error type='cancel' by='r@rooms.localhost'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Nickname in use</text></error></presence>",
        ))
        .unwrap();
        let error = presence.error.clone().unwrap();
        assert_eq!(
            (error.kind, error.condition.as_str()),
            (ErrorType::Cancel, "conflict")
        );
        assert_eq!(error.text.as_deref(), Some("Nickname in use"));
        assert_eq!(presence.payloads.len(), 1);
        assert_eq!(
            Presence::from_element(&presence.to_element()).unwrap(),
            presence
        );

        let mut available = Presence::new(PresenceType::Available).with_status("on duty");
        available.show = Some(Show::Dnd);
        available.priority = -1;
        assert_eq!(
            Presence::from_element(&available.to_element()).unwrap(),
            available
        );
    }

    #[test]
    fn iq_round_trips_and_answers() {
        let request = Iq::from_element(&element(
            "<iq xmlns='jabber:client' from='localhost' to='u@localhost/r' id='s2c1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
        ))
        .unwrap();
        assert_eq!(Iq::from_element(&request.to_element()).unwrap(), request);
        let result = Iq::result_for(&request, None);
        assert_eq!(
            result.to_element().to_xml(),
            "<iq xmlns='jabber:client' to='localhost' id='s2c1' type='result'/>"
        );
        let error = Iq::error_for(
            &request,
            StanzaError::new(ErrorType::Cancel, "service-unavailable"),
        );
        assert_eq!(Iq::from_element(&error.to_element()).unwrap(), error);
    }

    #[test]
    fn rfc_6121_presences_round_trip() {
        // RFC 6121 §4.7.2 examples: every show value, status, priority; then unavailable.
        for show in [Show::Away, Show::Chat, Show::Dnd, Show::Xa] {
            let xml = format!(
                "<presence xmlns='jabber:client' from='juliet@example.com/balcony'>\
                 <show>{show}</show><status>be right back</status><priority>1</priority></presence>"
            );
            let presence = Presence::from_element(&element(&xml)).unwrap();
            assert_eq!(presence.kind, PresenceType::Available);
            assert_eq!(presence.show, Some(show));
            assert_eq!(presence.status.as_deref(), Some("be right back"));
            assert_eq!(presence.priority, 1);
            assert_eq!(presence.to_element().to_xml(), xml);
        }
        let built = Presence::new(PresenceType::Unavailable)
            .with_status("gone home")
            .with_priority(-128);
        assert_eq!(
            built.to_element().to_xml(),
            "<presence xmlns='jabber:client' type='unavailable'><status>gone home</status>\
             <priority>-128</priority></presence>"
        );
        assert_eq!(Presence::from_element(&built.to_element()).unwrap(), built);
        let unknown_show = "<presence xmlns='jabber:client'><show>busy</show></presence>";
        assert!(Presence::from_element(&element(unknown_show)).is_err());
    }

    #[test]
    fn strict_parsing() {
        let cases = [
            "<message xmlns='jabber:client' type='shout'/>",
            "<message xmlns='jabber:client' type='error'/>",
            "<presence xmlns='jabber:client' type='available'/>",
            "<presence xmlns='jabber:client'><priority>999</priority></presence>",
            "<iq xmlns='jabber:client' type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
            "<iq xmlns='jabber:client' id='1' type='set'/>",
            "<message xmlns='urn:other'/>",
        ];
        for xml in cases {
            let element = element(xml);
            let parsed = match element.name() {
                "message" => Message::from_element(&element).map(drop),
                "presence" => Presence::from_element(&element).map(drop),
                _ => Iq::from_element(&element).map(drop),
            };
            assert!(parsed.is_err(), "{xml}");
        }
        assert_eq!(
            Stanza::from_element(&element(
                "<features xmlns='http://etherx.jabber.org/streams'/>"
            )),
            Ok(None)
        );
    }
}
