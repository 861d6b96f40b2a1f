//! Instant messaging between two accounts of a real Prosody 0.12, through the native driver:
//! roster and subscriptions (RFC 6121), presence, chat messages of every type with XEP-0085
//! chat states, offline messages with their XEP-0203 delay, XEP-0054 vCards, and XEP-0030 /
//! XEP-0092 queries answered by the other client. The roster, subscription, presence and chat
//! tests run alice over BOSH too (bob stays on WebSocket), so both transports carry them.

#![cfg(feature = "tokio")]

mod common;

use common::driver::{connect_as, expect, login, PASSWORD};
use common::prosody::{bosh, Prosody, DOMAIN};
use tokio::sync::mpsc::Receiver;
use vigie_xmpp::chatstates::CHATSTATES_NS;
use vigie_xmpp::driver_tokio::Handle;
use vigie_xmpp::ping::PING_NS;
use vigie_xmpp::roster;
use vigie_xmpp::version::VERSION_NS;
use vigie_xmpp::{
    ChatState, Client, ClientConfig, Error, Event, Message, MessageType, Presence, PresenceType,
    Refusal, RosterItem, Show, Subscription, SubscriptionAction, Transport, VCard,
};

/// The `result` of the event `Event::$variant` answering request `$id` on `$peer`.
macro_rules! answer {
    ($peer:expr, $variant:ident, $id:expr) => {{
        let id: &str = $id;
        $peer
            .expect(&format!("the answer to {id}"), |event| match event {
                Event::$variant {
                    id: answered,
                    result,
                    ..
                } if answered == id => Some(result),
                _ => None,
            })
            .await
    }};
}

/// One logged-in account: its driver handle and events.
struct Peer {
    handle: Handle,
    events: Receiver<Event>,
    /// Bound full JID, `user@localhost/user`.
    jid: String,
    bare: String,
}

impl Peer {
    /// Creates `user` (password [`PASSWORD`]) and logs in over WebSocket.
    async fn new_account(prosody: &Prosody, user: &str) -> Peer {
        Peer::new_account_over(prosody, user, Transport::WebSocket).await
    }

    async fn new_account_over(prosody: &Prosody, user: &str, transport: Transport) -> Peer {
        Peer::new(user, login(prosody, user, transport).await)
    }

    /// Logs in as `user` (an existing account) over `transport`.
    async fn login(prosody: &Prosody, user: &str, transport: Transport) -> Peer {
        let jid = format!("{user}@{DOMAIN}/{user}");
        let config = ClientConfig::login(&jid, PASSWORD)
            .unwrap()
            .with_transport(transport);
        Peer::new(user, connect_as(prosody, config).await)
    }

    fn new(user: &str, (handle, events): (Handle, Receiver<Event>)) -> Peer {
        Peer {
            handle,
            events,
            jid: format!("{user}@{DOMAIN}/{user}"),
            bare: format!("{user}@{DOMAIN}"),
        }
    }

    /// Runs a client command in the driver task.
    async fn run<T: Send + 'static>(
        &self,
        command: impl FnOnce(&mut Client) -> Result<T, Error> + Send + 'static,
    ) -> T {
        self.handle.call(command).await.expect("command accepted")
    }

    /// What a client does first (RFC 6121 §2.2): fetch the roster, which makes the server
    /// push roster changes to this resource, then send initial presence, which makes it
    /// deliver presences and offline messages. Returns the roster's version.
    async fn go_online(&mut self) -> Option<String> {
        let roster = self.roster(None).await;
        self.run(|client| client.send_presence(Presence::new(PresenceType::Available)))
            .await;
        roster.version
    }

    /// The first event `pick` accepts, skipping the others, as [`expect`] does.
    async fn expect<T>(&mut self, what: &str, pick: impl FnMut(Event) -> Option<T>) -> T {
        expect(&mut self.events, what, pick).await
    }

    /// The result of the plain IQ `id` (roster set, vCard set, password change…).
    async fn expect_iq_result(&mut self, id: &str) -> Result<(), Error> {
        answer!(self, IqResult, id).map(drop)
    }

    /// The next roster push about `jid` that `wanted` accepts.
    async fn expect_push(&mut self, jid: &str, wanted: impl Fn(&RosterItem) -> bool) -> RosterItem {
        self.expect(&format!("a roster push about {jid}"), |event| match event {
            Event::RosterPush { item, .. } if item.jid == jid && wanted(&item) => Some(item),
            _ => None,
        })
        .await
    }

    async fn expect_subscription(&mut self, from: &str, action: SubscriptionAction) {
        self.expect(&format!("{action} from {from}"), |event| {
            matches!(
                &event,
                Event::Subscription { from: sender, action: got, .. }
                    if sender == from && *got == action
            )
            .then_some(())
        })
        .await
    }

    async fn expect_message(&mut self, what: &str, wanted: impl Fn(&Message) -> bool) -> Message {
        self.expect(what, |event| match event {
            Event::Message(message) if wanted(&message) => Some(message),
            _ => None,
        })
        .await
    }

    async fn roster(&mut self, version: Option<&str>) -> vigie_xmpp::Roster {
        let version = version.map(str::to_owned);
        let id = self
            .run(move |client| client.request_roster(version.as_deref()))
            .await;
        answer!(self, Roster, &id).expect("roster")
    }

    async fn subscribe(&self, to: &str, action: SubscriptionAction) {
        let to = to.to_owned();
        self.run(move |client| client.send_subscription(&to, action))
            .await;
    }
}

/// New accounts alice (over `alice_transport`) and bob (over WebSocket), both online.
async fn alice_and_bob_online(prosody: &Prosody, alice_transport: Transport) -> (Peer, Peer) {
    let mut alice = Peer::new_account_over(prosody, "alice", alice_transport).await;
    let mut bob = Peer::new_account(prosody, "bob").await;
    alice.go_online().await;
    bob.go_online().await;
    (alice, bob)
}

/// `alice` subscribes to `bob`'s presence and `bob` approves; checks both sides' pushes.
async fn subscribe_to(alice: &mut Peer, bob: &mut Peer) {
    alice
        .subscribe(&bob.bare, SubscriptionAction::Subscribe)
        .await;
    // RFC 6121 §3.1.2: the pending request shows in the requester's roster.
    alice.expect_push(&bob.bare, |item| item.ask).await;
    bob.expect_subscription(&alice.bare, SubscriptionAction::Subscribe)
        .await;
    bob.subscribe(&alice.bare, SubscriptionAction::Subscribed)
        .await;
    alice
        .expect_push(&bob.bare, |item| {
            matches!(item.subscription, Subscription::To | Subscription::Both) && !item.ask
        })
        .await;
    bob.expect_push(&alice.bare, |item| {
        matches!(item.subscription, Subscription::From | Subscription::Both)
    })
    .await;
}

async fn roster_and_subscriptions_between_two_accounts(alice_transport: Transport) {
    let prosody = Prosody::start();
    let (mut alice, mut bob) = alice_and_bob_online(&prosody, alice_transport).await;
    assert_eq!(alice.roster(None).await.items, Some(vec![]));

    // Filing bob under a name and a group, before any subscription.
    let item = RosterItem::new(bob.bare.clone())
        .with_name("Bob <ops>")
        .with_group("Ops");
    let id = alice.run(move |client| client.set_roster_item(&item)).await;
    alice.expect_iq_result(&id).await.unwrap();
    let pushed = alice
        .expect_push(&bob.bare, |item| item.subscription == Subscription::None)
        .await;
    assert_eq!(pushed.name.as_deref(), Some("Bob <ops>"));
    assert_eq!(pushed.groups, ["Ops"]);

    subscribe_to(&mut alice, &mut bob).await;
    subscribe_to(&mut bob, &mut alice).await;

    let alices = alice.roster(None).await;
    let bobs = bob.roster(None).await;
    let only = |roster: &vigie_xmpp::Roster| roster.items.clone().unwrap();
    let [bob_in_alices] = only(&alices).try_into().expect("one contact");
    assert_eq!(
        (bob_in_alices.jid.as_str(), bob_in_alices.subscription),
        (bob.bare.as_str(), Subscription::Both)
    );
    assert_eq!(bob_in_alices.name.as_deref(), Some("Bob <ops>"));
    assert_eq!(bob_in_alices.groups, ["Ops"]);
    let [alice_in_bobs] = only(&bobs).try_into().expect("one contact");
    assert_eq!(
        (alice_in_bobs.jid.as_str(), alice_in_bobs.subscription),
        (alice.bare.as_str(), Subscription::Both)
    );

    // Prosody versions rosters: asking with the current version gets "unchanged".
    let version = alices.version.expect("Prosody versions rosters");
    let unchanged = alice.roster(Some(&version)).await;
    assert_eq!(unchanged.items, None);

    // Renaming and regrouping is an update of the same item.
    let renamed = RosterItem::new(bob.bare.clone())
        .with_name("Robert")
        .with_group("Ops")
        .with_group("Friends");
    let id = alice
        .run(move |client| client.set_roster_item(&renamed))
        .await;
    alice.expect_iq_result(&id).await.unwrap();
    let updated = alice
        .expect_push(&bob.bare, |item| item.name.as_deref() == Some("Robert"))
        .await;
    assert_eq!(updated.subscription, Subscription::Both);
    assert_eq!(updated.groups.len(), 2);

    // Removing cancels both subscriptions: bob's side drops to none.
    let bob_bare = bob.bare.clone();
    let id = alice
        .run(move |client| client.remove_roster_item(&bob_bare))
        .await;
    alice.expect_iq_result(&id).await.unwrap();
    alice
        .expect_push(&bob.bare, |item| item.subscription == Subscription::Remove)
        .await;
    bob.expect_push(&alice.bare, |item| item.subscription == Subscription::None)
        .await;
    assert_eq!(alice.roster(None).await.items, Some(vec![]));

    // A roster "push" from anyone but our own account is a forgery (RFC 6121 §2.1.6):
    // refused, reported, and the roster left alone.
    let mut forged = roster::set_item(&RosterItem::new("mallory@localhost")).unwrap();
    forged.to = Some(alice.jid.clone());
    let id = bob.run(move |client| client.send_iq(forged)).await;
    let refused = bob.expect_iq_result(&id).await;
    assert!(
        matches!(&refused, Err(Error::ServerRefused(Refusal::Stanza(e))) if e.condition == "bad-request"),
        "{refused:?}"
    );
    alice
        .expect("the forgery reported", |event| {
            matches!(event, Event::Error(Error::Peer(_))).then_some(())
        })
        .await;
    assert_eq!(alice.roster(None).await.items, Some(vec![]));

    // Misuse is the caller's fault, reported before anything is sent.
    let refused = alice
        .handle
        .call(|client| {
            client.send_subscription("bob@localhost/phone", SubscriptionAction::Subscribe)
        })
        .await;
    assert!(matches!(refused, Err(Error::Misuse(_))), "{refused:?}");
}

#[tokio::test]
async fn roster_and_subscriptions_between_two_accounts_over_websocket() {
    roster_and_subscriptions_between_two_accounts(Transport::WebSocket).await;
}

#[tokio::test]
async fn roster_and_subscriptions_between_two_accounts_over_bosh() {
    roster_and_subscriptions_between_two_accounts(bosh()).await;
}

/// Mutual subscriptions ended one direction at a time (RFC 6121 §3.3 unsubscribe, §3.2.2
/// cancel), then a new request refused (§3.2.1): each reaches the contact as such, and both
/// rosters follow, as Prosody 0.12 pushes them.
async fn unsubscribe_cancel_and_refusal_between_two_accounts(alice_transport: Transport) {
    let prosody = Prosody::start();
    let (mut alice, mut bob) = alice_and_bob_online(&prosody, alice_transport).await;
    subscribe_to(&mut alice, &mut bob).await;
    subscribe_to(&mut bob, &mut alice).await;

    // Alice stops seeing bob's presence; bob still sees hers.
    alice
        .subscribe(&bob.bare, SubscriptionAction::Unsubscribe)
        .await;
    alice
        .expect_push(&bob.bare, |item| item.subscription == Subscription::From)
        .await;
    bob.expect_subscription(&alice.bare, SubscriptionAction::Unsubscribe)
        .await;
    bob.expect_push(&alice.bare, |item| item.subscription == Subscription::To)
        .await;

    // Alice revokes bob's view of her presence: nothing is left either way, and bob, who
    // saw her online, is told she is gone.
    alice
        .subscribe(&bob.bare, SubscriptionAction::Unsubscribed)
        .await;
    alice
        .expect_push(&bob.bare, |item| item.subscription == Subscription::None)
        .await;
    bob.expect_subscription(&alice.bare, SubscriptionAction::Unsubscribed)
        .await;
    bob.expect_push(&alice.bare, |item| item.subscription == Subscription::None)
        .await;
    let alice_jid = alice.jid.clone();
    bob.expect("alice unavailable after the cancel", |event| {
        matches!(&event, Event::Presence(p)
            if p.kind == PresenceType::Unavailable && p.from.as_deref() == Some(&alice_jid))
        .then_some(())
    })
    .await;
    let (alice_bare, bob_bare) = (alice.bare.clone(), bob.bare.clone());
    for (peer, contact) in [(&mut alice, bob_bare), (&mut bob, alice_bare)] {
        let items = peer.roster(None).await.items;
        let unsubscribed = RosterItem::new(contact);
        assert_eq!(items, Some(vec![unsubscribed]), "{}'s roster", peer.bare);
    }

    // Her next presence no longer reaches bob. Prosody delivers alice's stanzas to bob in
    // the order she sent them, so a message sent after it arriving first proves it.
    let away = Presence::new(PresenceType::Available).with_show(Show::Away);
    alice.run(move |client| client.send_presence(away)).await;
    let to_bob = bob.bare.clone();
    alice
        .run(move |client| client.send_chat(&to_bob, "after the cancel", None))
        .await;
    let first = bob
        .expect("alice's presence or message", |event| {
            let from_alice = match &event {
                Event::Presence(p) => p.from.as_deref() == Some(&alice_jid),
                Event::Message(m) => m.body.is_some(),
                _ => false,
            };
            from_alice.then_some(event)
        })
        .await;
    assert!(
        matches!(&first, Event::Message(m) if m.body.as_deref() == Some("after the cancel")),
        "{first:?}"
    );

    // Bob asks again; alice refuses: his pending request is cleared, still no subscription.
    bob.subscribe(&alice.bare, SubscriptionAction::Subscribe)
        .await;
    bob.expect_push(&alice.bare, |item| item.ask).await;
    alice
        .expect_subscription(&bob.bare, SubscriptionAction::Subscribe)
        .await;
    alice
        .subscribe(&bob.bare, SubscriptionAction::Unsubscribed)
        .await;
    bob.expect_subscription(&alice.bare, SubscriptionAction::Unsubscribed)
        .await;
    let refused = bob.expect_push(&alice.bare, |item| !item.ask).await;
    assert_eq!(refused.subscription, Subscription::None);
}

#[tokio::test]
async fn unsubscribe_cancel_and_refusal_between_two_accounts_over_websocket() {
    unsubscribe_cancel_and_refusal_between_two_accounts(Transport::WebSocket).await;
}

#[tokio::test]
async fn unsubscribe_cancel_and_refusal_between_two_accounts_over_bosh() {
    unsubscribe_cancel_and_refusal_between_two_accounts(bosh()).await;
}

async fn presence_show_status_and_unavailable_reach_the_contact(alice_transport: Transport) {
    let prosody = Prosody::start();
    let (mut alice, mut bob) = alice_and_bob_online(&prosody, alice_transport).await;
    subscribe_to(&mut bob, &mut alice).await;

    let away = Presence::new(PresenceType::Available)
        .with_show(Show::Away)
        .with_status("lunch, back at 2")
        .with_priority(5);
    alice.run(move |client| client.send_presence(away)).await;
    let alice_jid = alice.jid.clone();
    let seen = bob
        .expect("alice away", |event| match event {
            Event::Presence(presence)
                if presence.from.as_deref() == Some(alice_jid.as_str())
                    && presence.show == Some(Show::Away) =>
            {
                Some(presence)
            }
            _ => None,
        })
        .await;
    assert_eq!(seen.kind, PresenceType::Available);
    assert_eq!(seen.status.as_deref(), Some("lunch, back at 2"));
    assert_eq!(seen.priority, 5);

    for show in [Show::Chat, Show::Dnd, Show::Xa] {
        let presence = Presence::new(PresenceType::Available).with_show(show);
        alice
            .run(move |client| client.send_presence(presence))
            .await;
        bob.expect(&format!("alice {show}"), |event| {
            matches!(&event, Event::Presence(p) if p.show == Some(show)).then_some(())
        })
        .await;
    }

    let gone = Presence::new(PresenceType::Unavailable).with_status("off duty");
    alice.run(move |client| client.send_presence(gone)).await;
    let offline = bob
        .expect("alice unavailable", |event| match event {
            Event::Presence(p) if p.kind == PresenceType::Unavailable => Some(p),
            _ => None,
        })
        .await;
    assert_eq!(offline.from.as_deref(), Some(alice.jid.as_str()));
    assert_eq!(offline.status.as_deref(), Some("off duty"));
}

#[tokio::test]
async fn presence_show_status_and_unavailable_reach_the_contact_over_websocket() {
    presence_show_status_and_unavailable_reach_the_contact(Transport::WebSocket).await;
}

#[tokio::test]
async fn presence_show_status_and_unavailable_reach_the_contact_over_bosh() {
    presence_show_status_and_unavailable_reach_the_contact(bosh()).await;
}

#[tokio::test]
async fn chat_states_and_messages_of_every_type() {
    let prosody = Prosody::start();
    // Alice over BOSH (a short `wait`, so idle polls come back quickly), bob over WebSocket.
    let (mut alice, mut bob) = alice_and_bob_online(&prosody, bosh()).await;
    let (to_bob, from_alice) = (bob.jid.clone(), alice.jid.clone());

    // Typing, paused, then the message itself with `active`, as XEP-0085 §5 describes.
    for state in [ChatState::Composing, ChatState::Paused] {
        let to = to_bob.clone();
        alice
            .run(move |client| client.send_chat_state(&to, state))
            .await;
        let notice = bob
            .expect_message(&format!("{state}"), |m| m.chat_state().is_some())
            .await;
        assert_eq!(notice.chat_state(), Some(state));
        assert_eq!(notice.body, None);
        assert_eq!(notice.from.as_deref(), Some(from_alice.as_str()));
    }
    let to = to_bob.clone();
    let id = alice
        .run(move |client| client.send_chat(&to, "Who's there? <&>", Some(ChatState::Active)))
        .await;
    let chat = bob
        .expect_message("the chat message", |m| m.body.is_some())
        .await;
    assert_eq!(chat.id.as_deref(), Some(id.as_str()));
    assert_eq!(chat.kind, MessageType::Chat);
    assert_eq!(chat.body.as_deref(), Some("Who's there? <&>"));
    assert_eq!(chat.chat_state(), Some(ChatState::Active));
    assert_eq!(chat.delay, None);

    // Bob answers with every other type a client may send to a person.
    for kind in [
        MessageType::Normal,
        MessageType::Headline,
        MessageType::Groupchat,
    ] {
        let to = from_alice.clone();
        bob.run(move |client| client.send_message(&to, kind, &format!("a {kind} message")))
            .await;
        let received = alice
            .expect_message(&format!("the {kind} message"), |m| m.kind == kind)
            .await;
        assert_eq!(received.body, Some(format!("a {kind} message")));
    }

    // An error bounces back as such: nobody is called nobody.
    let id = alice
        .run(|client| client.send_chat("nobody@localhost", "hello?", None))
        .await;
    let (bounced_id, error) = alice
        .expect("the bounce", |event| match event {
            Event::MessageError { id, error, .. } => Some((id, error)),
            _ => None,
        })
        .await;
    assert_eq!(bounced_id.as_deref(), Some(id.as_str()));
    assert_eq!(error.condition, "service-unavailable");
}

#[tokio::test]
async fn offline_message_is_delivered_at_login_with_its_delay_stamp() {
    let prosody = Prosody::start();
    let mut alice = Peer::new_account(&prosody, "alice").await;
    prosody.register("bob", PASSWORD);
    alice
        .run(|client| client.send_chat("bob@localhost", "while you were out", None))
        .await;
    // Prosody handles a stream's stanzas in order: once a later request is answered, the
    // message is in the offline store, before bob shows up.
    let id = alice.run(|client| client.query_version(DOMAIN)).await;
    answer!(alice, SoftwareVersion, &id).expect("the server's version");

    let mut bob = Peer::login(&prosody, "bob", Transport::WebSocket).await;
    bob.go_online().await;
    let stored = bob
        .expect_message("the offline message", |m| m.body.is_some())
        .await;
    assert_eq!(stored.body.as_deref(), Some("while you were out"));
    assert_eq!(stored.from.as_deref(), Some(alice.jid.as_str()));
    let delay = stored.delay.expect("XEP-0203 delay on an offline message");
    assert_eq!(delay.from.as_deref(), Some(DOMAIN));
    // XEP-0082 DateTime in UTC, e.g. 2026-11-22T04:20:00Z.
    let stamp = delay.stamp.as_bytes();
    assert_eq!(stamp.len(), 20, "{}", delay.stamp);
    assert_eq!((stamp[4], stamp[10], stamp[19]), (b'-', b'T', b'Z'));
}

#[tokio::test]
async fn vcard_set_and_read_by_a_contact() {
    let prosody = Prosody::start();
    let mut alice = Peer::new_account(&prosody, "alice").await;
    let mut bob = Peer::new_account(&prosody, "bob").await;

    let card = VCard {
        full_name: Some("Alice Martin".into()),
        nickname: Some("al & co".into()),
        emails: vec!["alice@example.org".into()],
        title: Some("Dispatcher".into()),
        ..VCard::default()
    };
    let sent = card.clone();
    let id = alice.run(move |client| client.set_vcard(&sent)).await;
    alice.expect_iq_result(&id).await.unwrap();

    let wanted = alice.bare.clone();
    let id = bob
        .run(move |client| client.request_vcard(Some(&wanted)))
        .await;
    let read = answer!(bob, VCard, &id);
    assert_eq!(read, Ok(card));

    // Bob has none: Prosody says so with item-not-found.
    let id = alice
        .run(|client| client.request_vcard(Some("bob@localhost")))
        .await;
    let missing = answer!(alice, VCard, &id);
    assert!(
        matches!(&missing, Err(Error::ServerRefused(Refusal::Stanza(e))) if e.condition == "item-not-found"),
        "{missing:?}"
    );
}

#[tokio::test]
async fn disco_and_version_are_answered_by_the_other_client() {
    let prosody = Prosody::start();
    let alice = Peer::new_account(&prosody, "alice").await;
    let mut bob = Peer::new_account(&prosody, "bob").await;

    let to = alice.jid.clone();
    let id = bob
        .run(move |client| client.query_disco_info(Some(&to), None))
        .await;
    let info = answer!(bob, DiscoInfo, &id);
    let info = info.expect("disco#info");
    assert_eq!(info.identities[0].category, "client");
    for feature in [CHATSTATES_NS, VERSION_NS, PING_NS] {
        assert!(
            info.has_feature(feature),
            "{feature} in {:?}",
            info.features
        );
    }

    let to = alice.jid.clone();
    let id = bob
        .run(move |client| client.query_disco_items(Some(&to), None))
        .await;
    let items = answer!(bob, DiscoItems, &id);
    assert_eq!(items, Ok(vec![]));

    let to = alice.jid.clone();
    let id = bob.run(move |client| client.query_version(&to)).await;
    let version = answer!(bob, SoftwareVersion, &id).expect("software version");
    assert_eq!(version.name, "Vigie");
    assert_eq!(version.version, env!("CARGO_PKG_VERSION"));

    // And of the server: its identity, and the registration feature of mod_register.
    let id = bob
        .run(|client| client.query_disco_info(Some(DOMAIN), None))
        .await;
    let server = answer!(bob, DiscoInfo, &id).expect("server disco#info");
    assert!(server.identities.iter().any(|i| i.category == "server"));
    assert!(server.has_feature("jabber:iq:register"));
    let id = bob.run(|client| client.query_version(DOMAIN)).await;
    let server_version = answer!(bob, SoftwareVersion, &id).expect("Prosody's version");
    assert_eq!(server_version.name, "Prosody");
}
