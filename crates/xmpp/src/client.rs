//! The sans-IO client: an RFC 6120 stream over WebSocket frames or BOSH bodies, negotiation
//! (open → SASL → restart → bind or XEP-0198 resume → online), then stanzas, MUC rooms,
//! stream management and keepalive.

use std::collections::VecDeque;
use std::mem;
use std::time::Duration;

use sha2::{Digest, Sha256};
use web_time::Instant;

use crate::bosh::{self, Incoming};
use crate::catchup::{OnJoin, RoomCursor};
use crate::chatstates::{self, ChatState};
pub use crate::config::{Backoff, ClientConfig, Transport};
use crate::error::{Error, Refusal};
pub use crate::event::Event;
use crate::framing::{self, Frame, STREAM_ERRORS_NS, STREAM_NS};
use crate::jid::{self, Jid};
use crate::keyed::Keyed;
use crate::mam::{self, ArchiveQuery};
use crate::muc::{self, Affiliation, History, LeaveReason, Role, RoomMessage, RoomPresence};
use crate::roster::{self, RosterItem, SubscriptionAction};
use crate::sasl::{self, Credentials, Exchange, Step};
use crate::selfping::{self, Membership};
use crate::sm::{self, SM_NS};
use crate::stanza::{ErrorType, Iq, IqType, Message, MessageType, Presence, Stanza, StanzaError};
use crate::timer::{Timer, TimerTable};
use crate::vcard::{self, VCard};
use crate::wire::Wire;
use crate::xml::Element;
use crate::{bind, disco, ping, register, version};

/// Where stream negotiation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    BeforeAuth,
    AfterAuth,
}

/// The session's state; each transition consumes the previous one.
#[derive(Debug)]
enum Phase {
    /// No transport yet (or any more): waiting for [`Client::handle_connected`].
    Idle,
    /// Lost the connection; waiting for the reconnect timer before asking for a transport.
    Reconnecting,
    /// Our `<open/>` is sent; waiting for the server's.
    AwaitingOpen(Stage),
    /// Stream open; waiting for `<stream:features/>`.
    AwaitingFeatures(Stage),
    /// XEP-0077 registration sent ([`ClientConfig::register`]); authentication follows
    /// with the same `features`.
    Registering {
        request_id: String,
        features: Element,
    },
    Authenticating(Exchange),
    Binding {
        request_id: String,
    },
    /// XEP-0198 `<resume/>` sent instead of binding; waiting for `<resumed/>`.
    Resuming,
    Online,
    /// Our `<close/>` is sent; waiting for the server's.
    Closing,
    Closed,
}

/// A room we asked to join; `joined` once our own presence came back.
#[derive(Debug)]
struct Room {
    nick: String,
    joined: bool,
    /// We asked to leave: do not rejoin it after a reconnect.
    leaving: bool,
    /// Sent again when rejoining.
    password: Option<String>,
    /// Where the room's archive stands for us ([`ClientConfig::catch_up`]).
    archive: RoomCursor,
}

/// An IQ request awaiting its answer.
#[derive(Debug)]
struct PendingIq {
    to: Option<String>,
    deadline: Instant,
    purpose: Purpose,
}

/// Which event answers a pending IQ.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    /// [`Event::IqResult`] for [`Client::send_iq`].
    Caller,
    /// [`Event::ArchiveQueryDone`] for [`Client::query_room_archive`].
    ArchiveQuery,
    /// [`Event::ArchiveQueryDone`] for [`Client::query_archive`].
    PersonalArchive,
    /// A page of the room's archive filling the gap after a lost session.
    CatchUp(String),
    /// The room's newest archive id, the cursor to catch up from later.
    ArchiveBaseline(String),
    /// XEP-0410 ping to ourselves in the room.
    SelfPing(String),
    /// [`Event::RoomList`] of the service.
    RoomList(String),
    /// [`Event::RoomConfigForm`] of the room.
    RoomConfig(String),
    /// One of the IM requests with a typed answer.
    Query(Query),
}

/// The IM requests (RFC 6121, XEP-0030, XEP-0092, XEP-0054, XEP-0077) and what answers
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Query {
    /// [`Event::Roster`].
    Roster,
    /// [`Event::DiscoInfo`].
    DiscoInfo,
    /// [`Event::DiscoItems`].
    DiscoItems,
    /// [`Event::SoftwareVersion`].
    Version,
    /// [`Event::VCard`].
    VCard,
    /// [`Event::IqResult`]; on success the new password is kept for reconnecting.
    Password(String),
    /// [`Event::IqResult`]; on success the session ends.
    RemoveAccount,
}

/// A sans-IO XMPP client session over RFC 7395 WebSocket frames or XEP-0206 BOSH bodies
/// ([`ClientConfig::transport`]); the crate docs give the calling rules of each transport.
///
/// The client does no IO and never reads the clock; a driver moves frames and time:
///
/// 1. Open the WebSocket (subprotocol `xmpp`; over BOSH there is nothing to open), then call
///    [`handle_connected`](Self::handle_connected).
/// 2. Feed every received text frame to [`handle_frame`](Self::handle_frame), and call
///    [`handle_timeout`](Self::handle_timeout) once [`poll_timeout`](Self::poll_timeout)'s
///    instant has passed. Call [`handle_disconnected`](Self::handle_disconnected) if the
///    transport closes.
/// 3. After each `handle_*` call or command, drain [`poll_transmit`](Self::poll_transmit)
///    (send each string as one text frame) and [`poll_event`](Self::poll_event) until they
///    return `None`, then sleep until the new `poll_timeout` or the next frame.
/// 4. After [`Event::ConnectionLost`] or [`Event::Disconnected`], send what is left in
///    `poll_transmit` and close the transport. After `ConnectionLost`, open a new transport
///    whenever [`wants_transport`](Self::wants_transport) turns true (it does after the
///    backoff delay, at a `poll_timeout`), and start again at step 1; if opening it fails,
///    call `handle_disconnected`. `Disconnected` is final.
///
/// Commands (`join_room`, `send_groupchat`, …) are accepted once [`Event::Online`] was
/// emitted and return [`Error::Misuse`] otherwise. They take no `now`: request deadlines
/// count from the latest instant given to a `handle_*` call.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    nonce: String,
    id_prefix: String,
    next_id: u64,
    phase: Phase,
    connected: bool,
    close_sent: bool,
    /// `Event::Disconnected` was emitted: the session is over.
    ended: bool,
    /// Reconnection only makes sense once the configuration has proven to work.
    was_online: bool,
    /// Connections attempted since the last time we were online (backoff exponent).
    failed_attempts: u32,
    /// Connections opened so far; varies the SCRAM nonce between logins.
    connections: u32,
    now: Option<Instant>,
    timers: TimerTable,
    wire: Wire,
    events: VecDeque<Event>,
    rooms: Keyed<Room>,
    pending_iqs: Keyed<PendingIq>,
    keepalive_id: Option<String>,
    bound_jid: Option<String>,
    /// XEP-0198 state; survives a lost connection while the session may be resumed.
    sm: sm::State,
    /// The post-authentication features of this connection offer stream management.
    sm_offered: bool,
    /// Messages a failed resumption left unacknowledged, sent again once rooms are rejoined.
    unacked_after_failed_resume: Vec<Element>,
    /// The XEP-0077 registration of [`ClientConfig::register`] succeeded: log in from now on.
    registered: bool,
    /// The server supports roster versioning (RFC 6121 §2.6).
    roster_versioning: bool,
}

impl Client {
    /// `nonce`: at least 16 random printable ASCII characters from the caller (SCRAM client
    /// nonce; its start also prefixes stanza ids so they are unique across sessions).
    pub fn new(config: ClientConfig, nonce: String) -> Client {
        let id_prefix: String = nonce
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        Client {
            wire: Wire::new(config.transport),
            config,
            nonce,
            id_prefix,
            next_id: 0,
            phase: Phase::Idle,
            connected: false,
            close_sent: false,
            ended: false,
            was_online: false,
            failed_attempts: 0,
            connections: 0,
            now: None,
            timers: TimerTable::default(),
            events: VecDeque::new(),
            rooms: Keyed::default(),
            pending_iqs: Keyed::default(),
            keepalive_id: None,
            bound_jid: None,
            sm: sm::State::default(),
            sm_offered: false,
            unacked_after_failed_resume: Vec::new(),
            registered: false,
            roster_versioning: false,
        }
    }

    /// The transport is open: the client opens the stream.
    pub fn handle_connected(&mut self, now: Instant) {
        self.now = Some(now);
        if !matches!(self.phase, Phase::Idle) {
            self.events.push_back(Event::Error(Error::Misuse(
                "handle_connected while a transport is open or not wanted".into(),
            )));
            return;
        }
        self.connected = true;
        self.close_sent = false;
        self.keepalive_id = None;
        self.sm.new_connection();
        self.sm_offered = false;
        self.connections += 1;
        // Frames left over from a lost connection must not reach the new one.
        self.wire.connect(&self.config.domain);
        self.phase = Phase::AwaitingOpen(Stage::BeforeAuth);
        self.timers
            .set(Timer::Handshake, now + self.config.request_timeout);
    }

    /// One received WebSocket text frame, or over BOSH one HTTP response body (taken as
    /// the answer to the oldest unanswered request; see
    /// [`handle_bosh_response`](Self::handle_bosh_response)).
    pub fn handle_frame(&mut self, frame: &str, now: Instant) {
        if !self.accepts_input(now) {
            return;
        }
        if matches!(self.wire, Wire::Bosh(_)) {
            self.handle_bosh_body(None, frame, now);
            return;
        }
        let result = match framing::parse(frame, &self.config.limits) {
            Ok(Frame::Open { version, .. }) => self.handle_open(version.as_deref()),
            Ok(Frame::Close { see_other_uri }) => {
                self.handle_close(see_other_uri);
                Ok(())
            }
            Ok(Frame::Element(element)) => self.handle_element(element, now),
            Err(error) => {
                let refusal = framing::refusal(&error);
                return self.fail_with(Error::Peer(error.to_string()), Some(refusal));
            }
        };
        if let Err(error) = result {
            self.fail(error);
        }
    }

    /// BOSH: the HTTP response body to the request `rid` (from
    /// [`poll_bosh_request`](Self::poll_bosh_request)). Responses may come in any order;
    /// the client processes them in rid order.
    pub fn handle_bosh_response(&mut self, rid: u64, body: &str, now: Instant) {
        if self.accepts_input(now) {
            self.handle_bosh_body(Some(rid), body, now);
        }
    }

    /// BOSH: request `rid` got no usable response (network error, HTTP 5xx, timeout after
    /// [`bosh_request_timeout`](Self::bosh_request_timeout)). The client sends it again with
    /// the same rid ([`bosh::MAX_RETRIES`] times in a row at most, then the connection is
    /// lost). For a 4xx status (the session is gone), call
    /// [`handle_disconnected`](Self::handle_disconnected) instead.
    ///
    /// A resent rid recovers a lost request, not a lost response: connection managers that
    /// do not cache responses (XEP-0124 §14.3 is optional; Prosody does not) drop the
    /// stanzas the lost response carried.
    pub fn handle_http_error(&mut self, rid: u64, now: Instant) {
        self.now = Some(now);
        if self.ended || matches!(self.phase, Phase::Idle | Phase::Reconnecting) {
            return;
        }
        let Wire::Bosh(session) = &mut self.wire else {
            return;
        };
        if let Err(attempts) = session.lost(rid) {
            if matches!(self.phase, Phase::Closing) {
                self.finish(None);
            } else {
                self.fail(Error::Transport(format!(
                    "BOSH request failed {attempts} times in a row"
                )));
            }
        }
    }

    /// BOSH: the next request to POST, with its rid (`None` over WebSocket). Drain it as
    /// [`poll_transmit`](Self::poll_transmit) is drained; the two share one queue.
    pub fn poll_bosh_request(&mut self) -> Option<bosh::Request> {
        let keep_pending = self.keeps_request_pending();
        self.wire.poll_request(keep_pending)
    }

    /// BOSH: how long the driver lets one HTTP request run before calling
    /// [`handle_http_error`](Self::handle_http_error): the server's `wait` plus the request
    /// timeout. `None` over WebSocket.
    pub fn bosh_request_timeout(&self) -> Option<Duration> {
        match self.config.transport {
            Transport::WebSocket => None,
            Transport::Bosh { wait, .. } => Some(wait + self.config.request_timeout),
        }
    }

    /// Call when [`poll_timeout`](Self::poll_timeout)'s instant has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        for timer in self.timers.take_expired(now) {
            match timer {
                Timer::Handshake if matches!(self.phase, Phase::Closing) => self.finish(None),
                Timer::Handshake if matches!(self.phase, Phase::Resuming) => {
                    // The server never answered `<resume/>`: next time, a fresh session.
                    self.abandon_resumption();
                    self.fail(Error::Timeout("the session's resumption"));
                }
                Timer::Handshake => self.fail(Error::Timeout("stream negotiation")),
                Timer::Ping => self.send_keepalive(now),
                Timer::PongDeadline => self.fail(Error::Timeout("an answer to our ping")),
                Timer::IqDeadline => self.expire_iqs(now),
                Timer::Reconnect => self.phase = Phase::Idle,
                Timer::AckRequest => self.request_ack(),
                Timer::SelfPing => self.self_ping(now),
            }
        }
    }

    /// The transport closed (or failed) underneath us.
    pub fn handle_disconnected(&mut self, now: Instant) {
        self.now = Some(now);
        self.connected = false;
        match self.phase {
            Phase::Closing => self.finish(None),
            Phase::Reconnecting => {}
            Phase::Idle => self.fail(Error::Transport("could not connect".into())),
            _ => self.fail(Error::Transport("connection closed".into())),
        }
    }

    /// The next WebSocket frame, or BOSH request body, to send, if any. Drain until `None`.
    pub fn poll_transmit(&mut self) -> Option<String> {
        let keep_pending = self.keeps_request_pending();
        self.wire.poll_frame(keep_pending)
    }

    /// The next event, if any. Drain until `None`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Our full JID once bound.
    pub fn bound_jid(&self) -> Option<&str> {
        self.bound_jid.as_deref()
    }

    pub fn is_online(&self) -> bool {
        matches!(self.phase, Phase::Online)
    }

    /// Whether the driver should open a transport now (first connection, or reconnection
    /// once the backoff delay has passed).
    pub fn wants_transport(&self) -> bool {
        !self.ended && matches!(self.phase, Phase::Idle)
    }

    /// Joins `room` (a bare room JID) as `nick`; answered by [`Event::RoomJoined`] or
    /// [`Event::RoomJoinFailed`].
    pub fn join_room(&mut self, room: &str, nick: &str, history: History) -> Result<(), Error> {
        self.join_room_with_password(room, nick, history, None)
    }

    /// As [`join_room`](Self::join_room), with the room's password (XEP-0045 §7.2.6), kept
    /// to rejoin after a lost session.
    pub fn join_room_with_password(
        &mut self,
        room: &str,
        nick: &str,
        history: History,
        password: Option<&str>,
    ) -> Result<(), Error> {
        self.require_online()?;
        let room = bare_room(room)?;
        check_nick(nick)?;
        if self.rooms.contains_key(&room) {
            return Err(Error::Misuse(format!("already in or joining {room}")));
        }
        self.send(&muc::join_presence(&room, nick, &history, password).to_element());
        self.rooms.insert(
            room,
            Room {
                nick: nick.to_owned(),
                joined: false,
                leaving: false,
                password: password.map(str::to_owned),
                archive: RoomCursor::default(),
            },
        );
        Ok(())
    }

    /// With [`ClientConfig::catch_up`]: the archive id of the newest message shown in
    /// `room` that everything before it was shown too (it does not move on live messages
    /// while a catch-up runs). Keep it to start a later session with
    /// [`set_archive_cursor`](Self::set_archive_cursor).
    pub fn archive_cursor(&self, room: &str) -> Option<&str> {
        let room = bare_room(room).ok()?;
        self.rooms.get(&room)?.archive.position()
    }

    /// With [`ClientConfig::catch_up`]: once in `room` (joined or joining), show what its
    /// archive holds after `archive_id` (kept from an earlier session or process) before
    /// carrying on live. Call right after [`join_room`](Self::join_room).
    pub fn set_archive_cursor(&mut self, room: &str, archive_id: &str) -> Result<(), Error> {
        let room = bare_room(room)?;
        let state = self
            .rooms
            .get_mut(&room)
            .ok_or_else(|| Error::Misuse(format!("not in or joining {room}")))?;
        state.archive.set_position(archive_id);
        Ok(())
    }

    /// Asks for another nick in a joined room (XEP-0045 §7.6): [`Event::RoomNickChanged`]
    /// follows, or [`Event::Error`] with `conflict` if it is taken.
    pub fn change_nick(&mut self, room: &str, nick: &str) -> Result<(), Error> {
        let room = self.joined_room(room)?;
        check_nick(nick)?;
        let presence =
            Presence::new(crate::stanza::PresenceType::Available).with_to(format!("{room}/{nick}"));
        self.send(&presence.to_element());
        Ok(())
    }

    /// Changes the subject of a joined room (XEP-0045 §8.1); returns the message id. The
    /// room answers with [`Event::RoomSubject`], or [`Event::MessageError`] (`forbidden`).
    pub fn set_room_subject(&mut self, room: &str, subject: &str) -> Result<String, Error> {
        let room = self.joined_room(room)?;
        let id = self.next_id();
        self.send(&muc::set_subject(&room, &id, subject).to_element());
        Ok(id)
    }

    /// Sends a private message to occupant `nick` of a joined room (XEP-0045 §7.5);
    /// returns its id. Their answers arrive as [`Event::Message`] of type chat from
    /// `room/nick`.
    pub fn send_private_message(
        &mut self,
        room: &str,
        nick: &str,
        body: &str,
    ) -> Result<String, Error> {
        let room = self.joined_room(room)?;
        check_nick(nick)?;
        let id = self.next_id();
        self.send(&muc::private_message(&room, nick, &id, body).to_element());
        Ok(id)
    }

    /// Kicks occupant `nick` (moderators; XEP-0045 §8.2). Answered by [`Event::IqResult`];
    /// the occupant's [`Event::Occupant`] shows them gone.
    pub fn kick_occupant(
        &mut self,
        room: &str,
        nick: &str,
        reason: Option<&str>,
    ) -> Result<String, Error> {
        let room = bare_room(room)?;
        self.send_iq(muc::set_role(&room, nick, Role::None, reason))
    }

    /// Bans the bare JID `user` from `room` (admins; XEP-0045 §9.1). Answered by
    /// [`Event::IqResult`].
    pub fn ban_user(
        &mut self,
        room: &str,
        user: &str,
        reason: Option<&str>,
    ) -> Result<String, Error> {
        let room = bare_room(room)?;
        self.send_iq(muc::set_affiliation(
            &room,
            user,
            Affiliation::Outcast,
            reason,
        ))
    }

    /// Destroys `room` (owners; XEP-0045 §10.9), pointing occupants to `alternate`.
    /// Answered by [`Event::IqResult`]; we get [`Event::RoomLeft`] as everyone else.
    pub fn destroy_room(
        &mut self,
        room: &str,
        reason: Option<&str>,
        alternate: Option<&str>,
    ) -> Result<String, Error> {
        let room = bare_room(room)?;
        self.send_iq(muc::destroy(&room, reason, alternate))
    }

    /// Lists the public rooms of the MUC `service` (e.g. `rooms.localhost`, XEP-0045
    /// §6.3); answered by [`Event::RoomList`].
    pub fn list_rooms(&mut self, service: &str) -> Result<String, Error> {
        Jid::parse(service).map_err(|e| Error::Misuse(e.to_string()))?;
        self.request(
            disco::items_request(Some(service), None),
            Purpose::RoomList(service.to_owned()),
        )
    }

    /// Asks for the owner configuration form of `room` (XEP-0045 §10.2); answered by
    /// [`Event::RoomConfigForm`]. Submit changes with
    /// [`configure_room`](Self::configure_room).
    pub fn request_room_config(&mut self, room: &str) -> Result<String, Error> {
        let room = bare_room(room)?;
        self.request(
            muc::config_form_request(&room),
            Purpose::RoomConfig(room.clone()),
        )
    }

    /// Leaves `room`; [`Event::RoomLeft`] follows when the room confirms.
    pub fn leave_room(&mut self, room: &str) -> Result<(), Error> {
        self.require_online()?;
        let room = bare_room(room)?;
        let nick = match self.rooms.get_mut(&room) {
            Some(state) => {
                state.leaving = true;
                state.nick.clone()
            }
            None => return Err(Error::Misuse(format!("not in {room}"))),
        };
        self.send(&muc::leave_presence(&room, &nick).to_element());
        Ok(())
    }

    /// Sends a groupchat message with an optional payload element to a joined room; returns
    /// its id, also sent as XEP-0359 origin-id.
    pub fn send_groupchat(
        &mut self,
        room: &str,
        body: &str,
        payload: Option<Element>,
    ) -> Result<String, Error> {
        let id = self.next_id();
        self.send_groupchat_with_id(room, &id, body, payload)?;
        Ok(id)
    }

    /// As [`send_groupchat`](Self::send_groupchat), with the caller's id (e.g. an event ULID).
    pub fn send_groupchat_with_id(
        &mut self,
        room: &str,
        id: &str,
        body: &str,
        payload: Option<Element>,
    ) -> Result<(), Error> {
        self.require_online()?;
        let room = bare_room(room)?;
        if !self.rooms.get(&room).is_some_and(|state| state.joined) {
            return Err(Error::Misuse(format!("not joined to {room}")));
        }
        if id.is_empty() {
            return Err(Error::Misuse("empty message id".into()));
        }
        self.send(&muc::groupchat(&room, id, body, payload).to_element());
        Ok(())
    }

    /// Tells `room` (joined) our XEP-0085 chat state, e.g. [`ChatState::Composing`] while
    /// typing, in a bodiless groupchat message hinted not to be stored.
    pub fn send_room_chat_state(&mut self, room: &str, state: ChatState) -> Result<(), Error> {
        let room = self.joined_room(room)?;
        self.send(&muc::chat_state_notification(&room, state).to_element());
        Ok(())
    }

    /// Sends a one-to-one message; returns its id.
    pub fn send_message(
        &mut self,
        to: &str,
        kind: MessageType,
        body: &str,
    ) -> Result<String, Error> {
        if kind == MessageType::Error {
            return Err(Error::Misuse(
                "messages of type error are only sent in reply".into(),
            ));
        }
        self.send_direct(to, Message::new(kind).with_body(body))
    }

    /// Sends `message` to `to` with a fresh id; returns the id.
    fn send_direct(&mut self, to: &str, message: Message) -> Result<String, Error> {
        self.require_online()?;
        Jid::parse(to).map_err(|e| Error::Misuse(e.to_string()))?;
        let id = self.next_id();
        self.send(&message.with_to(to).with_id(id.clone()).to_element());
        Ok(id)
    }

    /// Sends any presence (e.g. initial availability).
    pub fn send_presence(&mut self, presence: Presence) -> Result<(), Error> {
        self.require_online()?;
        self.send(&presence.to_element());
        Ok(())
    }

    /// Sends an IQ get/set; an empty `iq.id` gets a fresh one. The answer arrives as
    /// [`Event::IqResult`] with the returned id.
    pub fn send_iq(&mut self, mut iq: Iq) -> Result<String, Error> {
        self.require_online()?;
        if !matches!(iq.kind, IqType::Get | IqType::Set) || iq.payload.is_none() {
            return Err(Error::Misuse(
                "send_iq takes a get or set with a payload".into(),
            ));
        }
        if iq.id.is_empty() {
            iq.id = self.next_id();
        }
        self.send_request(iq, Purpose::Caller)
    }

    /// Fetches one page of `room`'s archive (XEP-0313), oldest first: each message arrives
    /// as [`Event::ArchivedMessage`], then [`Event::ArchiveQueryDone`] says whether to ask
    /// for the next page (`after_id` = its `last_id`). Returns the query id.
    pub fn query_room_archive(&mut self, room: &str, query: ArchiveQuery) -> Result<String, Error> {
        let room = bare_room(room)?;
        self.require_online()?;
        self.send_archive_query(Some(&room), &query, Purpose::ArchiveQuery)
    }

    /// Fetches one page of our own archive (XEP-0313), filtered by `query.with`,
    /// `start`/`end`, paged with `after_id`/`before_id`: each message arrives as
    /// [`Event::ArchivedPersonalMessage`], then [`Event::ArchiveQueryDone`]. Returns the
    /// query id.
    pub fn query_archive(&mut self, query: ArchiveQuery) -> Result<String, Error> {
        self.require_online()?;
        self.send_archive_query(None, &query, Purpose::PersonalArchive)
    }

    fn send_archive_query(
        &mut self,
        archive: Option<&str>,
        query: &ArchiveQuery,
        purpose: Purpose,
    ) -> Result<String, Error> {
        let query_id = self.next_id();
        self.send_request(mam::request(archive, &query_id, query), purpose)
    }

    /// Sends a request of ours with a fresh id.
    fn request(&mut self, iq: Iq, purpose: Purpose) -> Result<String, Error> {
        self.require_online()?;
        let iq = Iq {
            id: self.next_id(),
            ..iq
        };
        self.send_request(iq, purpose)
    }

    /// `room` as a bare JID, if we are in it.
    fn joined_room(&self, room: &str) -> Result<String, Error> {
        self.require_online()?;
        let room = bare_room(room)?;
        if self.rooms.get(&room).is_some_and(|state| state.joined) {
            Ok(room)
        } else {
            Err(Error::Misuse(format!("not joined to {room}")))
        }
    }

    fn send_request(&mut self, iq: Iq, purpose: Purpose) -> Result<String, Error> {
        if self.pending_iqs.contains_key(&iq.id) {
            return Err(Error::Misuse(format!("IQ id {} is already pending", iq.id)));
        }
        let now = self
            .now
            .ok_or_else(|| Error::Misuse("no time given yet".into()))?;
        self.pending_iqs.insert(
            iq.id.clone(),
            PendingIq {
                to: iq.to.clone(),
                deadline: now + self.config.request_timeout,
                purpose,
            },
        );
        self.arm_iq_deadline();
        self.send(&iq.to_element());
        Ok(iq.id)
    }

    /// Submits the room configuration form (owner only; see [`muc::configure`]). No fields
    /// accepts the defaults and unlocks a room we just created.
    pub fn configure_room(&mut self, room: &str, fields: &[(&str, &str)]) -> Result<String, Error> {
        let room = bare_room(room)?;
        self.send_iq(muc::configure(&room, fields))
    }

    /// Asks for the roster (RFC 6121 §2.1.3); answered by [`Event::Roster`]. With the
    /// `version` of a roster received before (`Some("")` for none yet) and a server that
    /// versions rosters, only the changes come, as [`Event::RosterPush`]es.
    ///
    /// Ask before sending initial presence (RFC 6121 §2.2): servers push roster changes
    /// only to resources that asked for the roster (§2.1.6, Prosody included).
    pub fn request_roster(&mut self, version: Option<&str>) -> Result<String, Error> {
        // RFC 6121 §2.6.3: `ver` only goes to a server that advertised versioning.
        let version = version.filter(|_| self.roster_versioning);
        self.request(roster::request(version), Purpose::Query(Query::Roster))
    }

    /// Adds a contact, or updates its name and groups (RFC 6121 §2.3, §2.4). Answered by
    /// [`Event::IqResult`]; the change itself comes back as an [`Event::RosterPush`].
    /// Adding does not subscribe: see [`send_subscription`](Self::send_subscription).
    pub fn set_roster_item(&mut self, item: &RosterItem) -> Result<String, Error> {
        self.request(roster::set_item(item)?, Purpose::Caller)
    }

    /// Removes a contact (bare JID) and cancels subscriptions both ways (RFC 6121 §2.5).
    /// Answered by [`Event::IqResult`], then an [`Event::RosterPush`] with `Remove`.
    pub fn remove_roster_item(&mut self, jid: &str) -> Result<String, Error> {
        self.request(roster::remove_item(jid)?, Purpose::Caller)
    }

    /// Sends a subscription request or answer to a contact (bare JID; RFC 6121 §3):
    /// `Subscribe` asks to see their presence, `Subscribed` accepts their request,
    /// `Unsubscribed` refuses it (or revokes it), `Unsubscribe` stops seeing theirs.
    pub fn send_subscription(&mut self, to: &str, action: SubscriptionAction) -> Result<(), Error> {
        self.require_online()?;
        self.send(&roster::subscription_presence(to, action)?.to_element());
        Ok(())
    }

    /// Sends a chat message to `to`, with a XEP-0085 chat state (usually
    /// [`ChatState::Active`]) or none; returns its id.
    pub fn send_chat(
        &mut self,
        to: &str,
        body: &str,
        state: Option<ChatState>,
    ) -> Result<String, Error> {
        let mut message = Message::new(MessageType::Chat).with_body(body);
        if let Some(state) = state {
            message = message.with_chat_state(state);
        }
        self.send_direct(to, message)
    }

    /// Sends a bare XEP-0085 chat state (e.g. [`ChatState::Composing`] while typing) to
    /// `to`, hinted not to be stored; returns its id.
    pub fn send_chat_state(&mut self, to: &str, state: ChatState) -> Result<String, Error> {
        self.send_direct(to, chatstates::notification(state))
    }

    /// Asks `to` (`None`: our own account) for its identities and features (XEP-0030);
    /// answered by [`Event::DiscoInfo`].
    pub fn query_disco_info(
        &mut self,
        to: Option<&str>,
        node: Option<&str>,
    ) -> Result<String, Error> {
        self.request(
            disco::info_request(to, node),
            Purpose::Query(Query::DiscoInfo),
        )
    }

    /// Asks `to` for its items (XEP-0030); answered by [`Event::DiscoItems`].
    pub fn query_disco_items(
        &mut self,
        to: Option<&str>,
        node: Option<&str>,
    ) -> Result<String, Error> {
        self.request(
            disco::items_request(to, node),
            Purpose::Query(Query::DiscoItems),
        )
    }

    /// Asks `to` (a full JID, or a server) what software it runs (XEP-0092); answered by
    /// [`Event::SoftwareVersion`].
    pub fn query_version(&mut self, to: &str) -> Result<String, Error> {
        Jid::parse(to).map_err(|e| Error::Misuse(e.to_string()))?;
        self.request(version::request(to), Purpose::Query(Query::Version))
    }

    /// Asks for the vCard of `jid` (a bare JID; `None` for ours; XEP-0054); answered by
    /// [`Event::VCard`].
    pub fn request_vcard(&mut self, jid: Option<&str>) -> Result<String, Error> {
        self.request(vcard::request(jid)?, Purpose::Query(Query::VCard))
    }

    /// Replaces our own vCard (XEP-0054); answered by [`Event::IqResult`].
    pub fn set_vcard(&mut self, vcard: &VCard) -> Result<String, Error> {
        self.request(vcard::set(vcard), Purpose::Caller)
    }

    /// Changes the account's password (XEP-0077 §3.3); answered by [`Event::IqResult`].
    /// Once accepted, reconnections log in with the new password.
    pub fn change_password(&mut self, new_password: &str) -> Result<String, Error> {
        self.require_online()?;
        let Some(credentials) = self.credentials()? else {
            return Err(Error::Misuse("an anonymous session has no password".into()));
        };
        if new_password.is_empty() {
            return Err(Error::Misuse("empty password".into()));
        }
        let query = Query::Password(new_password.to_owned());
        let iq = register::set_credentials(&credentials.username, new_password);
        self.request(iq, Purpose::Query(query))
    }

    /// Deletes the account (XEP-0077 §3.2); answered by [`Event::IqResult`]. Once the
    /// server accepts, the session ends: [`Event::Disconnected`] without error.
    pub fn remove_account(&mut self) -> Result<String, Error> {
        if self.config.jid.is_none() {
            return Err(Error::Misuse("an anonymous session has no account".into()));
        }
        self.request(
            register::remove_account(),
            Purpose::Query(Query::RemoveAccount),
        )
    }

    /// Closes the stream politely; [`Event::Disconnected`] follows the server's `<close/>`.
    pub fn close(&mut self) {
        match self.phase {
            _ if self.ended => {}
            Phase::Closing | Phase::Closed => {}
            Phase::Idle | Phase::Reconnecting => self.finish(None),
            _ => {
                self.send_close();
                self.phase = Phase::Closing;
                self.timers.stop_all();
                if let Some(now) = self.now {
                    self.timers
                        .set(Timer::Handshake, now + self.config.request_timeout);
                }
            }
        }
    }

    /// Records `now`; whether input is expected at all. Any traffic proves the connection
    /// alive.
    fn accepts_input(&mut self, now: Instant) -> bool {
        self.now = Some(now);
        if self.ended || matches!(self.phase, Phase::Idle | Phase::Reconnecting) {
            return false;
        }
        self.timers.stop(Timer::PongDeadline);
        if matches!(self.phase, Phase::Online) {
            self.arm_ping(now);
        }
        true
    }

    /// Over BOSH the driver must keep one request at the server while the stream is open.
    fn keeps_request_pending(&self) -> bool {
        matches!(
            self.phase,
            Phase::AwaitingFeatures(_)
                | Phase::Registering { .. }
                | Phase::Authenticating(_)
                | Phase::Binding { .. }
                | Phase::Resuming
                | Phase::Online
        )
    }

    fn handle_bosh_body(&mut self, rid: Option<u64>, body: &str, now: Instant) {
        let Wire::Bosh(session) = &mut self.wire else {
            self.events.push_back(Event::Error(Error::Misuse(
                "a BOSH response given to a WebSocket client".into(),
            )));
            return;
        };
        let incoming = match session.receive(rid, body, &self.config.limits) {
            Ok(incoming) => incoming,
            Err(error) => return self.fail(Error::Peer(error.to_string())),
        };
        for item in incoming {
            // An earlier item may have ended the connection.
            if self.ended || matches!(self.phase, Phase::Idle | Phase::Reconnecting) {
                return;
            }
            let result = match item {
                // Closed before the session even existed: nothing left to open.
                Incoming::Created { .. } if matches!(self.phase, Phase::Closing) => Ok(()),
                Incoming::Created { version } => self.handle_open(version.as_deref()),
                Incoming::Element(element) => self.handle_element(element, now),
                Incoming::Terminated { condition } => {
                    self.handle_terminate(condition);
                    Ok(())
                }
            };
            if let Err(error) = result {
                return self.fail(error);
            }
        }
        let drained = matches!(&self.wire, Wire::Bosh(session) if session.is_drained());
        if matches!(self.phase, Phase::Closing) && drained {
            self.finish(None);
        }
    }

    /// The connection manager ended the BOSH session (XEP-0124 §17.2 conditions).
    fn handle_terminate(&mut self, condition: Option<String>) {
        if matches!(self.phase, Phase::Closing) {
            return self.finish(None);
        }
        let error = match condition.as_deref() {
            Some(
                condition @ ("bad-request"
                | "host-gone"
                | "host-unknown"
                | "improper-addressing"
                | "policy-violation"),
            ) => Error::ServerRefused(Refusal::Stream {
                condition: condition.to_owned(),
                text: None,
            }),
            Some(condition) => Error::Transport(format!("BOSH session terminated ({condition})")),
            None => Error::Transport("BOSH session terminated".into()),
        };
        self.fail(error);
    }

    fn handle_open(&mut self, version: Option<&str>) -> Result<(), Error> {
        match mem::replace(&mut self.phase, Phase::Closed) {
            Phase::AwaitingOpen(stage) if version == Some("1.0") => {
                self.phase = Phase::AwaitingFeatures(stage);
                Ok(())
            }
            Phase::AwaitingOpen(_) => Err(Error::Incompatible(format!(
                "stream version {} instead of 1.0",
                version.unwrap_or("(none)")
            ))),
            _ => Err(Error::Peer("unexpected <open/>".into())),
        }
    }

    fn handle_close(&mut self, see_other_uri: Option<String>) {
        if matches!(self.phase, Phase::Closing) {
            self.finish(None);
            return;
        }
        let reason = match see_other_uri {
            Some(uri) => format!("server closed the stream, asking to reconnect to {uri}"),
            None => "server closed the stream".to_owned(),
        };
        self.fail(Error::Transport(reason));
    }

    fn handle_element(&mut self, element: Element, now: Instant) -> Result<(), Error> {
        if element.is("error", STREAM_NS) {
            return Err(Error::ServerRefused(stream_error_refusal(&element)));
        }
        self.phase = match mem::replace(&mut self.phase, Phase::Closed) {
            Phase::AwaitingFeatures(Stage::BeforeAuth) if self.config.probe_registration => {
                expect_features(&element)?;
                self.events.push_back(Event::RegistrationOffered {
                    domain: self.config.domain.clone(),
                    offered: register::is_offered(&element),
                });
                // What `close` expects to leave: the stream as it was.
                self.phase = Phase::AwaitingFeatures(Stage::BeforeAuth);
                self.close();
                return Ok(());
            }
            Phase::AwaitingFeatures(Stage::BeforeAuth)
                if self.config.register && !self.registered =>
            {
                self.start_registration(&element)?
            }
            Phase::AwaitingFeatures(Stage::BeforeAuth) => self.start_authentication(&element)?,
            Phase::Registering {
                request_id,
                features,
            } => self.finish_registration(&request_id, &features, &element)?,
            Phase::AwaitingFeatures(Stage::AfterAuth) => self.start_binding(&element)?,
            Phase::Authenticating(exchange) => self.continue_authentication(exchange, &element)?,
            Phase::Binding { request_id } => self.finish_binding(request_id, &element, now)?,
            Phase::Resuming => self.finish_resuming(&element, now)?,
            Phase::Online if element.ns() == SM_NS => {
                self.handle_stream_management(&element)?;
                Phase::Online
            }
            Phase::Online => {
                if sm::is_stanza(&element) {
                    self.sm.handled();
                }
                self.handle_stanza(element);
                Phase::Online
            }
            // Stanzas still in flight while closing are of no interest any more.
            Phase::Closing => Phase::Closing,
            Phase::Idle | Phase::Reconnecting | Phase::AwaitingOpen(_) | Phase::Closed => {
                return Err(Error::Peer(format!(
                    "<{}/> before the stream was opened",
                    element.name()
                )))
            }
        };
        Ok(())
    }

    /// XEP-0077 §3.1: create the account before authenticating to it.
    fn start_registration(&mut self, features: &Element) -> Result<Phase, Error> {
        expect_features(features)?;
        if !register::is_offered(features) {
            return Err(Error::Incompatible(
                "server offers no in-band registration (XEP-0077)".into(),
            ));
        }
        let credentials = self
            .credentials()?
            .ok_or_else(|| Error::Misuse("registering needs an account JID".into()))?;
        let request_id = self.next_id();
        let iq = Iq {
            id: request_id.clone(),
            ..register::set_credentials(&credentials.username, &credentials.password)
        };
        self.send(&iq.to_element());
        Ok(Phase::Registering {
            request_id,
            features: features.clone(),
        })
    }

    fn finish_registration(
        &mut self,
        request_id: &str,
        features: &Element,
        element: &Element,
    ) -> Result<Phase, Error> {
        let answer = Iq::from_element(element).map_err(|e| Error::Peer(e.to_string()))?;
        if answer.id != request_id || matches!(answer.kind, IqType::Get | IqType::Set) {
            return Err(Error::Peer(format!(
                "<{}/> while registering the account",
                element.name()
            )));
        }
        register::parse_answer(&answer)?;
        self.registered = true;
        let jid = self.config.jid.clone().unwrap_or_default();
        self.events.push_back(Event::Registered { jid });
        self.start_authentication(features)
    }

    /// RFC 6121 §2.1.6: acknowledge a push from our own account and report it; refuse
    /// forgeries and malformed pushes.
    fn handle_roster_push(&mut self, iq: &Iq) -> Iq {
        let own_bare = self.bound_jid.as_deref().map(jid::bare);
        match roster::parse_push(iq, own_bare) {
            Ok(push) => {
                self.events.push_back(Event::RosterPush {
                    item: push.item,
                    version: push.version,
                });
                Iq::result_for(iq, None)
            }
            Err(error) => {
                self.events.push_back(Event::Error(error));
                Iq::error_for(iq, StanzaError::new(ErrorType::Modify, "bad-request"))
            }
        }
    }

    /// The answer to an IM request (or why none will come), as its typed event.
    fn query_answered(
        &mut self,
        query: Query,
        id: String,
        from: Option<String>,
        result: Result<Option<&Element>, Error>,
    ) {
        let event = match query {
            Query::Roster => Event::Roster {
                id,
                result: result.and_then(roster::parse_result),
            },
            Query::DiscoInfo => Event::DiscoInfo {
                id,
                from,
                result: result.and_then(disco::parse_info),
            },
            Query::DiscoItems => Event::DiscoItems {
                id,
                from,
                result: result.and_then(disco::parse_items),
            },
            Query::Version => Event::SoftwareVersion {
                id,
                from,
                result: result.and_then(version::parse_answer),
            },
            Query::VCard => Event::VCard {
                id,
                from,
                result: result.and_then(vcard::parse_answer),
            },
            Query::Password(password) => {
                if result.is_ok() {
                    self.config.password = Some(password);
                }
                Event::IqResult {
                    id,
                    from,
                    result: result.map(Option::<&Element>::cloned),
                }
            }
            Query::RemoveAccount => {
                let removed = result.is_ok();
                self.events.push_back(Event::IqResult {
                    id,
                    from,
                    result: result.map(Option::<&Element>::cloned),
                });
                if removed {
                    // The server drops a removed account's stream: nothing to resume.
                    self.send_close();
                    self.finish(None);
                }
                return;
            }
        };
        self.events.push_back(event);
    }

    fn start_authentication(&mut self, features: &Element) -> Result<Phase, Error> {
        expect_features(features)?;
        let offered = sasl::offered_mechanisms(features);
        let with_credentials = self.config.jid.is_some();
        let mechanism = sasl::choose(&offered, with_credentials).ok_or_else(|| {
            let wanted = if with_credentials {
                "a password mechanism"
            } else {
                "ANONYMOUS"
            };
            Error::Incompatible(format!(
                "server offers [{}], we need {wanted}",
                offered.join(", ")
            ))
        })?;
        let credentials = self.credentials()?;
        // A distinct client nonce per login, even when reconnecting with the caller's nonce.
        let nonce = match self.connections {
            1 => self.nonce.clone(),
            later => format!("{}{later}", self.nonce),
        };
        let (exchange, auth) = Exchange::start(mechanism, credentials.as_ref(), &nonce)?;
        self.send(&auth);
        Ok(Phase::Authenticating(exchange))
    }

    fn credentials(&self) -> Result<Option<Credentials>, Error> {
        let Some(jid) = &self.config.jid else {
            return Ok(None);
        };
        let username = Jid::parse(jid)
            .ok()
            .and_then(|jid| jid.node().map(str::to_owned))
            .ok_or_else(|| Error::Misuse(format!("account JID `{jid}` has no local part")))?;
        let password = self
            .config
            .password
            .clone()
            .ok_or_else(|| Error::Misuse("an account JID needs a password".into()))?;
        Ok(Some(Credentials { username, password }))
    }

    fn continue_authentication(
        &mut self,
        exchange: Exchange,
        element: &Element,
    ) -> Result<Phase, Error> {
        match exchange.handle(element)? {
            Step::Respond { exchange, response } => {
                self.send(&response);
                Ok(Phase::Authenticating(exchange))
            }
            Step::Success => {
                // RFC 6120 §6.4.6: restart the stream over the same connection.
                if self.wire.restart(&self.config.domain) {
                    Ok(Phase::AwaitingOpen(Stage::AfterAuth))
                } else {
                    Ok(Phase::AwaitingFeatures(Stage::AfterAuth))
                }
            }
        }
    }

    fn start_binding(&mut self, features: &Element) -> Result<Phase, Error> {
        expect_features(features)?;
        if !bind::is_offered(features) {
            return Err(Error::Incompatible(
                "server offers no resource binding".into(),
            ));
        }
        self.sm_offered = self.config.stream_management && sm::is_offered(features);
        self.roster_versioning = roster::is_versioning_offered(features);
        if let Some(previd) = self.sm.resume_id.clone() {
            if self.sm_offered {
                self.send(&sm::resume(&previd, self.sm.inbound));
                return Ok(Phase::Resuming);
            }
            self.abandon_resumption();
        }
        Ok(self.request_binding())
    }

    fn request_binding(&mut self) -> Phase {
        let request_id = self.next_id();
        self.send(&bind::request(&request_id, self.config.resource.as_deref()).to_element());
        Phase::Binding { request_id }
    }

    /// XEP-0198 §5: `<resumed/>` carries on the old session; `<failed/>` means a new one.
    fn finish_resuming(&mut self, element: &Element, now: Instant) -> Result<Phase, Error> {
        if element.is("failed", SM_NS) {
            // What the server says it handled is not sent again.
            if let Ok(Some(h)) = sm::parse_h(element) {
                let _ = self.sm.acknowledge(h);
            }
            self.abandon_resumption();
            return Ok(self.request_binding());
        }
        if !element.is("resumed", SM_NS) {
            return Err(Error::Peer(format!(
                "<{}/> while resuming the session",
                element.name()
            )));
        }
        let h = sm::parse_h(element)?.ok_or_else(|| Error::Peer("<resumed/> without h".into()))?;
        self.sm.acknowledge(h)?;
        self.sm.enabled = true;
        self.sm.counting_inbound = true;
        for stanza in self.sm.take_unacked() {
            self.send(&stanza);
        }
        self.timers.stop(Timer::Handshake);
        self.arm_ping(now);
        self.arm_self_ping(now);
        self.arm_iq_deadline();
        self.failed_attempts = 0;
        let jid = self.bound_jid.clone().unwrap_or_default();
        self.events.push_back(Event::Resumed { jid });
        Ok(Phase::Online)
    }

    /// The session cannot be resumed: start a fresh one. Rooms are rejoined after binding,
    /// pending requests fail, and unacknowledged messages are sent again after the rejoin.
    fn abandon_resumption(&mut self) {
        self.unacked_after_failed_resume = self
            .sm
            .take_unacked()
            .into_iter()
            .filter(|stanza| stanza.name() == "message")
            .collect();
        self.sm.reset();
        self.forget_session(&Error::Transport(
            "connection lost and the session could not be resumed".into(),
        ));
    }

    /// `<r/>`, `<a/>`, `<enabled/>` and `<failed/>` while online.
    fn handle_stream_management(&mut self, element: &Element) -> Result<(), Error> {
        match element.name() {
            "r" => self.send(&sm::answer(self.sm.inbound)),
            "a" => {
                let h =
                    sm::parse_h(element)?.ok_or_else(|| Error::Peer("<a/> without h".into()))?;
                self.sm.acknowledge(h)?;
                if self.sm.has_unacked() {
                    self.arm_ack_request();
                }
            }
            "enabled" => {
                self.sm.counting_inbound = true;
                let resumable = matches!(element.attr("resume"), Some("true" | "1"));
                self.sm.resume_id = element.attr("id").filter(|_| resumable).map(str::to_owned);
            }
            // The server refused to enable it: carry on without.
            "failed" => self.sm.reset(),
            _ => {}
        }
        Ok(())
    }

    fn request_ack(&mut self) {
        if matches!(self.phase, Phase::Online) && self.sm.enabled && self.sm.has_unacked() {
            self.send(&sm::request());
        }
    }

    fn arm_ack_request(&mut self) {
        if let (None, Some(now)) = (self.timers.get(Timer::AckRequest), self.now) {
            self.timers
                .set(Timer::AckRequest, now + sm::ACK_REQUEST_DELAY);
        }
    }

    fn finish_binding(
        &mut self,
        request_id: String,
        element: &Element,
        now: Instant,
    ) -> Result<Phase, Error> {
        let response = Iq::from_element(element).map_err(|e| Error::Peer(e.to_string()))?;
        if response.id != request_id || matches!(response.kind, IqType::Get | IqType::Set) {
            return Err(Error::Peer(format!(
                "<{}/> while binding a resource",
                element.name()
            )));
        }
        let jid = bind::parse_response(&response)?;
        self.bound_jid = Some(jid.clone());
        self.timers.stop(Timer::Handshake);
        self.arm_ping(now);
        self.arm_self_ping(now);
        self.was_online = true;
        self.failed_attempts = 0;
        self.events.push_back(Event::Online { jid });
        if self.sm_offered {
            // Counting our stanzas starts with `<enable/>` (XEP-0198 §4). Resumption is not
            // asked for over BOSH: Prosody 0.12's mod_smacks fails on `<resume/>` from a
            // BOSH session (mod_smacks.lua:585, `rawsend` is nil) and never answers.
            let resume = matches!(self.config.transport, Transport::WebSocket);
            self.send(&sm::enable(resume));
            self.sm.enabled = true;
        }
        self.rejoin_rooms();
        for message in mem::take(&mut self.unacked_after_failed_resume) {
            self.send(&message);
        }
        Ok(Phase::Online)
    }

    fn handle_stanza(&mut self, element: Element) {
        match Stanza::from_owned_element(element) {
            Ok(Some(Stanza::Message(message))) => self.handle_message(message),
            Ok(Some(Stanza::Presence(presence))) => self.handle_presence(presence),
            Ok(Some(Stanza::Iq(iq))) => self.handle_iq(iq),
            // Other top-level elements (e.g. stream management we did not enable).
            Ok(None) => {}
            Err(error) => self
                .events
                .push_back(Event::Error(Error::Peer(error.to_string()))),
        }
    }

    fn handle_message(&mut self, message: Message) {
        if let Some(result) = mam::parse_result(&message) {
            // Only the archive we queried may send results for our query.
            let purpose = self
                .pending_iqs
                .get(&result.query_id)
                .filter(|pending| {
                    self.answers_come_from(pending.to.as_deref(), message.from.as_deref())
                })
                .map(|pending| pending.purpose.clone());
            if let Some(purpose) = purpose {
                if self.handle_archive_result(purpose, result) {
                    return;
                }
            }
        }
        if message.kind == MessageType::Error {
            let error = message
                .error
                .clone()
                .unwrap_or_else(|| StanzaError::new(ErrorType::Cancel, "undefined-condition"));
            self.events.push_back(Event::MessageError {
                from: message.from,
                id: message.id,
                error,
            });
            return;
        }
        let in_joined_room = message.kind == MessageType::Groupchat
            && message
                .from
                .as_deref()
                .and_then(|from| self.rooms.get(jid::bare(from)))
                .is_some_and(|room| room.joined);
        if !in_joined_room {
            self.events.push_back(Event::Message(message));
            return;
        }
        match (&message.subject, &message.body) {
            (Some(subject), None) => self.events.push_back(Event::RoomSubject {
                room: message
                    .from
                    .as_deref()
                    .map(jid::bare)
                    .unwrap_or_default()
                    .to_owned(),
                subject: subject.clone(),
            }),
            _ => {
                let Some(message) = RoomMessage::from_message(message) else {
                    return;
                };
                if let (None, Some(state)) = (&message.body, message.chat_state()) {
                    // Our own states come back from the room: only others' are news.
                    let ours = self
                        .rooms
                        .get(&message.room)
                        .is_some_and(|room| room.nick == message.nick);
                    if !ours {
                        self.events.push_back(Event::RoomChatState {
                            room: message.room,
                            nick: message.nick,
                            state,
                        });
                    }
                    return;
                }
                if self.config.catch_up {
                    let room = self.rooms.get_mut(&message.room);
                    if let (Some(room), Some(id)) = (room, message.stanza_id.as_deref()) {
                        if !room.archive.live(id) {
                            // Already shown by the catch-up.
                            return;
                        }
                    }
                }
                self.events.push_back(Event::GroupchatMessage(message));
            }
        }
    }

    /// A message of one of our archive queries; false if it is not one for `purpose`.
    fn handle_archive_result(&mut self, purpose: Purpose, result: mam::ArchiveResult) -> bool {
        match purpose {
            Purpose::ArchiveQuery => {
                let query_id = result.query_id.clone();
                let Some(message) = result.into_room_message() else {
                    return false;
                };
                self.events
                    .push_back(Event::ArchivedMessage { query_id, message });
            }
            Purpose::PersonalArchive => self.events.push_back(Event::ArchivedPersonalMessage {
                query_id: result.query_id,
                archive_id: result.archive_id,
                message: result.message,
            }),
            Purpose::CatchUp(room) => {
                let state = self.rooms.get_mut(&room);
                if let (Some(state), Some(message)) = (state, result.into_room_message()) {
                    let archive_id = message.stanza_id.as_deref().unwrap_or_default();
                    if state.archive.archived(archive_id) {
                        self.events.push_back(Event::GroupchatMessage(message));
                    }
                }
            }
            Purpose::ArchiveBaseline(room) => {
                if let Some(state) = self.rooms.get_mut(&room) {
                    state.archive.baseline(Some(&result.archive_id));
                }
            }
            Purpose::Caller
            | Purpose::SelfPing(_)
            | Purpose::RoomList(_)
            | Purpose::RoomConfig(_)
            | Purpose::Query(_) => return false,
        }
        true
    }

    fn handle_presence(&mut self, presence: Presence) {
        if let (Some(action), Some(from)) = (
            roster::SubscriptionAction::from_presence_type(presence.kind),
            presence.from.as_deref(),
        ) {
            self.events.push_back(Event::Subscription {
                from: jid::bare(from).to_owned(),
                action,
                status: presence.status,
            });
            return;
        }
        let room_name = presence
            .from
            .as_deref()
            .map(jid::bare)
            .unwrap_or_default()
            .to_owned();
        let Some(room) = self.rooms.get_mut(&room_name) else {
            self.events.push_back(Event::Presence(presence));
            return;
        };
        let mut joined_now = false;
        let event = match muc::classify_presence(&presence, &room.nick) {
            Some(RoomPresence::SelfPresence {
                occupant, created, ..
            }) if occupant.available => {
                if room.joined {
                    Event::Occupant(occupant)
                } else {
                    room.joined = true;
                    joined_now = true;
                    room.nick.clone_from(&occupant.nick);
                    Event::RoomJoined {
                        room: occupant.room,
                        nick: occupant.nick,
                        role: occupant.role,
                        affiliation: occupant.affiliation,
                        created,
                    }
                }
            }
            Some(RoomPresence::SelfPresence {
                new_nick: Some(nick),
                ..
            }) => {
                room.nick.clone_from(&nick);
                Event::RoomNickChanged {
                    room: room_name.clone(),
                    nick,
                }
            }
            Some(RoomPresence::SelfPresence { left, .. }) => {
                self.rooms.remove(&room_name);
                Event::RoomLeft {
                    room: room_name.clone(),
                    reason: left.unwrap_or(LeaveReason::Left),
                }
            }
            Some(RoomPresence::Occupant(occupant)) => Event::Occupant(occupant),
            Some(RoomPresence::Error(error)) if !room.joined => {
                self.rooms.remove(&room_name);
                Event::RoomJoinFailed {
                    room: room_name.clone(),
                    error,
                }
            }
            Some(RoomPresence::Error(error)) => Event::Error(error.into()),
            None => Event::Presence(presence),
        };
        self.events.push_back(event);
        if joined_now && self.config.catch_up {
            self.query_archive_on_join(&room_name);
        }
    }

    /// In the room (again): learn where its archive stands, or fill the gap since then.
    fn query_archive_on_join(&mut self, room: &str) {
        let Some(state) = self.rooms.get_mut(room) else {
            return;
        };
        let (query, purpose) = match state.archive.on_join() {
            OnJoin::Baseline(query) => (query, Purpose::ArchiveBaseline(room.to_owned())),
            OnJoin::CatchUp(query) => (query, Purpose::CatchUp(room.to_owned())),
        };
        // Online with a clock, so sending cannot fail.
        let _ = self.send_archive_query(Some(room), &query, purpose);
    }

    /// The end of a catch-up page: ask for the next one, or report the catch-up done.
    fn catch_up_page_done(&mut self, room: String, page: Result<mam::ArchivePage, Error>) {
        let Some(state) = self.rooms.get_mut(&room) else {
            return;
        };
        let result = match page {
            Ok(page) => match state.archive.page_done(&page) {
                Ok(next) => {
                    let purpose = Purpose::CatchUp(room.clone());
                    let _ = self.send_archive_query(Some(&room), &next, purpose);
                    return;
                }
                Err(shown) => Ok(shown),
            },
            Err(error) => {
                state.archive.abort();
                Err(error)
            }
        };
        self.events.push_back(Event::RoomCaughtUp { room, result });
    }

    /// XEP-0410: ping ourselves in every joined room, then again after the interval.
    fn self_ping(&mut self, now: Instant) {
        let rooms: Vec<(String, String)> = self
            .rooms
            .iter()
            .filter(|(_, state)| state.joined && !state.leaving)
            .map(|(room, state)| (room.clone(), state.nick.clone()))
            .collect();
        for (room, nick) in rooms {
            let id = self.next_id();
            let _ = self.send_request(
                selfping::request(&room, &nick, &id),
                Purpose::SelfPing(room),
            );
        }
        self.arm_self_ping(now);
    }

    fn arm_self_ping(&mut self, now: Instant) {
        if !self.config.muc_self_ping.is_zero() {
            self.timers
                .set(Timer::SelfPing, now + self.config.muc_self_ping);
        }
    }

    /// The room answered our self-ping: rejoin if it no longer counts us in.
    fn self_ping_answered(&mut self, room: &str, error: Option<&StanzaError>) {
        if selfping::membership(error.map_or(Ok(()), Err)) != Membership::NotJoined {
            return;
        }
        let Some(state) = self
            .rooms
            .get_mut(room)
            .filter(|state| state.joined && !state.leaving)
        else {
            return;
        };
        state.joined = false;
        let join = muc::join_presence(room, &state.nick, &History::None, state.password.as_deref());
        self.send(&join.to_element());
    }

    fn handle_iq(&mut self, iq: Iq) {
        match iq.kind {
            IqType::Get | IqType::Set => {
                let answer = if ping::is_request(&iq) {
                    ping::answer(&iq)
                } else if disco::is_info_request(&iq) {
                    disco::answer_info(&iq)
                } else if disco::is_items_request(&iq) {
                    disco::answer_items(&iq)
                } else if version::is_request(&iq) {
                    version::answer(&iq)
                } else if roster::is_push(&iq) {
                    self.handle_roster_push(&iq)
                } else {
                    // RFC 6120 §8.4: a request nobody handles is answered, not dropped.
                    Iq::error_for(
                        &iq,
                        StanzaError::new(ErrorType::Cancel, "service-unavailable"),
                    )
                };
                self.send(&answer.to_element());
            }
            IqType::Result | IqType::Error => {
                if self.keepalive_id.as_deref() == Some(iq.id.as_str()) {
                    self.keepalive_id = None;
                    return;
                }
                let Some(pending) = self.pending_iqs.get(&iq.id) else {
                    return;
                };
                // RFC 6120 §8.1.2.1: only the addressee may answer; drop spoofed answers.
                if !self.answers_come_from(pending.to.as_deref(), iq.from.as_deref()) {
                    return;
                }
                let purpose = pending.purpose.clone();
                self.pending_iqs.remove(&iq.id);
                self.arm_iq_deadline();
                self.handle_answer(iq, purpose);
            }
        }
    }

    /// The answer to one of our requests, turned into the event its purpose calls for.
    fn handle_answer(&mut self, iq: Iq, purpose: Purpose) {
        let result = match (iq.kind, &iq.error) {
            (IqType::Error, Some(error)) => Err(Error::from(error.clone())),
            _ => Ok(iq.payload.as_ref()),
        };
        let event = match purpose {
            Purpose::Caller => Event::IqResult {
                result: result.map(Option::<&Element>::cloned),
                id: iq.id,
                from: iq.from,
            },
            Purpose::ArchiveQuery | Purpose::PersonalArchive => Event::ArchiveQueryDone {
                result: mam::parse_fin(&iq),
                query_id: iq.id,
            },
            Purpose::CatchUp(room) => return self.catch_up_page_done(room, mam::parse_fin(&iq)),
            Purpose::ArchiveBaseline(room) => {
                // The newest id came with the page, if the archive holds anything.
                if let (Ok(_), Some(state)) = (mam::parse_fin(&iq), self.rooms.get_mut(&room)) {
                    state.archive.baseline(None);
                }
                return;
            }
            Purpose::SelfPing(room) => return self.self_ping_answered(&room, iq.error.as_ref()),
            Purpose::RoomList(service) => Event::RoomList {
                result: result.and_then(disco::parse_items),
                id: iq.id,
                service,
            },
            Purpose::RoomConfig(room) => Event::RoomConfigForm {
                result: result.and_then(muc::parse_config_form),
                id: iq.id,
                room,
            },
            Purpose::Query(query) => return self.query_answered(query, iq.id, iq.from, result),
        };
        self.events.push_back(event);
    }

    /// A request of ours that will get no answer (timeout, lost session).
    fn fail_request(&mut self, id: String, pending: PendingIq, error: Error) {
        let event = match pending.purpose {
            Purpose::Caller => Event::IqResult {
                id,
                from: pending.to,
                result: Err(error),
            },
            Purpose::ArchiveQuery | Purpose::PersonalArchive => Event::ArchiveQueryDone {
                query_id: id,
                result: Err(error),
            },
            Purpose::CatchUp(room) => {
                if let Some(state) = self.rooms.get_mut(&room) {
                    state.archive.abort();
                }
                Event::RoomCaughtUp {
                    room,
                    result: Err(error),
                }
            }
            Purpose::RoomList(service) => Event::RoomList {
                id,
                service,
                result: Err(error),
            },
            Purpose::RoomConfig(room) => Event::RoomConfigForm {
                id,
                room,
                result: Err(error),
            },
            Purpose::Query(query) => return self.query_answered(query, id, pending.to, Err(error)),
            // Asked again at the next join or interval.
            Purpose::ArchiveBaseline(_) | Purpose::SelfPing(_) => return,
        };
        self.events.push_back(event);
    }

    fn answers_come_from(&self, to: Option<&str>, from: Option<&str>) -> bool {
        let own_bare = self.bound_jid.as_deref().map(jid::bare);
        match (to, from) {
            (Some(to), Some(from)) => to == from,
            (Some(to), None) => Some(to) == own_bare,
            (None, None) => true,
            (None, Some(from)) => {
                Some(from) == own_bare
                    || from == self.config.domain
                    || Some(from) == self.bound_jid.as_deref()
            }
        }
    }

    fn send_keepalive(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Online) {
            return;
        }
        let id = self.next_id();
        self.send(&ping::request(&id).to_element());
        self.keepalive_id = Some(id);
        self.timers
            .set(Timer::PongDeadline, now + self.config.ping_timeout);
    }

    fn expire_iqs(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .pending_iqs
            .iter()
            .filter(|(_, pending)| pending.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            let Some(pending) = self.pending_iqs.remove(&id) else {
                continue;
            };
            let what = match pending.purpose {
                Purpose::ArchiveQuery | Purpose::PersonalArchive | Purpose::CatchUp(_) => {
                    "the archive"
                }
                _ => "an IQ answer",
            };
            self.fail_request(id, pending, Error::Timeout(what));
        }
        self.arm_iq_deadline();
    }

    fn arm_ping(&mut self, now: Instant) {
        if !self.config.ping_interval.is_zero() {
            self.timers
                .set(Timer::Ping, now + self.config.ping_interval);
        }
    }

    fn arm_iq_deadline(&mut self) {
        let earliest = self
            .pending_iqs
            .values()
            .map(|pending| pending.deadline)
            .min();
        self.timers.set_or_stop(Timer::IqDeadline, earliest);
    }

    fn require_online(&self) -> Result<(), Error> {
        if matches!(self.phase, Phase::Online) {
            Ok(())
        } else {
            Err(Error::Misuse("not online (wait for Event::Online)".into()))
        }
    }

    fn next_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}-{}", self.id_prefix, self.next_id)
    }

    fn send(&mut self, element: &Element) {
        self.wire.send(element);
        if self.sm.enabled && sm::is_stanza(element) {
            self.sm.sent(element);
            self.arm_ack_request();
        }
    }

    fn send_close(&mut self) {
        if self.connected && !self.close_sent {
            self.close_sent = true;
            self.wire.close();
        }
    }

    /// Ends the session because of `error`, closing the stream if it is still open.
    fn fail(&mut self, error: Error) {
        self.fail_with(error, None);
    }

    /// [`fail`](Self::fail), telling the server why with `stream_error` (RFC 6120 §4.9) just
    /// before the `<close/>` when the stream is closed.
    fn fail_with(&mut self, error: Error, stream_error: Option<Element>) {
        if self.ended {
            return;
        }
        let close = |client: &mut Client| {
            if let Some(stream_error) = &stream_error {
                if client.connected && !client.close_sent {
                    client.wire.send(stream_error);
                }
            }
            client.send_close();
        };
        match self.config.reconnect {
            Some(backoff) if self.was_online && error.is_transient() => {
                // Closing the stream would end a session we mean to resume.
                if !self.sm.resumable() {
                    close(self);
                }
                self.lose_connection(error, backoff)
            }
            _ => {
                close(self);
                self.finish(Some(error))
            }
        }
    }

    /// Drops the connection's state and schedules the next attempt.
    fn lose_connection(&mut self, error: Error, backoff: Backoff) {
        // Every `handle_*` records `now` before anything can fail.
        let Some(now) = self.now else {
            return self.finish(Some(error));
        };
        self.phase = Phase::Reconnecting;
        self.connected = false;
        self.timers.stop_all();
        // A session that may be resumed keeps its rooms and pending requests.
        if !self.sm.resumable() {
            self.sm.reset();
            self.forget_session(&error);
        }
        let reconnect_at = now + backoff.delay(self.failed_attempts, self.reconnect_draw());
        self.failed_attempts = self.failed_attempts.saturating_add(1);
        self.timers.set(Timer::Reconnect, reconnect_at);
        self.events.push_back(Event::ConnectionLost {
            error,
            reconnect_at,
        });
    }

    /// A number for the reconnection's jitter, uniform over `u32`: drawn from the caller's
    /// random nonce (clients differ) and the attempt (attempts differ), as the core has no
    /// random source of its own.
    fn reconnect_draw(&self) -> u32 {
        let digest = Sha256::new()
            .chain_update(self.nonce.as_bytes())
            .chain_update(self.connections.to_le_bytes())
            .chain_update(self.failed_attempts.to_le_bytes())
            .finalize();
        u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The server forgot our session: we are in no room, pending requests fail with `error`.
    fn forget_session(&mut self, error: &Error) {
        self.bound_jid = None;
        for room in self.rooms.values_mut() {
            room.joined = false;
        }
        self.rooms.retain(|_, room| !room.leaving);
        for (id, pending) in mem::take(&mut self.pending_iqs) {
            self.fail_request(id, pending, error.clone());
        }
    }

    /// Rooms we were in before a reconnect: no history, the archive holds what we missed
    /// (fetched once rejoined, with [`ClientConfig::catch_up`]).
    fn rejoin_rooms(&mut self) {
        let joins: Vec<Presence> = self
            .rooms
            .iter()
            .map(|(room, state)| {
                muc::join_presence(room, &state.nick, &History::None, state.password.as_deref())
            })
            .collect();
        for join in joins {
            self.send(&join.to_element());
        }
    }

    /// Emits the one `Event::Disconnected` of this session.
    fn finish(&mut self, error: Option<Error>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.phase = Phase::Closed;
        self.timers.stop_all();
        self.events.push_back(Event::Disconnected { error });
    }
}

fn check_nick(nick: &str) -> Result<(), Error> {
    if nick.is_empty() || nick.contains('/') {
        Err(Error::Misuse(format!("invalid nick `{nick}`")))
    } else {
        Ok(())
    }
}

fn bare_room(room: &str) -> Result<String, Error> {
    match Jid::parse(room) {
        Ok(jid) if jid.node().is_some() && jid.resource().is_none() => Ok(jid.to_string()),
        _ => Err(Error::Misuse(format!("`{room}` is not a bare room JID"))),
    }
}

fn expect_features(element: &Element) -> Result<(), Error> {
    if element.is("features", STREAM_NS) {
        Ok(())
    } else {
        Err(Error::Peer(format!(
            "expected <stream:features/>, got <{}/>",
            element.name()
        )))
    }
}

fn stream_error_refusal(error: &Element) -> Refusal {
    let condition = error
        .children()
        .find(|child| child.ns() == STREAM_ERRORS_NS && child.name() != "text")
        .map_or("undefined-condition", Element::name)
        .to_owned();
    let text = error.get_child("text", STREAM_ERRORS_NS).map(Element::text);
    Refusal::Stream { condition, text }
}
