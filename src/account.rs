//! The operator's own account: log in (SCRAM, done by the core), create one (XEP-0077), change
//! its password, log out; and while logged in the operators' room, one-to-one chats with
//! typing indicators (XEP-0085), the roster with its subscriptions, and our presence.
//!
//! The logged-in session has a connection of its own, apart from the anonymous viewer's: the
//! live feed never stops for a login or a logout, and the viewer keeps its read-only anonymous
//! identity whoever logs in.

use std::time::Duration;

use leptos::prelude::*;
use vigie_dashboard::transport::{Connection, Endpoint, Kind};
use vigie_xmpp::{
    jid, Backoff, ChatState, Client, ClientConfig, Error, Event, History, Message, MessageType,
    Presence, PresenceType, Refusal, RoomMessage, RosterItem, Subscription, SubscriptionAction,
};
use web_time::Instant;

use crate::api;
use crate::chat::{
    message_time, Availability, ChatLog, Contact, Conversations, Incoming, Occupants, OwnChatState,
    PresenceView, Roster, Typing,
};
use crate::clock::now;
use crate::remembered;

/// Where the account is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The read-only viewer, no account.
    Anonymous,
    LoggingIn {
        jid: String,
    },
    Online {
        jid: String,
    },
}

/// Room history replayed when we join the operators' room.
const ROOM_HISTORY: u32 = 30;
/// Where the last JID used is remembered (never the password).
const REMEMBERED_JID: &str = "vigie.jid";

/// The signals of the logged-in session; cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct Account {
    pub status: RwSignal<Status>,
    /// Whether the server creates accounts from the page (XEP-0077): `None` while asking;
    /// `Some(true)` also when it could not be asked, so that trying tells.
    pub registration: RwSignal<Option<bool>>,
    /// The last failure, in words for the operator.
    pub error: RwSignal<Option<String>>,
    /// The last success worth saying (account created, password changed…).
    pub notice: RwSignal<Option<String>>,
    /// The connection was lost: why, and when the next attempt starts.
    pub lost: RwSignal<Option<(String, Instant)>>,
    /// The operators' room.
    pub room: RwSignal<ChatLog>,
    pub occupants: RwSignal<Occupants>,
    /// Who is typing in the room, by nick.
    pub room_typing: RwSignal<Typing>,
    /// One-to-one conversations, by bare JID.
    pub chats: RwSignal<Conversations>,
    /// Who is typing to us, by bare JID.
    pub chat_typing: RwSignal<Typing>,
    pub roster: RwSignal<Roster>,
    /// Our own presence, as last sent.
    pub presence: RwSignal<PresenceView>,
    /// The conversation on screen: `None` is the operators' room, else a peer's bare JID.
    pub selected: RwSignal<Option<String>>,
    /// Our nick in the operators' room.
    pub nick: RwSignal<String>,
    config: StoredValue<Option<api::ClientConfig>>,
    connection: StoredValue<Option<Connection>, LocalStorage>,
    /// The connection asking for [`Account::registration`], until it ends.
    registration_probe: StoredValue<Option<Connection>, LocalStorage>,
    /// What the session was opened for, to explain its failure.
    action: StoredValue<Action>,
    /// The id of our password change in flight.
    password_change: StoredValue<Option<String>>,
}

impl Account {
    pub fn new() -> Account {
        Account {
            status: RwSignal::new(Status::Anonymous),
            registration: RwSignal::new(None),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            lost: RwSignal::new(None),
            room: RwSignal::new(ChatLog::default()),
            occupants: RwSignal::new(Occupants::default()),
            room_typing: RwSignal::new(Typing::default()),
            chats: RwSignal::new(Conversations::default()),
            chat_typing: RwSignal::new(Typing::default()),
            roster: RwSignal::new(Roster::default()),
            presence: RwSignal::new(PresenceView {
                availability: Availability::Available,
                status: None,
            }),
            selected: RwSignal::new(None),
            nick: RwSignal::new(String::new()),
            config: StoredValue::new(None),
            connection: StoredValue::new_local(None),
            registration_probe: StoredValue::new_local(None),
            action: StoredValue::new(Action::LogIn),
            password_change: StoredValue::new(None),
        }
    }

    /// The deployment's settings arrived: logging in is possible from now on.
    pub fn configure(self, config: api::ClientConfig) {
        self.config.set_value(Some(config));
    }

    /// Asks the server, once, whether it creates accounts in-band, without logging in, over
    /// `kind` first: the form offers "Create account" only where that would work.
    pub fn ask_registration(self, kind: Kind) {
        let asked = self.registration_probe.with_value(Option::is_some);
        if let (Some(config), None, false) = (
            self.config.get_value(),
            self.registration.get_untracked(),
            asked,
        ) {
            self.probe_registration(config, kind);
        }
    }

    fn probe_registration(self, config: api::ClientConfig, kind: Kind) {
        let xmpp = ClientConfig::registration_probe(&config.domain);
        let endpoint = Endpoint::of(&config, kind);
        let probe = Connection::open(endpoint, xmpp, move |_, event| match event {
            Event::RegistrationOffered { offered, .. } => self.registration.set(Some(offered)),
            Event::Disconnected { error } => {
                self.registration_probe.set_value(None);
                match error {
                    // WebSockets blocked on the way, before an answer: ask over BOSH.
                    Some(error)
                        if kind == Kind::WebSocket
                            && error.is_transient()
                            && self.registration.get_untracked().is_none() =>
                    {
                        return self.probe_registration(config.clone(), Kind::Bosh);
                    }
                    Some(error) => {
                        leptos::logging::warn!("cannot ask whether accounts are created: {error}")
                    }
                    None => {}
                }
                // Unanswered: offered, and the server's answer to a try explains.
                if self.registration.get_untracked().is_none() {
                    self.registration.set(Some(true));
                }
            }
            _ => {}
        });
        if !probe.has_ended() {
            self.registration_probe.set_value(Some(probe));
        }
    }

    /// The JID used last on this browser, to prefill the form.
    pub fn remembered_jid() -> String {
        remembered::recall(REMEMBERED_JID).unwrap_or_default()
    }

    fn room_jid(self) -> Option<String> {
        self.config.with_value(|c| {
            c.as_ref()
                .map(|c| format!("{}@{}", c.ops_room, c.muc_service))
        })
    }

    /// Logs in as `jid` (a bare JID, or a name on this deployment's domain); with
    /// [`Action::Register`], creates the account first.
    pub fn log_in(self, action: Action, jid: &str, password: &str) {
        let Some(config) = self.config.get_value() else {
            self.error
                .set(Some("Not connected to the server yet.".into()));
            return;
        };
        let xmpp = match login_config(jid, password, &config.domain) {
            Ok(xmpp) => ClientConfig {
                register: action == Action::Register,
                ..xmpp
            },
            Err(problem) => return self.error.set(Some(problem)),
        };
        let jid = xmpp.jid.clone().unwrap_or_default();
        self.error.set(None);
        self.notice.set(None);
        self.action.set_value(action);
        self.status.set(Status::LoggingIn { jid });
        self.connect(config, xmpp, Kind::WebSocket);
    }

    fn connect(self, config: api::ClientConfig, xmpp: ClientConfig, kind: Kind) {
        let retry = xmpp.clone();
        let endpoint = Endpoint::of(&config, kind);
        let connection = Connection::open(endpoint, xmpp, move |connection, event| {
            match event {
                // WebSockets blocked on the way: log in over BOSH instead.
                Event::Disconnected { error: Some(error) }
                    if kind == Kind::WebSocket
                        && !connection.was_online()
                        && error.is_transient() =>
                {
                    // Once the account exists, the retry only logs in.
                    let register = self.action.get_value() == Action::Register;
                    let xmpp = ClientConfig {
                        register,
                        ..retry.clone()
                    };
                    self.connect(config.clone(), xmpp, Kind::Bosh)
                }
                event => self.on_event(connection, event),
            }
        });
        // Opening may already have failed (and ended the session) before we get here.
        if matches!(self.status.get_untracked(), Status::LoggingIn { .. }) {
            self.connection.set_value(Some(connection));
        }
    }

    /// Ends the session politely; the page goes back to the anonymous viewer.
    pub fn log_out(self) {
        // What the session said is for its operator, not for whoever sits down next.
        self.notice.set(None);
        self.error.set(None);
        self.command(|client| {
            client.close();
            Ok(())
        });
    }

    /// Sends `body` to the conversation on screen.
    pub fn send(self, body: &str) {
        let body = body.trim();
        if body.is_empty() {
            return;
        }
        match self.selected.get_untracked() {
            None => {
                if let Some(room) = self.room_jid() {
                    // The room echoes it back: it shows then, with its archive id.
                    let active = Some(ChatState::Active.to_element());
                    self.command(|client| client.send_groupchat(&room, body, active).map(drop));
                }
            }
            Some(peer) => {
                self.command(|client| {
                    client
                        .send_chat(&peer, body, Some(ChatState::Active))
                        .map(drop)
                });
                let (at, _) = message_time(None, now());
                let nick = self.nick.get_untracked();
                self.chats.update(|chats| {
                    chats.push(
                        &peer,
                        Incoming {
                            id: None,
                            author: nick,
                            body: body.to_owned(),
                            at,
                            delayed: false,
                            own: true,
                        },
                    );
                });
            }
        }
    }

    /// Sets our availability and status text, for our contacts and in the room.
    pub fn set_presence(self, presence: PresenceView) {
        let room = self
            .room_jid()
            .map(|room| format!("{room}/{}", self.nick.get_untracked()));
        let stanza = own_presence(&presence);
        self.command(|client| {
            client.send_presence(stanza.clone())?;
            match room {
                Some(room) => client.send_presence(stanza.with_to(room)),
                None => Ok(()),
            }
        });
        self.presence.set(presence);
    }

    /// Answers `jid`'s request to see our presence; accepting someone not yet a contact
    /// also asks to see theirs.
    pub fn answer_request(self, jid: &str, accept: bool) {
        let ask_back = accept && !self.roster.with_untracked(|r| r.contains(jid));
        self.command(|client| {
            if !accept {
                return client.send_subscription(jid, SubscriptionAction::Unsubscribed);
            }
            client.send_subscription(jid, SubscriptionAction::Subscribed)?;
            if ask_back {
                client.send_subscription(jid, SubscriptionAction::Subscribe)?;
            }
            Ok(())
        });
        self.roster.update(|roster| roster.answered(jid));
    }

    /// Adds `jid` to our contacts and asks to see their presence.
    pub fn add_contact(self, jid: &str) {
        let jid = jid.trim();
        self.command(|client| {
            client.set_roster_item(&RosterItem::new(jid))?;
            client.send_subscription(jid, SubscriptionAction::Subscribe)
        });
    }

    /// Removes `jid` from our contacts (the server cancels the subscriptions both ways).
    pub fn remove_contact(self, jid: &str) {
        self.command(|client| client.remove_roster_item(jid).map(drop));
    }

    /// Tells the conversation on screen (the peer, or the operators' room) whether we are
    /// typing (XEP-0085).
    pub fn chat_state(self, state: OwnChatState) {
        self.chat_state_in(self.selected.get_untracked(), state);
    }

    /// Tells a conversation (a peer's JID, or `None` for the operators' room) whether we are
    /// typing.
    pub fn chat_state_in(self, conversation: Option<String>, state: OwnChatState) {
        let state = match state {
            OwnChatState::Composing => ChatState::Composing,
            OwnChatState::Paused => ChatState::Paused,
        };
        match conversation {
            Some(peer) => self.command(|client| client.send_chat_state(&peer, state).map(drop)),
            None => {
                if let Some(room) = self.room_jid() {
                    self.command(|client| client.send_room_chat_state(&room, state));
                }
            }
        }
    }

    /// Changes the account's password; reconnections use the new one.
    pub fn change_password(self, new_password: &str, confirmation: &str) {
        if new_password.is_empty() || new_password != confirmation {
            self.error
                .set(Some("Type the same new password twice.".into()));
            return;
        }
        // A mismatch said before must not outlive the request that fixed it.
        self.error.set(None);
        self.notice.set(None);
        self.command(|client| {
            let id = client.change_password(new_password)?;
            self.password_change.set_value(Some(id));
            Ok(())
        });
    }

    /// Opens the conversation with `peer` (`None`: the operators' room).
    pub fn select(self, peer: Option<String>) {
        match &peer {
            Some(peer) => self.chats.update(|chats| {
                chats.open(peer);
                chats.mark_read(peer);
            }),
            None => self.room.update(|room| room.unread = 0),
        }
        self.selected.set(peer);
    }

    /// Runs a command on the logged-in session; a refusal is shown, not thrown.
    fn command(self, command: impl FnOnce(&mut Client) -> Result<(), Error>) {
        // A clone: the command's events may end the session and drop the stored one.
        let result = match self.connection.get_value() {
            Some(connection) => connection.with_client(command),
            None => Err(Error::Misuse("not logged in".into())),
        };
        if let Err(error) = result {
            self.error.set(Some(error.to_string()));
        }
    }

    fn on_event(self, connection: &Connection, event: Event) {
        let room = self.room_jid();
        match event {
            Event::Registered { jid } => {
                self.action.set_value(Action::LogIn);
                self.notice.set(Some(format!("Account {jid} created.")))
            }
            Event::Online { jid } => {
                self.lost.set(None);
                self.online(connection, &jid)
            }
            Event::Resumed { .. } => self.lost.set(None),
            Event::ConnectionLost {
                error,
                reconnect_at,
            } => self.lost.set(Some((error.to_string(), reconnect_at))),
            Event::RoomJoined {
                room: joined,
                nick,
                role,
                ..
            } if Some(&joined) == room.as_ref() => {
                self.nick.set(nick.clone());
                let presence = self.presence.get_untracked();
                self.occupants
                    .update(|o| o.update(&nick, Some((role, presence))));
            }
            Event::RoomJoinFailed { room, error } => {
                self.error.set(Some(format!("Cannot join {room}: {error}")))
            }
            Event::Occupant(occupant) if Some(&occupant.room) == room.as_ref() => {
                let present = occupant.available.then_some((
                    occupant.role,
                    PresenceView {
                        availability: Availability::from_show(occupant.show),
                        status: occupant.status,
                    },
                ));
                self.occupants.update(|o| o.update(&occupant.nick, present));
                if !occupant.available {
                    self.room_typing.update(|t| t.stopped(&occupant.nick));
                }
            }
            Event::GroupchatMessage(message) if Some(&message.room) == room.as_ref() => {
                self.room_message(message)
            }
            Event::RoomChatState {
                room: from,
                nick,
                state,
            } if Some(&from) == room.as_ref() => self
                .room_typing
                .update(|t| t.chat_state(&nick, state, Instant::now())),
            Event::Message(message)
                if matches!(message.kind, MessageType::Chat | MessageType::Normal) =>
            {
                self.chat_message(message)
            }
            Event::MessageError { from, error, .. } => self.error.set(Some(format!(
                "Not delivered to {}: {error}",
                from.unwrap_or_default()
            ))),
            Event::Roster { result, .. } => match result {
                Ok(roster) => self.roster.update(|r| {
                    // Without a version we never get a partial roster: `items` is the list.
                    r.retain(|_| false);
                    for item in roster.items.unwrap_or_default() {
                        r.upsert(contact(item));
                    }
                }),
                Err(error) => self
                    .error
                    .set(Some(format!("Cannot read contacts: {error}"))),
            },
            Event::RosterPush { item, .. } => self.roster.update(|r| match item.subscription {
                Subscription::Remove => r.remove(&item.jid),
                _ => r.upsert(contact(item)),
            }),
            Event::Subscription { from, action, .. } => match action {
                SubscriptionAction::Subscribe => self.roster.update(|r| r.request(&from)),
                SubscriptionAction::Subscribed => self
                    .notice
                    .set(Some(format!("{from} accepted your request."))),
                SubscriptionAction::Unsubscribed => self.notice.set(Some(format!(
                    "{from} does not share their presence with you."
                ))),
                SubscriptionAction::Unsubscribe => {}
            },
            Event::Presence(presence) => self.on_presence(presence),
            Event::IqResult { id, result, .. }
                if self
                    .password_change
                    .with_value(|p| p.as_deref() == Some(&id)) =>
            {
                self.password_change.set_value(None);
                match result {
                    Ok(_) => self.notice.set(Some("Password changed.".into())),
                    Err(error) => self
                        .error
                        .set(Some(explain(Action::ChangePassword, &error))),
                }
            }
            Event::Disconnected { error } => {
                let action = self.action.get_value();
                self.ended(error.map(|e| explain(action, &e)))
            }
            _ => {}
        }
    }

    fn room_message(self, message: RoomMessage) {
        // Bodiless chat states come as `Event::RoomChatState`; nothing else to show.
        let Some(body) = message.body else { return };
        self.room_typing.update(|t| t.stopped(&message.nick));
        let (at, delayed) = message_time(message.delay.as_deref(), now());
        let own = message.nick == self.nick.get_untracked();
        let on_screen = self.selected.get_untracked().is_none();
        self.room.update(|room| {
            room.push(Incoming {
                id: message.stanza_id.or(message.origin_id).or(message.id),
                author: message.nick,
                body,
                at,
                delayed,
                own,
            });
            if on_screen {
                room.unread = 0;
            }
        });
    }

    fn chat_message(self, message: Message) {
        let Some(from) = message.from.as_deref() else {
            return;
        };
        let peer = jid::bare(from).to_owned();
        if let Some(state) = message.chat_state() {
            self.chat_typing
                .update(|t| t.chat_state(&peer, state, Instant::now()));
        }
        let Some(body) = message.body else { return };
        self.chat_typing.update(|t| t.stopped(&peer));
        let stamp = message.delay.as_ref().map(|d| d.stamp.as_str());
        let (at, delayed) = message_time(stamp, now());
        let on_screen = self.selected.get_untracked().as_deref() == Some(peer.as_str());
        self.chats.update(|chats| {
            chats.push(
                &peer,
                Incoming {
                    id: message.id,
                    author: peer.clone(),
                    body,
                    at,
                    delayed,
                    own: false,
                },
            );
            if on_screen {
                chats.mark_read(&peer);
            }
        });
    }

    fn online(self, connection: &Connection, jid: &str) {
        self.error.set(None);
        // A new session after a loss: the core rejoins the room itself.
        let first = !matches!(self.status.get_untracked(), Status::Online { .. });
        let bare = jid::bare(jid).to_owned();
        remembered::remember(REMEMBERED_JID, &bare);
        let nick = bare.split('@').next().unwrap_or("operator").to_owned();
        self.status.set(Status::Online { jid: bare });
        let presence = own_presence(&self.presence.get_untracked());
        let room = self.room_jid().filter(|_| first);
        if first {
            self.nick.set(nick.clone());
        }
        let result = connection.with_client(|client| {
            client.request_roster(None)?;
            // Initial presence also releases the messages stored while we were offline.
            client.send_presence(presence)?;
            match room {
                Some(room) => client.join_room(&room, &nick, History::MaxStanzas(ROOM_HISTORY)),
                None => Ok(()),
            }
        });
        if let Err(error) = result {
            self.error.set(Some(error.to_string()));
        }
    }

    fn on_presence(self, presence: Presence) {
        let Some(from) = presence.from.as_deref() else {
            return;
        };
        let view = match presence.kind {
            PresenceType::Available => Some(PresenceView {
                availability: Availability::from_show(presence.show),
                status: presence.status.clone(),
            }),
            PresenceType::Unavailable => None,
            _ => return,
        };
        let resource = jid::resource(from).unwrap_or_default();
        self.roster
            .update(|r| r.presence(jid::bare(from), resource, view));
    }

    /// The session is over: back to the anonymous viewer, with why if it was not our choice.
    fn ended(self, error: Option<String>) {
        self.connection.set_value(None);
        self.password_change.set_value(None);
        self.status.set(Status::Anonymous);
        self.error.set(error);
        self.lost.set(None);
        self.room.set(ChatLog::default());
        self.occupants.update(Occupants::clear);
        self.room_typing.set(Typing::default());
        self.chats.set(Conversations::default());
        self.chat_typing.set(Typing::default());
        self.roster.set(Roster::default());
        self.selected.set(None);
    }
}

/// A roster item as listed.
fn contact(item: RosterItem) -> Contact {
    let mut contact = Contact::new(&item.jid);
    contact.name = item.name;
    contact.subscription = item.subscription.as_str().to_owned();
    contact.pending = item.ask;
    contact
}

/// What the operator was doing when an error came, for its explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    LogIn,
    Register,
    ChangePassword,
}

/// A core error in words for the operator.
pub fn explain(action: Action, error: &Error) -> String {
    match (action, error) {
        (Action::LogIn, Error::ServerRefused(Refusal::Auth { condition, .. }))
            if condition == "not-authorized" =>
        {
            "Wrong JID or password.".to_owned()
        }
        (Action::Register, Error::ServerRefused(Refusal::Stanza(refusal))) => {
            match refusal.condition.as_str() {
                "conflict" => "That name is taken: choose another.".to_owned(),
                "not-acceptable" | "bad-request" => {
                    "The server does not accept that name or password.".to_owned()
                }
                _ => format!("The server refused to create the account ({refusal})."),
            }
        }
        (Action::Register, Error::Incompatible(_)) => {
            "This server does not allow creating accounts here.".to_owned()
        }
        (Action::ChangePassword, Error::ServerRefused(Refusal::Stanza(refusal))) => {
            format!("The server refused the new password ({refusal}).")
        }
        (_, Error::ServerRefused(Refusal::Stream { condition, .. })) if condition == "conflict" => {
            "Logged out: this account logged in elsewhere with the same resource.".to_owned()
        }
        (_, Error::Transport(_) | Error::Timeout(_)) => {
            format!("Cannot reach the chat server ({error}); try again.")
        }
        _ => error.to_string(),
    }
}

/// The core's configuration for a login form, or what is wrong with it. A bare name gets
/// this deployment's `domain`.
pub fn login_config(jid: &str, password: &str, domain: &str) -> Result<ClientConfig, String> {
    let jid = jid.trim();
    if jid.is_empty() {
        return Err("Enter your JID (name@domain) or name.".into());
    }
    if password.is_empty() {
        return Err("Enter your password.".into());
    }
    let jid = if jid.contains('@') {
        jid.to_owned()
    } else {
        format!("{jid}@{domain}")
    };
    let mut config =
        ClientConfig::login(&jid, password).map_err(|_| format!("`{jid}` is not a valid JID."))?;
    // An operator's session rides out network hiccups: resumed where the server allows it,
    // else a new session that catches up on the room from its archive.
    config.reconnect = Some(Backoff {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(30),
    });
    config.stream_management = true;
    config.catch_up = true;
    Ok(config)
}

/// The presence stanza announcing `presence`.
fn own_presence(presence: &PresenceView) -> Presence {
    let mut stanza = Presence::new(PresenceType::Available);
    stanza.show = presence.availability.show();
    stanza.status = presence
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    stanza
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_form_becomes_a_config_or_a_clear_problem() {
        let config = login_config(" ana ", "pw", "localhost").unwrap();
        assert_eq!(config.jid.as_deref(), Some("ana@localhost"));
        assert_eq!(config.password.as_deref(), Some("pw"));
        let config = login_config("bob@example.org/desk", "pw", "localhost").unwrap();
        assert_eq!(config.jid.as_deref(), Some("bob@example.org"));
        assert_eq!(config.resource.as_deref(), Some("desk"));
        assert!(login_config("", "pw", "localhost")
            .unwrap_err()
            .contains("JID"));
        assert!(login_config("ana", "", "localhost")
            .unwrap_err()
            .contains("password"));
        assert!(login_config("@localhost", "pw", "localhost")
            .unwrap_err()
            .contains("not a valid JID"));
    }

    #[test]
    fn errors_say_what_to_do() {
        let auth = Error::ServerRefused(Refusal::Auth {
            condition: "not-authorized".into(),
            text: None,
        });
        assert_eq!(explain(Action::LogIn, &auth), "Wrong JID or password.");
        let replaced = Error::ServerRefused(Refusal::Stream {
            condition: "conflict".into(),
            text: None,
        });
        assert!(explain(Action::LogIn, &replaced).contains("elsewhere"));
        let refused = |condition: &str| {
            Error::from(vigie_xmpp::StanzaError::new(
                vigie_xmpp::stanza::ErrorType::Cancel,
                condition,
            ))
        };
        assert_eq!(
            explain(Action::Register, &refused("conflict")),
            "That name is taken: choose another."
        );
        assert!(explain(Action::Register, &refused("not-allowed")).contains("refused"));
        assert!(explain(
            Action::Register,
            &Error::Incompatible("no in-band registration".into())
        )
        .contains("does not allow"));
        assert!(explain(Action::ChangePassword, &refused("not-authorized")).contains("password"));
        assert!(explain(Action::LogIn, &Error::Transport("refused".into())).contains("try again"));
    }

    #[test]
    fn own_presence_carries_show_and_trimmed_status() {
        let stanza = own_presence(&PresenceView {
            availability: Availability::Dnd,
            status: Some("  on a call ".into()),
        });
        assert_eq!(stanza.show, Some(vigie_xmpp::Show::Dnd));
        assert_eq!(stanza.status.as_deref(), Some("on a call"));
        let stanza = own_presence(&PresenceView {
            availability: Availability::Available,
            status: Some(" ".into()),
        });
        assert_eq!((stanza.show, stanza.status), (None, None));
    }
}
