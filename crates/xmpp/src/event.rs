//! What a [`Client`](crate::Client) tells the application.

use web_time::Instant;

use crate::chatstates::ChatState;
use crate::data_form::DataForm;
use crate::disco::{DiscoInfo, DiscoItem};
use crate::error::Error;
use crate::mam::ArchivePage;
use crate::muc::{Affiliation, LeaveReason, Occupant, Role, RoomMessage};
use crate::roster::{Roster, RosterItem, SubscriptionAction};
use crate::stanza::{Message, Presence, StanzaError};
use crate::vcard::VCard;
use crate::version::SoftwareVersion;
use crate::xml::Element;

/// What the application learns from [`Client::poll_event`](crate::Client::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Negotiation finished: commands are accepted from now on.
    Online { jid: String },
    /// After [`Event::ConnectionLost`], the session was resumed (XEP-0198): rooms and
    /// pending requests carry on, stanzas lost either way were sent again. No `Online` or
    /// `RoomJoined` follows.
    Resumed { jid: String },
    /// Our own presence came back from the room (status 110): we are in. Also after the
    /// client rejoined by itself (new session, or XEP-0410 self-ping found us out).
    RoomJoined {
        room: String,
        nick: String,
        role: Role,
        affiliation: Affiliation,
        /// We created the room; it may stay locked until
        /// [`Client::configure_room`](crate::Client::configure_room).
        created: bool,
    },
    /// The room refused the join: `error.condition` is `conflict` when the nick is taken,
    /// `not-authorized` for a missing or wrong password, `forbidden` when banned,
    /// `registration-required` for members-only rooms.
    RoomJoinFailed { room: String, error: StanzaError },
    /// We are out of the room: we left, were kicked or banned, or it was destroyed.
    RoomLeft { room: String, reason: LeaveReason },
    /// Our nick in `room` changed (after [`Client::change_nick`](crate::Client::change_nick)).
    RoomNickChanged { room: String, nick: String },
    /// With [`ClientConfig::catch_up`](crate::ClientConfig::catch_up): the messages missed
    /// in `room` while the session was lost were emitted as [`Event::GroupchatMessage`]s
    /// (`Ok(count)`), or the archive could not be read.
    RoomCaughtUp {
        room: String,
        result: Result<u32, Error>,
    },
    /// The answer to [`Client::list_rooms`](crate::Client::list_rooms): the service's
    /// public rooms (`jid`, and `name` when the room has one).
    RoomList {
        id: String,
        service: String,
        result: Result<Vec<DiscoItem>, Error>,
    },
    /// The answer to [`Client::request_room_config`](crate::Client::request_room_config).
    RoomConfigForm {
        id: String,
        room: String,
        result: Result<DataForm, Error>,
    },
    /// The room's subject: sent after the history replay, so live messages follow.
    RoomSubject { room: String, subject: String },
    /// Another occupant arrived, changed role, availability or status text, or left; or our
    /// own role changed.
    Occupant(Occupant),
    /// A groupchat message in a room we joined (our own messages come back too); a bodiless
    /// one that only carries a chat state comes as [`Event::RoomChatState`] instead.
    GroupchatMessage(RoomMessage),
    /// Another occupant's XEP-0085 chat state in a room we joined (e.g. composing), sent
    /// without a body; the state carried by a message with a body is
    /// [`RoomMessage::chat_state`].
    RoomChatState {
        room: String,
        nick: String,
        state: ChatState,
    },
    /// Any other message (chat, headline, normal, or groupchat from a room we are not in).
    /// [`Message::chat_state`] reads its XEP-0085 chat state (a message may carry only
    /// that, without a body); `delay` is set on messages stored while we were offline and
    /// delivered after our initial presence (XEP-0203: `delay.stamp` is when it was sent).
    Message(Message),
    /// A message bounced with an error, e.g. `forbidden` when a visitor speaks.
    MessageError {
        from: Option<String>,
        id: Option<String>,
        error: StanzaError,
    },
    /// One message of a room archive page (oldest first); its `stanza_id` is the archive
    /// id and its `delay` the original time.
    ArchivedMessage {
        query_id: String,
        message: RoomMessage,
    },
    /// One message of a page of our own archive
    /// ([`Client::query_archive`](crate::Client::query_archive)), oldest first; `message.delay`
    /// is the original time.
    ArchivedPersonalMessage {
        query_id: String,
        archive_id: String,
        message: Message,
    },
    /// The end of an archive page: `complete`, or ask again after `last_id`.
    ArchiveQueryDone {
        query_id: String,
        result: Result<ArchivePage, Error>,
    },
    /// Presence not about a room we are in: a contact's availability (`kind`, `show`,
    /// `status`, `priority`), or an error. Subscription requests come as
    /// [`Event::Subscription`] instead.
    Presence(Presence),
    /// With [`ClientConfig::register`](crate::ClientConfig::register): the account was
    /// created (XEP-0077); logging in follows.
    Registered { jid: String },
    /// With [`ClientConfig::probe_registration`](crate::ClientConfig::probe_registration):
    /// whether the server creates accounts in-band (XEP-0077 §4); the stream is closed next.
    RegistrationOffered { domain: String, offered: bool },
    /// The answer to [`Client::request_roster`](crate::Client::request_roster).
    Roster {
        id: String,
        result: Result<Roster, Error>,
    },
    /// The server changed a roster item (RFC 6121 §2.1.6), after our request or another
    /// session's, or a subscription changed; `item.subscription` is `Remove` when the
    /// contact is gone. Already acknowledged to the server. Only sent to sessions that
    /// asked for the roster ([`Client::request_roster`](crate::Client::request_roster)).
    RosterPush {
        item: RosterItem,
        /// The new roster version, to remember for the next request.
        version: Option<String>,
    },
    /// A contact asks to see our presence (`Subscribe`: answer with
    /// [`Client::send_subscription`](crate::Client::send_subscription) `Subscribed` or
    /// `Unsubscribed`), or answered or cancelled a subscription (RFC 6121 §3).
    Subscription {
        /// The contact's bare JID.
        from: String,
        action: SubscriptionAction,
        /// The requester's optional message.
        status: Option<String>,
    },
    /// The answer to [`Client::query_disco_info`](crate::Client::query_disco_info).
    DiscoInfo {
        id: String,
        from: Option<String>,
        result: Result<DiscoInfo, Error>,
    },
    /// The answer to [`Client::query_disco_items`](crate::Client::query_disco_items).
    DiscoItems {
        id: String,
        from: Option<String>,
        result: Result<Vec<DiscoItem>, Error>,
    },
    /// The answer to [`Client::query_version`](crate::Client::query_version).
    SoftwareVersion {
        id: String,
        from: Option<String>,
        result: Result<SoftwareVersion, Error>,
    },
    /// The answer to [`Client::request_vcard`](crate::Client::request_vcard); a JID
    /// without a vCard answers `item-not-found` (Prosody) or an empty one.
    VCard {
        id: String,
        from: Option<String>,
        result: Result<VCard, Error>,
    },
    /// The answer to [`Client::send_iq`](crate::Client::send_iq): the result payload, a
    /// stanza error, or a timeout.
    IqResult {
        id: String,
        from: Option<String>,
        result: Result<Option<Element>, Error>,
    },
    /// A problem that did not end the session (a malformed stanza we skipped).
    Error(Error),
    /// The connection dropped; the driver should close the transport. At `reconnect_at` the
    /// client asks for a new one ([`Client::wants_transport`](crate::Client::wants_transport));
    /// once online again it either resumes the session ([`Event::Resumed`], nothing missed)
    /// or starts a new one ([`Event::Online`]) and rejoins its rooms without history. With
    /// [`ClientConfig::catch_up`](crate::ClientConfig::catch_up) the client then fills the
    /// gap itself ([`Event::RoomCaughtUp`]); without, catch up with
    /// [`Client::query_room_archive`](crate::Client::query_room_archive).
    ConnectionLost { error: Error, reconnect_at: Instant },
    /// The session is over for good; `error` is `None` after
    /// [`Client::close`](crate::Client::close).
    Disconnected { error: Option<Error> },
}
