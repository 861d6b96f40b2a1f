//! Against a real Prosody 0.12 through the tokio driver, over WebSocket and over BOSH: every
//! XEP-0045 case (configuration form, password, room list, history limits, nick conflict,
//! roles and affiliations, subject, private messages, kick, ban, destroy), XEP-0410
//! self-ping answers, XEP-0313 paging in a room and in the personal archive, and the gap a
//! lost session leaves filled by the core (`catch_up`): each message shown exactly once.
#![cfg(feature = "tokio")]

mod common;

use std::time::Duration;

use common::cut_proxy::CutProxy;
use common::driver::{
    account, connect_as, connect_at, create_room, expect, expect_each_once, expect_once, iq_ok,
    login, send_groupchats, PASSWORD,
};
use common::prosody::{bosh, endpoint, Prosody, MUC_DOMAIN};
use tokio::sync::mpsc::Receiver;
use vigie_xmpp::chatstates::ChatState;
use vigie_xmpp::driver_tokio::Handle;
use vigie_xmpp::muc::Destroyed;
use vigie_xmpp::selfping::{self, Membership};
use vigie_xmpp::{
    Affiliation, ArchiveQuery, Backoff, Client, ClientConfig, Error, Event, History, LeaveReason,
    MessageType, Presence, PresenceType, Role, RoomMessage, Show, Transport,
};

const ROOM_SECRET: &str = "s3cret";

/// Runs `command` about `room` in `handle`'s driver task.
async fn on_room<T: Send + 'static>(
    handle: &Handle,
    room: &str,
    command: impl FnOnce(&mut Client, &str) -> Result<T, Error> + Send + 'static,
) -> T {
    let room = room.to_owned();
    handle.call(move |c| command(c, &room)).await.unwrap()
}

/// Joins `room` (with the room's password); returns our role and affiliation.
async fn join(
    handle: &Handle,
    events: &mut Receiver<Event>,
    room: &str,
    nick: &str,
    history: History,
) -> (Role, Affiliation) {
    let (room, nick) = (room.to_owned(), nick.to_owned());
    handle
        .call(move |c| c.join_room_with_password(&room, &nick, history, Some(ROOM_SECRET)))
        .await
        .unwrap();
    expect(events, "joined", |e| match e {
        Event::RoomJoined {
            role, affiliation, ..
        } => Some((role, affiliation)),
        _ => None,
    })
    .await
}

/// Joins `room` (no password) as `nick`, without history; returns once the subject, which
/// ends the join, came.
async fn enter(handle: &Handle, events: &mut Receiver<Event>, room: &str, nick: &str) {
    handle.join_room(room, nick, History::None).await.unwrap();
    expect(events, "the subject", |e| {
        matches!(e, Event::RoomSubject { .. }).then_some(())
    })
    .await;
}

/// Joins as `nick` and expects a refusal; returns its condition.
async fn join_refused(
    handle: &Handle,
    events: &mut Receiver<Event>,
    room: &str,
    nick: &str,
    password: Option<&'static str>,
) -> String {
    let (room, nick) = (room.to_owned(), nick.to_owned());
    handle
        .call(move |c| c.join_room_with_password(&room, &nick, History::None, password))
        .await
        .unwrap();
    expect(events, "a refused join", |e| match e {
        Event::RoomJoinFailed { error, .. } => Some(error.condition),
        _ => None,
    })
    .await
}

/// The history a join replays: the groupchat messages before the subject.
async fn history(events: &mut Receiver<Event>) -> Vec<RoomMessage> {
    let mut history = Vec::new();
    while let Some(message) = expect(events, "history or subject", |e| match e {
        Event::GroupchatMessage(message) => Some(Some(message)),
        Event::RoomSubject { .. } => Some(None),
        _ => None,
    })
    .await
    {
        assert!(message.delay.is_some(), "history is stamped: {message:?}");
        history.push(message);
    }
    history
}

/// Why we are out of the room.
async fn left(events: &mut Receiver<Event>) -> LeaveReason {
    expect(events, "out of the room", |e| match e {
        Event::RoomLeft { reason, .. } => Some(reason),
        _ => None,
    })
    .await
}

/// The moderator's `command` about `room` (a kick, a ban…); why `events`' session is out.
async fn put_out<T: Send + 'static>(
    moderator: &Handle,
    room: &str,
    command: impl FnOnce(&mut Client, &str) -> Result<T, Error> + Send + 'static,
    events: &mut Receiver<Event>,
) -> LeaveReason {
    on_room(moderator, room, command).await;
    left(events).await
}

fn ids(messages: &[RoomMessage]) -> Vec<String> {
    messages.iter().filter_map(|m| m.id.clone()).collect()
}

/// `count` groupchat messages from `handle`, each seen back once.
async fn post(
    handle: &Handle,
    events: &mut Receiver<Event>,
    room: &str,
    label: &str,
    count: usize,
) -> Vec<String> {
    let posted = send_groupchats(handle, room, label, count).await;
    expect_each_once(events, &posted).await;
    posted
}

async fn every_muc_case(transport: Transport) {
    let prosody = Prosody::start();
    let room = format!("ops@{MUC_DOMAIN}");
    let alternate = format!("ops2@{MUC_DOMAIN}");
    let (owner, mut owner_events) = login(&prosody, "owner", transport).await;

    // Creating the room, then its configuration form: a name and a password.
    owner
        .join_room(&room, "owner", History::None)
        .await
        .unwrap();
    let created = expect(&mut owner_events, "room created", |e| match e {
        Event::RoomJoined {
            created,
            role,
            affiliation,
            ..
        } => Some((created, role, affiliation)),
        _ => None,
    })
    .await;
    assert_eq!(created, (true, Role::Moderator, Affiliation::Owner));
    let request = on_room(&owner, &room, |c, room| c.request_room_config(room)).await;
    let form = expect(&mut owner_events, "the configuration form", |e| match e {
        Event::RoomConfigForm { id, result, .. } if id == request => Some(result),
        _ => None,
    })
    .await
    .expect("the owner gets the form");
    assert_eq!(form.kind, "form");
    for var in ["muc#roomconfig_roomname", "muc#roomconfig_roomsecret"] {
        assert!(form.field(var).is_some(), "{var} in {form:?}");
    }
    let fields = [
        ("muc#roomconfig_roomname", "Ops <room>"),
        ("muc#roomconfig_roomsecret", ROOM_SECRET),
        ("muc#roomconfig_publicroom", "1"),
    ];
    let fields = fields.map(|(var, value)| (var.to_owned(), value.to_owned()));
    let request = owner.configure_room(&room, fields.to_vec()).await.unwrap();
    iq_ok(&mut owner_events, &request).await;

    // The service lists it with its name.
    let request = owner.call(|c| c.list_rooms(MUC_DOMAIN)).await.unwrap();
    let rooms = expect(&mut owner_events, "the room list", |e| match e {
        Event::RoomList { id, result, .. } if id == request => Some(result),
        _ => None,
    })
    .await
    .expect("a room list");
    assert!(
        rooms
            .iter()
            .any(|item| item.jid == room && item.name.as_deref() == Some("Ops <room>")),
        "{rooms:?}"
    );

    let posted = post(&owner, &mut owner_events, &room, "history", 3).await;

    // Without the password, under a taken nick, then in with two messages of history.
    let (viewer, mut viewer_events) = login(&prosody, "viewer", transport).await;
    assert_eq!(
        join_refused(&viewer, &mut viewer_events, &room, "viewer", None).await,
        "not-authorized"
    );
    assert_eq!(
        join_refused(
            &viewer,
            &mut viewer_events,
            &room,
            "owner",
            Some(ROOM_SECRET)
        )
        .await,
        "conflict"
    );
    let roles = join(
        &viewer,
        &mut viewer_events,
        &room,
        "viewer",
        History::MaxStanzas(2),
    )
    .await;
    assert_eq!(roles, (Role::Participant, Affiliation::None));
    assert_eq!(ids(&history(&mut viewer_events).await), posted[1..]);
    let arrived = expect(&mut owner_events, "the viewer's arrival", |e| match e {
        Event::Occupant(occupant) if occupant.nick == "viewer" => Some(occupant),
        _ => None,
    })
    .await;
    assert!(arrived.available);
    assert_eq!(
        (arrived.role, arrived.affiliation),
        (Role::Participant, Affiliation::None)
    );
    assert_eq!(arrived.jid.as_deref(), Some("viewer@localhost/viewer"));

    // The subject, set by the owner, read by everyone.
    on_room(&owner, &room, |c, room| {
        c.set_room_subject(room, "Today: A7 & <A86>")
    })
    .await;
    for events in [&mut owner_events, &mut viewer_events] {
        let subject = expect(events, "the new subject", |e| match e {
            Event::RoomSubject { subject, .. } => Some(subject),
            _ => None,
        })
        .await;
        assert_eq!(subject, "Today: A7 & <A86>");
    }

    // A private message to one occupant.
    on_room(&owner, &room, |c, room| {
        c.send_private_message(room, "viewer", "psst")
    })
    .await;
    let private = expect(&mut viewer_events, "the private message", |e| match e {
        Event::Message(message) if message.body.as_deref() == Some("psst") => Some(message),
        _ => None,
    })
    .await;
    assert_eq!(private.kind, MessageType::Chat);
    assert_eq!(private.from, Some(format!("{room}/owner")));

    // A groupchat, once for everyone.
    let hello = viewer.send_groupchat(&room, "hello", None).await.unwrap();
    for events in [&mut owner_events, &mut viewer_events] {
        expect_once(events, &hello).await;
    }

    // Another nick, same seat.
    on_room(&viewer, &room, |c, room| c.change_nick(room, "viewer2")).await;
    let nick = expect(&mut viewer_events, "the new nick", |e| match e {
        Event::RoomNickChanged { nick, .. } => Some(nick),
        _ => None,
    })
    .await;
    assert_eq!(nick, "viewer2");

    // XEP-0410: the room answers our self-ping; someone not in the room hears so.
    let ping = selfping::request(&room, "owner", "");
    let request = owner.send_iq(ping).await.unwrap();
    iq_ok(&mut owner_events, &request).await;

    // Kicked, with the moderator's reason.
    let kick = |c: &mut Client, room: &str| c.kick_occupant(room, "viewer2", Some("flood"));
    let reason = put_out(&owner, &room, kick, &mut viewer_events).await;
    assert!(
        matches!(&reason, LeaveReason::Kicked { reason: Some(why), .. } if why == "flood"),
        "{reason:?}"
    );
    let gone = expect(&mut owner_events, "the viewer gone", |e| match e {
        Event::Occupant(occupant) if occupant.nick == "viewer2" && !occupant.available => {
            Some(occupant)
        }
        _ => None,
    })
    .await;
    assert_eq!(gone.role, Role::None);
    let ping = selfping::request(&room, "viewer2", "");
    let request = viewer.send_iq(ping).await.unwrap();
    let answer = expect(&mut viewer_events, "the self-ping answer", |e| match e {
        Event::IqResult { id, result, .. } if id == request => Some(result),
        _ => None,
    })
    .await;
    let Err(Error::ServerRefused(vigie_xmpp::Refusal::Stanza(not_joined))) = answer else {
        panic!("a kicked occupant is not joined: {answer:?}");
    };
    assert_eq!(
        selfping::membership(Err(&not_joined)),
        Membership::NotJoined
    );

    // Back, then banned: out, and refused from then on.
    join(&viewer, &mut viewer_events, &room, "viewer", History::None).await;
    let ban = |c: &mut Client, room: &str| c.ban_user(room, "viewer@localhost", Some("spam"));
    let reason = put_out(&owner, &room, ban, &mut viewer_events).await;
    assert!(
        matches!(&reason, LeaveReason::Banned { reason: Some(why), .. } if why == "spam"),
        "{reason:?}"
    );
    assert_eq!(
        join_refused(
            &viewer,
            &mut viewer_events,
            &room,
            "viewer",
            Some(ROOM_SECRET)
        )
        .await,
        "forbidden"
    );

    // A late joiner asks for an hour of history: everything said so far.
    let (watcher, mut watcher_events) = login(&prosody, "watcher", transport).await;
    join(
        &watcher,
        &mut watcher_events,
        &room,
        "watcher",
        History::Seconds(3600),
    )
    .await;
    let replayed = ids(&history(&mut watcher_events).await);
    for id in posted.iter().chain([&hello]) {
        assert!(replayed.contains(id), "{id} missing from {replayed:?}");
    }

    // Destroyed: everyone is told why and where to go.
    let to = alternate.clone();
    on_room(&owner, &room, move |c, room| {
        c.destroy_room(room, Some("moved"), Some(&to))
    })
    .await;
    let destroyed = LeaveReason::Destroyed(Destroyed {
        reason: Some("moved".into()),
        alternate: Some(alternate),
    });
    assert_eq!(left(&mut watcher_events).await, destroyed);
    assert_eq!(left(&mut owner_events).await, destroyed);
}

#[tokio::test]
async fn every_muc_case_over_websocket() {
    every_muc_case(Transport::WebSocket).await;
}

#[tokio::test]
async fn every_muc_case_over_bosh() {
    every_muc_case(bosh()).await;
}

/// One archive page: the messages' ids (or bodies), and whether the archive is exhausted.
async fn archive_page(
    events: &mut Receiver<Event>,
    query_id: &str,
) -> (Vec<String>, Option<String>, bool) {
    let mut page = Vec::new();
    loop {
        let event = expect(events, "an archive page", |e| match e {
            Event::ArchivedMessage { ref query_id, .. }
            | Event::ArchivedPersonalMessage { ref query_id, .. }
            | Event::ArchiveQueryDone { ref query_id, .. } => Some((query_id.clone(), e)),
            _ => None,
        })
        .await;
        assert_eq!(event.0, query_id);
        match event.1 {
            Event::ArchivedMessage { message, .. } => {
                assert!(message.delay.is_some() && message.stanza_id.is_some());
                page.push(message.id.expect("an id"));
            }
            Event::ArchivedPersonalMessage { message, .. } => {
                assert!(message.delay.is_some());
                page.push(message.body.expect("a body"));
            }
            Event::ArchiveQueryDone { result, .. } => {
                let end = result.expect("the archive answers");
                return (page, end.last_id, end.complete);
            }
            _ => unreachable!("filtered above"),
        }
    }
}

/// Every page of an archive (`room`, or ours), `query` giving the filters and page size.
async fn read_archive(
    handle: &Handle,
    events: &mut Receiver<Event>,
    room: Option<&str>,
    query: ArchiveQuery,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after_id = None;
    loop {
        let query = ArchiveQuery {
            after_id: after_id.take(),
            ..query.clone()
        };
        let query_id = match room {
            Some(room) => handle.query_room_archive(room, query).await.unwrap(),
            None => handle.call(move |c| c.query_archive(query)).await.unwrap(),
        };
        let (page, last_id, complete) = archive_page(events, &query_id).await;
        pages.push(page);
        if complete {
            return pages;
        }
        after_id = Some(last_id.expect("an incomplete page says where it ended"));
    }
}

async fn archive_paging_in_a_room_and_in_the_personal_archive(transport: Transport) {
    let prosody = Prosody::start();
    let room = format!("log@{MUC_DOMAIN}");
    let (owner, mut owner_events) = login(&prosody, "owner", transport).await;
    create_room(&owner, &mut owner_events, &room, "owner", &[]).await;
    let posted = post(&owner, &mut owner_events, &room, "entry", 7).await;

    // Someone who was never in the room pages through its archive three at a time.
    let (reader, mut reader_events) = login(&prosody, "reader", transport).await;
    let three_at_a_time = ArchiveQuery {
        max: Some(3),
        ..ArchiveQuery::default()
    };
    let pages = read_archive(&reader, &mut reader_events, Some(&room), three_at_a_time).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(pages.concat(), posted);

    // The personal archive: what alice said to bob, two at a time.
    let (alice, mut alice_events) = login(&prosody, "alice", transport).await;
    let (_bob, mut bob_events) = login(&prosody, "bob", transport).await;
    let notes: Vec<String> = (0..5).map(|n| format!("note {n} <&>")).collect();
    for note in &notes {
        alice
            .send_message("bob@localhost/bob", MessageType::Chat, note)
            .await
            .unwrap();
    }
    for note in &notes {
        expect(&mut bob_events, "alice's note", |e| match e {
            Event::Message(message) if message.body.as_ref() == Some(note) => Some(()),
            _ => None,
        })
        .await;
    }
    let with_bob = ArchiveQuery {
        with: Some("bob@localhost".into()),
        max: Some(2),
        ..ArchiveQuery::default()
    };
    let pages = read_archive(&alice, &mut alice_events, None, with_bob).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(pages.concat(), notes);
    let filters = [
        ArchiveQuery {
            with: Some("carol@localhost".into()),
            ..ArchiveQuery::default()
        },
        ArchiveQuery {
            end: Some("2000-01-01T00:00:00Z".into()),
            ..ArchiveQuery::default()
        },
    ];
    for query in filters {
        let pages = read_archive(&alice, &mut alice_events, None, query.clone()).await;
        assert_eq!(pages.concat(), Vec::<String>::new(), "{query:?}");
    }
    let since_then = ArchiveQuery {
        start: Some("2000-01-01T00:00:00Z".into()),
        ..ArchiveQuery::default()
    };
    let pages = read_archive(&alice, &mut alice_events, None, since_then).await;
    assert_eq!(pages.concat(), notes);
}

#[tokio::test]
async fn archive_paging_in_a_room_and_in_the_personal_archive_over_websocket() {
    archive_paging_in_a_room_and_in_the_personal_archive(Transport::WebSocket).await;
}

#[tokio::test]
async fn archive_paging_in_a_room_and_in_the_personal_archive_over_bosh() {
    archive_paging_in_a_room_and_in_the_personal_archive(bosh()).await;
}

/// How the reader loses its session.
enum Outage {
    /// Prosody restarts: every session ends; the room (persistent) and archive remain.
    ServerRestart,
    /// The reader's network dies (a TCP proxy cuts it); the server carries on.
    NetworkCut,
}

/// A reader with `catch_up` loses its session while messages are posted; back online, the
/// core fills the gap from the room's archive: each message is shown once, the missed ones
/// stamped, the live ones after them.
async fn gap_filled(transport: Transport, outage: Outage) {
    let mut prosody = Prosody::start();
    let proxy = CutProxy::start(prosody.http_port()).await;
    let room = format!("gap@{MUC_DOMAIN}");
    let (owner, mut owner_events) = login(&prosody, "owner", transport).await;
    create_room(
        &owner,
        &mut owner_events,
        &room,
        "owner",
        &[("muc#roomconfig_persistentroom", "1")],
    )
    .await;
    prosody.register("reader", PASSWORD);
    let reader_config = ClientConfig {
        catch_up: true,
        // Long enough for the posts below to happen while the reader is away: 4 to 8 s
        // (jitter draws in the upper half of the step).
        reconnect: Some(Backoff {
            initial: Duration::from_secs(8),
            max: Duration::from_secs(8),
        }),
        ..account("reader", transport)
    };
    let (reader, mut reader_events) =
        connect_at(&endpoint(proxy.port, transport), reader_config).await;
    enter(&reader, &mut reader_events, &room, "reader").await;
    let before = post(&owner, &mut owner_events, &room, "before", 2).await;
    expect_each_once(&mut reader_events, &before).await;

    let lost = |e: Event| matches!(e, Event::ConnectionLost { .. }).then_some(());
    let (poster, mut poster_events) = match outage {
        Outage::ServerRestart => {
            prosody.restart();
            expect(&mut reader_events, "the connection lost", lost).await;
            // The owner's session ended too: a new one posts.
            let (poster, mut events) = connect_as(&prosody, account("owner", transport)).await;
            enter(&poster, &mut events, &room, "owner").await;
            (poster, events)
        }
        Outage::NetworkCut => {
            proxy.cut();
            expect(&mut reader_events, "the connection lost", lost).await;
            (owner, owner_events)
        }
    };
    let missed = post(&poster, &mut poster_events, &room, "missed", 5).await;

    expect(&mut reader_events, "a new session", |e| {
        matches!(e, Event::Online { .. }).then_some(())
    })
    .await;
    let mut caught_up = Vec::new();
    let result = loop {
        let event = expect(&mut reader_events, "the catch-up", |e| match e {
            Event::GroupchatMessage(message) => Some(Ok(message)),
            Event::RoomCaughtUp { result, .. } => Some(Err(result)),
            _ => None,
        })
        .await;
        match event {
            Ok(message) => {
                assert!(message.delay.is_some(), "archived: {message:?}");
                caught_up.push(message);
            }
            Err(result) => break result,
        }
    };
    assert_eq!(ids(&caught_up), missed, "the gap, in order, once");
    assert_eq!(result, Ok(5));

    // Live again: the next message comes once, and nothing earlier comes back (any other
    // groupchat would fail `expect_each_once`).
    let after = post(&poster, &mut poster_events, &room, "after", 1).await;
    let seen = expect_each_once(&mut reader_events, &after).await;
    assert_eq!(seen[0].delay, None);
}

#[tokio::test]
async fn gap_filled_after_a_restart_over_websocket() {
    gap_filled(Transport::WebSocket, Outage::ServerRestart).await;
}

#[tokio::test]
async fn gap_filled_after_a_restart_over_bosh() {
    gap_filled(bosh(), Outage::ServerRestart).await;
}

/// Over BOSH a cut TCP connection loses no session (the request is sent again with its
/// rid), so only WebSocket has this outage.
#[tokio::test]
async fn gap_filled_after_a_network_cut_over_websocket() {
    gap_filled(Transport::WebSocket, Outage::NetworkCut).await;
}

#[tokio::test]
async fn occupant_show_status_and_chat_states() {
    let prosody = Prosody::start();
    let room = format!("ops@{MUC_DOMAIN}");
    let (alice, mut alice_events) = login(&prosody, "alice", Transport::WebSocket).await;
    create_room(&alice, &mut alice_events, &room, "alice", &[]).await;
    let (bob, mut bob_events) = login(&prosody, "bob", Transport::WebSocket).await;
    enter(&bob, &mut bob_events, &room, "bob").await;

    // Presence in a room is directed to our occupant JID (XEP-0045 §7.7).
    let away = Presence::new(PresenceType::Available)
        .with_to(format!("{room}/bob"))
        .with_show(Show::Away)
        .with_status("on site <A7>");
    bob.call(move |c| c.send_presence(away)).await.unwrap();
    let occupant = expect(&mut alice_events, "bob away", |e| match e {
        Event::Occupant(occupant) if occupant.nick == "bob" && occupant.show.is_some() => {
            Some(occupant)
        }
        _ => None,
    })
    .await;
    assert_eq!(occupant.show, Some(Show::Away));
    assert_eq!(occupant.status.as_deref(), Some("on site <A7>"));
    assert!(occupant.available);

    on_room(&bob, &room, |c, room| {
        c.send_room_chat_state(room, ChatState::Composing)
    })
    .await;
    let typing = expect(&mut alice_events, "bob typing", |e| match e {
        Event::RoomChatState { nick, state, .. } => Some((nick, state)),
        Event::GroupchatMessage(message) => panic!("a chat state shown as a message: {message:?}"),
        _ => None,
    })
    .await;
    assert_eq!(typing, ("bob".to_owned(), ChatState::Composing));
    // Bob's own state comes back to him, yet is not news to him; his next message is.
    let said = send_groupchats(&bob, &room, "after typing", 1).await;
    expect(&mut bob_events, "bob's message back", |e| match e {
        Event::RoomChatState { .. } => panic!("own chat state reported: {e:?}"),
        Event::GroupchatMessage(message) if message.id == said.first().cloned() => Some(()),
        _ => None,
    })
    .await;
    // Not joined: refused before anything is sent.
    let elsewhere = format!("elsewhere@{MUC_DOMAIN}");
    let refused = bob
        .call(move |c| c.send_room_chat_state(&elsewhere, ChatState::Paused))
        .await;
    assert!(matches!(refused, Err(Error::Misuse(_))), "{refused:?}");
}
