//! What a [`Client`](crate::Client) tells the application.

use web_time::Instant;

use crate::error::Error;
use crate::mam::ArchivePage;
use crate::muc::{Affiliation, Occupant, Role, RoomMessage};
use crate::stanza::{Message, Presence, StanzaError};
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
    /// Our own presence came back from the room (status 110): we are in.
    RoomJoined {
        room: String,
        nick: String,
        role: Role,
        affiliation: Affiliation,
        /// We created the room; it may stay locked until
        /// [`Client::configure_room`](crate::Client::configure_room).
        created: bool,
    },
    /// The room refused the join, e.g. `conflict` (nick taken) or `forbidden`.
    RoomJoinFailed { room: String, error: StanzaError },
    /// We are out of the room (we left, were kicked, or it was destroyed).
    RoomLeft { room: String },
    /// The room's subject: sent after the history replay, so live messages follow.
    RoomSubject { room: String, subject: String },
    /// Another occupant arrived, changed role, or left; or our own role changed.
    Occupant(Occupant),
    /// A groupchat message in a room we joined (our own messages come back too).
    GroupchatMessage(RoomMessage),
    /// Any other message (chat, headline, normal, or groupchat from a room we are not in).
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
    /// The end of an archive page: `complete`, or ask again after `last_id`.
    ArchiveQueryDone {
        query_id: String,
        result: Result<ArchivePage, Error>,
    },
    /// Presence not about a room we are in.
    Presence(Presence),
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
    /// or starts a new one ([`Event::Online`]) and rejoins its rooms without history (catch
    /// up with [`Client::query_room_archive`](crate::Client::query_room_archive)).
    ConnectionLost { error: Error, reconnect_at: Instant },
    /// The session is over for good; `error` is `None` after
    /// [`Client::close`](crate::Client::close).
    Disconnected { error: Option<Error> },
}
