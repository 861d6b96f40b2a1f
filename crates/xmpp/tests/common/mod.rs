//! Two peers in memory on a virtual clock: the real [`Client`] and a scripted fake server
//! that answers like Prosody 0.12 (stream, SASL, bind, MUC, ping). With the `tokio` feature,
//! the pieces of the tests against a real Prosody too: its launcher (`prosody`), a TCP proxy
//! that cuts connections (`cut_proxy`), and the native driver's helpers (`driver`).

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod bosh;
// Against a real Prosody through the native driver.
#[cfg(feature = "tokio")]
pub mod cut_proxy;
#[cfg(feature = "tokio")]
pub mod driver;
#[cfg(feature = "tokio")]
pub mod prosody;

use std::collections::VecDeque;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use vigie_xmpp::framing::{FRAMING_NS, STREAM_NS};
use vigie_xmpp::register::REGISTER_FEATURE_NS;
use vigie_xmpp::stanza::{Iq, Message, MessageType, Presence, PresenceType, Stanza, StanzaId};
use vigie_xmpp::{Backoff, Client, ClientConfig, Element, Error, Event, Instant, Limits};

const SASL_NS: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const BIND_NS: &str = "urn:ietf:params:xml:ns:xmpp-bind";
const MUC_NS: &str = "http://jabber.org/protocol/muc";
const MUC_USER_NS: &str = "http://jabber.org/protocol/muc#user";
const PING_NS: &str = "urn:xmpp:ping";
const STANZA_ERROR_NS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const MAM_NS: &str = "urn:xmpp:mam:2";
const RSM_NS: &str = "http://jabber.org/protocol/rsm";
const FORWARD_NS: &str = "urn:xmpp:forward:0";
const DELAY_NS: &str = "urn:xmpp:delay";
pub const SM_NS: &str = "urn:xmpp:sm:3";

/// RFC 5802 §5 exchange, so the fake server needs no SCRAM implementation of its own.
pub const SCRAM_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
const SCRAM_CLIENT_FIRST: &str = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
const SCRAM_SERVER_FIRST: &str =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
const SCRAM_CLIENT_FINAL: &str =
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
const SCRAM_SERVER_FINAL: &str = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

pub fn parse(xml: &str) -> Element {
    Element::parse(xml, &Limits::default()).expect("well-formed XML")
}

/// A room on the fake MUC service.
#[derive(Debug, Default)]
pub struct FakeRoom {
    pub jid: String,
    /// Occupants already there: (nick, role).
    pub others: Vec<(String, String)>,
    pub subject: String,
    /// History replayed on join.
    pub history: Vec<Message>,
    /// Every groupchat the room reflected, with its archive id.
    pub archive: Vec<(String, Message)>,
}

/// The fake's side of XEP-0198.
#[derive(Debug, Default)]
pub struct FakeSm {
    /// Counting on the current connection.
    pub active: bool,
    /// Stanzas from the client handled.
    pub handled: usize,
    /// Every stanza sent to the client since `<enable/>`, index = its count - 1.
    pub sent: Vec<Element>,
    /// The client's latest `h`.
    pub acked: usize,
}

/// A scripted server; public fields steer its behaviour per test.
#[derive(Debug)]
pub struct FakeServer {
    pub domain: String,
    pub mechanisms: Vec<&'static str>,
    pub password_ok: bool,
    /// Offer XEP-0077 in-band registration before authentication.
    pub registration: bool,
    pub answer_pings: bool,
    /// Stay silent after the client's `<open/>` (negotiation timeout tests).
    pub silent: bool,
    pub rooms: Vec<FakeRoom>,
    pub client_jid: String,
    /// Offer XEP-0198 after authentication.
    pub stream_management: bool,
    /// Accept `<resume/>` (else answer `<failed/>`, as after the session expired).
    pub resume_ok: bool,
    /// Take `<resume/>` and never answer it.
    pub silent_after_resume: bool,
    /// The stream management session, kept across connections like a hibernating one.
    pub sm: Option<FakeSm>,
    /// The MUC service restarted and forgot its occupants: self-pings (XEP-0410) get
    /// `not-acceptable` until the client joins again.
    pub muc_forgot_us: bool,
    /// Hold archive queries until [`release_archive`](Self::release_archive), which
    /// answers them from the archive as it is then.
    pub hold_archive: bool,
    held_archive_queries: Vec<Iq>,
    authenticated: bool,
    awaiting_scram_final: bool,
    /// Every element the client sent, in order (frames as parsed elements).
    pub received: Vec<Element>,
    pub outbox: VecDeque<String>,
}

impl FakeServer {
    pub fn new() -> FakeServer {
        FakeServer {
            domain: "localhost".into(),
            mechanisms: vec!["PLAIN", "SCRAM-SHA-1"],
            password_ok: true,
            registration: false,
            answer_pings: true,
            silent: false,
            rooms: Vec::new(),
            client_jid: String::new(),
            stream_management: false,
            resume_ok: true,
            silent_after_resume: false,
            sm: None,
            muc_forgot_us: false,
            hold_archive: false,
            held_archive_queries: Vec::new(),
            authenticated: false,
            awaiting_scram_final: false,
            received: Vec::new(),
            outbox: VecDeque::new(),
        }
    }

    pub fn with_room(mut self, room: FakeRoom) -> FakeServer {
        self.rooms.push(room);
        self
    }

    /// A new transport: the stream starts over, unauthenticated.
    pub fn new_connection(&mut self) {
        if let Some(sm) = &mut self.sm {
            // Hibernating until resumed.
            sm.active = false;
        }
        self.authenticated = false;
        self.awaiting_scram_final = false;
        self.outbox.clear();
    }

    pub fn send(&mut self, element: Element) {
        if let Some(sm) = self.sm.as_mut().filter(|sm| sm.active) {
            if matches!(element.name(), "message" | "presence" | "iq") {
                sm.sent.push(element.clone());
            }
        }
        self.outbox.push_back(element.to_xml());
    }

    pub fn send_raw(&mut self, frame: &str) {
        self.outbox.push_back(frame.to_owned());
    }

    /// Stanzas of one kind the client sent.
    pub fn received_named(&self, name: &str) -> Vec<&Element> {
        self.received.iter().filter(|e| e.name() == name).collect()
    }

    pub fn handle(&mut self, frame: &str) {
        let element =
            Element::parse(frame, &Limits::default()).expect("client frames are well-formed");
        self.received.push(element.clone());
        if self.silent {
            return;
        }
        self.count_inbound(&element);
        match (element.ns(), element.name()) {
            (FRAMING_NS, "open") => self.open_stream(),
            (FRAMING_NS, "close") => self.send(Element::new("close", FRAMING_NS)),
            // The client's stream error: its close follows.
            (STREAM_NS, "error") => {}
            (SASL_NS, _) => self.authenticate(&element),
            (SM_NS, _) => self.stream_management(&element),
            _ => match Stanza::from_element(&element).expect("client stanzas are valid") {
                Some(Stanza::Iq(iq)) => self.answer_iq(iq),
                Some(Stanza::Presence(presence)) => self.route_presence(presence),
                Some(Stanza::Message(message)) => self.route_message(message),
                None => panic!("unexpected element {element}"),
            },
        }
    }

    /// Counts a stanza from the client.
    fn count_inbound(&mut self, element: &Element) {
        let is_stanza = matches!(element.name(), "message" | "presence" | "iq");
        if let Some(sm) = self.sm.as_mut().filter(|sm| sm.active && is_stanza) {
            sm.handled += 1;
        }
    }

    fn stream_management(&mut self, element: &Element) {
        match element.name() {
            "enable" => {
                self.sm = Some(FakeSm {
                    active: true,
                    ..FakeSm::default()
                });
                self.send(
                    Element::new("enabled", SM_NS)
                        .with_attr("id", "sm-1")
                        .with_attr("resume", "true"),
                );
            }
            "r" => {
                let handled = self.sm.as_ref().map_or(0, |sm| sm.handled);
                self.send(Element::new("a", SM_NS).with_attr("h", handled.to_string()));
            }
            "a" => {
                let h: usize = element.attr("h").unwrap().parse().unwrap();
                self.sm.as_mut().unwrap().acked = h;
            }
            "resume" if self.silent_after_resume => {}
            "resume" => {
                assert_eq!(element.attr("previd"), Some("sm-1"));
                let h: usize = element.attr("h").unwrap().parse().unwrap();
                match self.sm.as_mut().filter(|_| self.resume_ok) {
                    Some(sm) => {
                        sm.active = true;
                        let handled = sm.handled;
                        let unacked: Vec<Element> = sm.sent.drain(h..).collect();
                        self.send(
                            Element::new("resumed", SM_NS)
                                .with_attr("previd", "sm-1")
                                .with_attr("h", handled.to_string()),
                        );
                        for stanza in unacked {
                            self.send(stanza);
                        }
                    }
                    None => {
                        self.sm = None;
                        self.send(Element::new("failed", SM_NS).with_child(Element::new(
                            "item-not-found",
                            "urn:ietf:params:xml:ns:xmpp-stanzas",
                        )));
                    }
                }
            }
            other => panic!("unexpected stream management element {other}"),
        }
    }

    fn open_stream(&mut self) {
        self.send(
            Element::new("open", FRAMING_NS)
                .with_attr("xml:lang", "en")
                .with_attr("id", "s1")
                .with_attr("version", "1.0")
                .with_attr("from", self.domain.clone()),
        );
        let mut features = Element::new("features", STREAM_NS);
        if self.authenticated {
            features.push_child(
                Element::new("bind", BIND_NS).with_child(Element::new("required", BIND_NS)),
            );
            if self.stream_management {
                features.push_child(Element::new("sm", SM_NS));
            }
        } else {
            let mut mechanisms = Element::new("mechanisms", SASL_NS);
            for mechanism in &self.mechanisms {
                mechanisms.push_child(Element::new("mechanism", SASL_NS).with_text(*mechanism));
            }
            features.push_child(mechanisms);
            if self.registration {
                features.push_child(Element::new("register", REGISTER_FEATURE_NS));
            }
        }
        self.send(features);
    }

    fn authenticate(&mut self, element: &Element) {
        let data = String::from_utf8(BASE64.decode(element.text()).unwrap()).unwrap();
        let mechanism = element.attr("mechanism");
        let accepted = match (element.name(), mechanism) {
            ("auth", Some("SCRAM-SHA-1")) => {
                assert_eq!(data, SCRAM_CLIENT_FIRST);
                self.awaiting_scram_final = true;
                self.send(
                    Element::new("challenge", SASL_NS).with_text(BASE64.encode(SCRAM_SERVER_FIRST)),
                );
                return;
            }
            ("response", _) if self.awaiting_scram_final => {
                self.password_ok && data == SCRAM_CLIENT_FINAL
            }
            ("auth", Some("PLAIN")) => self.password_ok && data.starts_with("\0user\0"),
            ("auth", Some("ANONYMOUS")) => true,
            other => panic!("unexpected SASL element {other:?}"),
        };
        if !accepted {
            self.send(
                Element::new("failure", SASL_NS)
                    .with_child(Element::new("not-authorized", SASL_NS)),
            );
            return;
        }
        let success = Element::new("success", SASL_NS);
        let success = if self.awaiting_scram_final {
            success.with_text(BASE64.encode(SCRAM_SERVER_FINAL))
        } else {
            success
        };
        self.authenticated = true;
        self.send(success);
    }

    fn answer_iq(&mut self, iq: Iq) {
        let payload = iq.payload.clone();
        match payload.as_ref().map(|p| (p.ns(), p.name())) {
            Some((BIND_NS, "bind")) => {
                let resource = payload
                    .as_ref()
                    .and_then(|bind| bind.get_child("resource", BIND_NS))
                    .map_or_else(|| "generated".to_owned(), Element::text);
                self.client_jid = format!("user@{}/{resource}", self.domain);
                let bind = Element::new("bind", BIND_NS)
                    .with_child(Element::new("jid", BIND_NS).with_text(self.client_jid.clone()));
                self.send(
                    Iq {
                        from: None,
                        ..Iq::result_for(&iq, Some(bind))
                    }
                    .to_element(),
                );
            }
            // XEP-0410 self-ping, to our occupant JID.
            Some((PING_NS, "ping")) if iq.to.as_deref().is_some_and(|to| to.contains('/')) => {
                let mut answer = if self.muc_forgot_us {
                    let not_joined = vigie_xmpp::StanzaError::new(
                        vigie_xmpp::stanza::ErrorType::Cancel,
                        "not-acceptable",
                    );
                    Iq::error_for(&iq, not_joined)
                } else {
                    Iq::result_for(&iq, None)
                };
                answer.from = iq.to.clone();
                answer.to = Some(self.client_jid.clone());
                self.send(answer.to_element());
            }
            Some((PING_NS, "ping")) if self.answer_pings => {
                let mut pong = Iq::result_for(&iq, None);
                pong.to = Some(self.client_jid.clone());
                self.send(pong.to_element());
            }
            Some((PING_NS, "ping")) => {}
            Some((MAM_NS, "query")) if self.hold_archive => self.held_archive_queries.push(iq),
            Some((MAM_NS, "query")) => self.answer_archive_query(&iq),
            _ => {
                let mut answer =
                    Iq::result_for(&iq, payload.map(|p| Element::new("answer", p.ns())));
                answer.from = iq.to.clone();
                answer.to = Some(self.client_jid.clone());
                self.send(answer.to_element());
            }
        }
    }

    /// Replays the room archive after the RSM `after` id, `max` at a time, like Prosody.
    fn answer_archive_query(&mut self, iq: &Iq) {
        let query = iq.payload.as_ref().expect("MAM query");
        let query_id = query.attr("queryid").expect("queryid").to_owned();
        let set = query.get_child("set", RSM_NS);
        let rsm = |name: &str| {
            set.and_then(|set| set.get_child(name, RSM_NS))
                .map(Element::text)
        };
        let max: usize = rsm("max").map_or(50, |max| max.parse().unwrap());
        let room_jid = iq.to.clone().expect("room archive");
        let room = self
            .rooms
            .iter()
            .find(|room| room.jid == room_jid)
            .expect("known room");
        let start = match (rsm("after"), rsm("before")) {
            (Some(after), _) => {
                room.archive
                    .iter()
                    .position(|(id, _)| *id == after)
                    .expect("known id")
                    + 1
            }
            // `<before/>` empty: the newest page.
            (None, Some(before)) if before.is_empty() => room.archive.len().saturating_sub(max),
            _ => 0,
        };
        let page: Vec<(String, Message)> =
            room.archive.iter().skip(start).take(max).cloned().collect();
        let complete = start + page.len() == room.archive.len();
        let mut frames = Vec::new();
        for (archive_id, message) in &page {
            let forwarded = Element::new("forwarded", FORWARD_NS)
                .with_child(
                    Element::new("delay", DELAY_NS).with_attr("stamp", "2026-11-22T00:30:00Z"),
                )
                .with_child(message.to_element());
            frames.push(
                Element::new("message", "jabber:client")
                    .with_attr("from", room_jid.clone())
                    .with_attr("to", self.client_jid.clone())
                    .with_child(
                        Element::new("result", MAM_NS)
                            .with_attr("queryid", query_id.clone())
                            .with_attr("id", archive_id.clone())
                            .with_child(forwarded),
                    ),
            );
        }
        let mut set = Element::new("set", RSM_NS);
        if let Some((last, _)) = page.last() {
            set.push_child(Element::new("last", RSM_NS).with_text(last.clone()));
        }
        let mut fin = Element::new("fin", MAM_NS).with_child(set);
        if complete {
            fin.set_attr("complete", "true");
        }
        let mut answer = Iq::result_for(iq, Some(fin));
        answer.from = Some(room_jid);
        frames.push(answer.to_element());
        for frame in frames {
            self.send(frame);
        }
    }

    /// Answers the held archive queries from the archive as it is now.
    pub fn release_archive(&mut self) {
        for iq in std::mem::take(&mut self.held_archive_queries) {
            self.answer_archive_query(&iq);
        }
    }

    /// Another occupant, `nick`, says `body` in `room`: the room archives it and returns
    /// the live copy for the client (send it with [`send`](Self::send), or not).
    pub fn post(&mut self, room_jid: &str, nick: &str, id: &str, body: &str) -> Element {
        let mut message = Message::new(MessageType::Groupchat)
            .with_id(id)
            .with_body(body);
        message.from = Some(format!("{room_jid}/{nick}"));
        self.archive(room_jid, message)
    }

    /// Archives an occupant's `message` in `room_jid`; returns the copy for the client,
    /// stamped with its archive id.
    fn archive(&mut self, room_jid: &str, mut message: Message) -> Element {
        let room = self
            .rooms
            .iter_mut()
            .find(|room| room.jid == room_jid)
            .expect("known room");
        let archive_id = format!("archive-{}", room.archive.len() + 1);
        room.archive.push((archive_id.clone(), message.clone()));
        message.to = Some(self.client_jid.clone());
        message.stanza_ids.push(StanzaId {
            id: archive_id,
            by: room_jid.to_owned(),
        });
        message.to_element()
    }

    fn route_presence(&mut self, presence: Presence) {
        let to = presence.to.clone().expect("presence to a room");
        let (room_jid, nick) = to.split_once('/').expect("occupant JID");
        let client_jid = self.client_jid.clone();
        let Some(room) = self.rooms.iter().find(|room| room.jid == room_jid) else {
            panic!("no room {room_jid}");
        };
        let from = |n: &str| format!("{room_jid}/{n}");
        let mut frames = Vec::new();
        if presence.kind == PresenceType::Unavailable {
            frames.push(muc_presence(
                &from(nick),
                &client_jid,
                Some("unavailable"),
                "none",
                "none",
                true,
            ));
        } else if room.others.iter().any(|(other, _)| other == nick) {
            frames.push(
                Element::new("presence", "jabber:client")
                    .with_attr("from", from(nick))
                    .with_attr("to", client_jid.clone())
                    .with_attr("type", "error")
                    .with_child(Element::new("x", MUC_NS))
                    .with_child(
                        Element::new("error", "jabber:client")
                            .with_attr("type", "cancel")
                            .with_attr("by", room_jid)
                            .with_child(Element::new("conflict", STANZA_ERROR_NS)),
                    ),
            );
        } else {
            self.muc_forgot_us = false;
            for (other, role) in &room.others {
                frames.push(muc_presence(
                    &from(other),
                    &client_jid,
                    None,
                    "none",
                    role,
                    false,
                ));
            }
            frames.push(muc_presence(
                &from(nick),
                &client_jid,
                None,
                "owner",
                "moderator",
                true,
            ));
            for message in &room.history {
                let mut message = message.clone();
                message.to = Some(client_jid.clone());
                frames.push(message.to_element());
            }
            frames.push(
                Element::new("message", "jabber:client")
                    .with_attr("from", room_jid)
                    .with_attr("to", client_jid.clone())
                    .with_attr("type", "groupchat")
                    .with_attr("id", "subject1")
                    .with_child(
                        Element::new("subject", "jabber:client").with_text(room.subject.clone()),
                    ),
            );
        }
        for frame in frames {
            self.send(frame);
        }
    }

    fn route_message(&mut self, message: Message) {
        assert_eq!(
            message.kind,
            MessageType::Groupchat,
            "the fake only hosts rooms"
        );
        let room_jid = message.to.clone().expect("message to a room");
        let mut reflected = message;
        reflected.from = Some(format!("{room_jid}/me"));
        let reflected = self.archive(&room_jid, reflected);
        self.send(reflected);
    }
}

fn muc_presence(
    from: &str,
    to: &str,
    kind: Option<&str>,
    affiliation: &str,
    role: &str,
    is_self: bool,
) -> Element {
    let mut x = Element::new("x", MUC_USER_NS).with_child(
        Element::new("item", MUC_USER_NS)
            .with_attr("affiliation", affiliation)
            .with_attr("role", role),
    );
    if is_self {
        x.push_child(Element::new("status", MUC_USER_NS).with_attr("code", "110"));
    }
    let mut presence = Element::new("presence", "jabber:client")
        .with_attr("from", from)
        .with_attr("to", to)
        .with_child(x);
    if let Some(kind) = kind {
        presence.set_attr("type", kind);
    }
    presence
}

/// The client and the fake server, wired frame by frame, with a clock only tests move.
pub struct Pair {
    pub client: Client,
    pub server: FakeServer,
    pub now: Instant,
    events: Vec<Event>,
}

impl Pair {
    pub fn new(config: ClientConfig, server: FakeServer) -> Pair {
        Pair {
            client: Client::new(config, SCRAM_NONCE.into()),
            server,
            now: Instant::now(),
            events: Vec::new(),
        }
    }

    /// `user@localhost` with the RFC 5802 password, logged in and bound.
    pub fn online(server: FakeServer) -> Pair {
        Pair::online_with(user_config(), server)
    }

    pub fn online_with(config: ClientConfig, server: FakeServer) -> Pair {
        let mut pair = Pair::new(config, server);
        pair.connect();
        assert_only_online(&pair.take_events());
        pair
    }

    /// Opens a (new) transport.
    pub fn connect(&mut self) {
        self.server.new_connection();
        self.client.handle_connected(self.now);
        self.drive();
    }

    /// Delivers frames both ways until neither side has anything left to say.
    pub fn drive(&mut self) {
        loop {
            let mut moved = false;
            while let Some(frame) = self.client.poll_transmit() {
                self.server.handle(&frame);
                moved = true;
            }
            while let Some(frame) = self.server.outbox.pop_front() {
                self.client.handle_frame(&frame, self.now);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        while let Some(event) = self.client.poll_event() {
            self.events.push(event);
        }
    }

    /// Moves the clock forward, firing every deadline that falls in between, in order.
    pub fn advance(&mut self, duration: Duration) {
        let target = self.now + duration;
        while let Some(deadline) = self
            .client
            .poll_timeout()
            .filter(|deadline| *deadline <= target)
        {
            self.now = self.now.max(deadline);
            self.client.handle_timeout(self.now);
            self.drive();
        }
        self.now = target;
    }

    /// The connection dies: frames in flight either way are lost.
    pub fn cut(&mut self) {
        while self.client.poll_transmit().is_some() {}
        self.server.outbox.clear();
        self.client.handle_disconnected(self.now);
        self.drive();
    }

    pub fn take_events_after_drive(&mut self) -> Vec<Event> {
        self.drive();
        self.take_events()
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

/// A login's events: `Online`, nothing else.
pub fn assert_only_online(events: &[Event]) {
    assert!(matches!(events, [Event::Online { .. }]), "{events:?}");
}

/// Ids of the groupchat messages among `events`, in order.
pub fn groupchat_ids(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::GroupchatMessage(message) => message.id.clone(),
            _ => None,
        })
        .collect()
}

/// The error that ended the session, from `events`: a lone `Disconnected`.
pub fn final_error(events: Vec<Event>) -> Option<Error> {
    match <[Event; 1]>::try_from(events) {
        Ok([Event::Disconnected { error }]) => error,
        other => panic!("expected the end of the session alone: {other:?}"),
    }
}

pub fn user_config() -> ClientConfig {
    ClientConfig::login("user@localhost/test", "pencil").unwrap()
}

/// As [`user_config`], reconnecting 1 s after a loss, then 2 s, 4 s… up to 30 s.
pub fn reconnecting_config() -> ClientConfig {
    ClientConfig {
        reconnect: Some(Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }),
        ..user_config()
    }
}
