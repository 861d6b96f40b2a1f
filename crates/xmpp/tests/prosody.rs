//! Against a real Prosody 0.12 over WebSocket and over BOSH, through the tokio driver: each
//! SASL mechanism, room creation, and a groupchat with a custom payload seen exactly once by
//! two clients.

mod cut_proxy;
mod prosody_launcher;

use std::time::Duration;

use cut_proxy::CutProxy;
use prosody_launcher::{Prosody, ANONYMOUS_DOMAIN, MUC_DOMAIN};
use tokio::sync::mpsc::Receiver;
use vigie_xmpp::driver_tokio::{connect, Handle};
use vigie_xmpp::{
    ArchiveQuery, Backoff, ClientConfig, Element, Error, Event, History, Refusal, Role,
    RoomMessage, Transport,
};

const EVENT_NS: &str = "urn:vigie:event:1";
const WAIT: Duration = Duration::from_secs(10);

/// BOSH with a short `wait`, so an idle poll comes back within the tests' patience.
fn bosh() -> Transport {
    Transport::Bosh {
        wait: Duration::from_secs(5),
        first_rid: 0,
    }
}

/// The endpoint for `config`'s transport.
fn url(prosody: &Prosody, config: &ClientConfig) -> String {
    match config.transport {
        Transport::WebSocket => prosody.websocket_url(),
        Transport::Bosh { .. } => prosody.bosh_url(),
    }
}

/// The next event matching `wanted`, skipping others (occupants, subjects…).
async fn expect_event(
    events: &mut Receiver<Event>,
    what: &str,
    wanted: impl Fn(&Event) -> bool,
) -> Event {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events
                .recv()
                .await
                .unwrap_or_else(|| panic!("channel closed waiting for {what}"));
            if wanted(&event) {
                return event;
            }
            assert!(
                !matches!(
                    event,
                    Event::Disconnected { .. } | Event::RoomJoinFailed { .. }
                ),
                "{event:?} while waiting for {what}"
            );
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn expect_groupchat(events: &mut Receiver<Event>, id: &str) -> RoomMessage {
    match expect_event(
        events,
        "our groupchat",
        |e| matches!(e, Event::GroupchatMessage(m) if m.id.as_deref() == Some(id)),
    )
    .await
    {
        Event::GroupchatMessage(message) => message,
        _ => unreachable!("filtered above"),
    }
}

/// No second copy of message `id` arrives within a short while.
async fn expect_no_copy(events: &mut Receiver<Event>, id: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        assert!(
            !matches!(&event, Event::GroupchatMessage(m) if m.id.as_deref() == Some(id)),
            "message {id} delivered twice"
        );
    }
}

/// Logs in as a registered user (resource = user name), creates `room` as an instant room
/// and returns the session.
async fn create_room(prosody: &Prosody, user: &str, room: &str) -> (Handle, Receiver<Event>) {
    let config = ClientConfig::login(&format!("{user}@localhost/{user}"), "secret").unwrap();
    create_room_with(prosody, config, room).await
}

/// Logs in as `user` over `transport`.
fn user_config(user: &str, transport: Transport) -> ClientConfig {
    ClientConfig::login(&format!("{user}@localhost/{user}"), "secret")
        .unwrap()
        .with_transport(transport)
}

async fn create_room_with(
    prosody: &Prosody,
    config: ClientConfig,
    room: &str,
) -> (Handle, Receiver<Event>) {
    let jid = config.jid.clone().expect("an account");
    let user = jid.split('@').next().expect("a local part").to_owned();
    prosody.register(&user, "secret");
    let (handle, mut events) = connect(&url(prosody, &config), config)
        .await
        .expect("login");
    assert_eq!(
        events.recv().await,
        Some(Event::Online {
            jid: format!("{user}@localhost/{user}")
        })
    );
    handle.join_room(room, &user, History::None).await.unwrap();
    let joined = expect_event(&mut events, "join", |e| {
        matches!(e, Event::RoomJoined { .. })
    })
    .await;
    assert!(
        matches!(
            &joined,
            Event::RoomJoined {
                created: true,
                role: Role::Moderator,
                ..
            }
        ),
        "{joined:?}"
    );
    // Prosody locks new rooms until the owner accepts a configuration.
    let request = handle.configure_room(room, Vec::new()).await.unwrap();
    let answer = expect_event(
        &mut events,
        "room configuration",
        |e| matches!(e, Event::IqResult { id, .. } if *id == request),
    )
    .await;
    assert!(
        matches!(answer, Event::IqResult { result: Ok(_), .. }),
        "{answer:?}"
    );
    (handle, events)
}

async fn login_with_only(mechanism_disabled: &str) {
    login_over_without(Transport::WebSocket, mechanism_disabled).await;
}

/// Logs in over `transport` with one mechanism disabled, creates a room and sees its own
/// groupchat come back exactly once.
async fn login_over_without(transport: Transport, mechanism_disabled: &str) {
    let prosody = Prosody::start_with(&format!(
        "disable_sasl_mechanisms = {{ \"{mechanism_disabled}\" }}"
    ));
    let room = format!("only-{}@{MUC_DOMAIN}", mechanism_disabled.to_lowercase());
    let (handle, mut events) =
        create_room_with(&prosody, user_config("gateway", transport), &room).await;
    let event = Element::new("event", EVENT_NS).with_attr("id", "01JD0000000000000000000001");
    let id = handle
        .send_groupchat(&room, "hello", Some(event.clone()))
        .await
        .unwrap();
    let echoed = expect_groupchat(&mut events, &id).await;
    assert_eq!(echoed.payload("event", EVENT_NS), Some(&event));
    expect_no_copy(&mut events, &id).await;
    handle.close().await;
    expect_event(&mut events, "disconnect", |e| {
        *e == Event::Disconnected { error: None }
    })
    .await;
}

#[tokio::test]
async fn scram_sha1_login() {
    login_with_only("PLAIN").await;
}

#[tokio::test]
async fn plain_login() {
    login_with_only("SCRAM-SHA-1").await;
}

#[tokio::test]
async fn scram_sha256_login() {
    let prosody = Prosody::start_with(
        "password_hash = \"SHA-256\"\ndisable_sasl_mechanisms = { \"PLAIN\", \"SCRAM-SHA-1\" }",
    );
    prosody.register("sha256", "secret");
    let config = ClientConfig::login("sha256@localhost", "secret").unwrap();
    let (handle, mut events) = connect(&prosody.websocket_url(), config)
        .await
        .expect("login");
    assert!(matches!(events.recv().await, Some(Event::Online { .. })));
    // Dropping the last handle closes the stream politely, then the event channel.
    drop(handle);
    let last = tokio::time::timeout(WAIT, async {
        let mut last = None;
        while let Some(event) = events.recv().await {
            last = Some(event);
        }
        last
    })
    .await
    .expect("the driver stops");
    assert_eq!(last, Some(Event::Disconnected { error: None }));
}

#[tokio::test]
async fn wrong_password_is_refused() {
    let prosody = Prosody::start();
    prosody.register("gateway", "secret");
    let config = ClientConfig::login("gateway@localhost", "wrong").unwrap();
    let error = connect(&prosody.websocket_url(), config)
        .await
        .err()
        .expect("login must fail");
    assert!(
        matches!(&error, Error::ServerRefused(Refusal::Auth { condition, .. }) if condition == "not-authorized"),
        "{error:?}"
    );
}

#[tokio::test]
async fn anonymous_viewer_sees_the_gateways_event_once() {
    let prosody = Prosody::start();
    let room = format!("accidents@{MUC_DOMAIN}");
    let (gateway, mut gateway_events) = create_room(&prosody, "gateway", &room).await;

    let (viewer, mut viewer_events) = connect(
        &prosody.websocket_url(),
        ClientConfig::anonymous(ANONYMOUS_DOMAIN),
    )
    .await
    .expect("anonymous login");
    let online = viewer_events.recv().await;
    assert!(
        matches!(&online, Some(Event::Online { jid }) if jid.contains("@anon.localhost/")),
        "{online:?}"
    );
    viewer
        .join_room(&room, "viewer", History::MaxStanzas(20))
        .await
        .unwrap();
    expect_event(&mut viewer_events, "viewer join", |e| {
        matches!(e, Event::RoomJoined { .. })
    })
    .await;
    // The subject closes the (empty) history replay: what follows is live.
    expect_event(&mut viewer_events, "subject", |e| {
        matches!(e, Event::RoomSubject { .. })
    })
    .await;

    let event = Element::new("event", EVENT_NS)
        .with_attr("id", "01JD0000000000000000000002")
        .with_attr("kind", "accident")
        .with_attr("status", "open");
    let id = "01JD0000000000000000000002";
    gateway
        .send_groupchat_with_id(&room, id, "Accident near Gare du Nord", Some(event.clone()))
        .await
        .unwrap();

    let seen = expect_groupchat(&mut viewer_events, id).await;
    assert_eq!(seen.room, room);
    assert_eq!(seen.nick, "gateway");
    assert_eq!(seen.body.as_deref(), Some("Accident near Gare du Nord"));
    assert_eq!(seen.origin_id.as_deref(), Some(id));
    assert!(
        seen.stanza_id.is_some(),
        "muc_mam gives each message an archive id"
    );
    assert_eq!(seen.payload("event", EVENT_NS), Some(&event));
    assert_eq!(seen.delay, None, "live, not history");
    let echoed = expect_groupchat(&mut gateway_events, id).await;
    assert_eq!(
        echoed.stanza_id, seen.stanza_id,
        "one archive id for everyone"
    );

    expect_no_copy(&mut viewer_events, id).await;
    expect_no_copy(&mut gateway_events, id).await;

    // A collector that was away catches up from the room archive with the same ids.
    prosody.register("collector", "secret");
    let config = ClientConfig::login("collector@localhost", "secret").unwrap();
    let (collector, mut collector_events) =
        connect(&prosody.websocket_url(), config).await.unwrap();
    let query = collector
        .query_room_archive(&room, ArchiveQuery::default())
        .await
        .unwrap();
    let archived = match expect_event(&mut collector_events, "archived message", |e| {
        matches!(e, Event::ArchivedMessage { .. })
    })
    .await
    {
        Event::ArchivedMessage { query_id, message } => {
            assert_eq!(query_id, query);
            message
        }
        _ => unreachable!("filtered above"),
    };
    assert_eq!(archived.stanza_id, seen.stanza_id);
    assert_eq!(archived.origin_id.as_deref(), Some(id));
    assert_eq!(archived.payload("event", EVENT_NS), Some(&event));
    assert!(archived.delay.is_some());
    let done = expect_event(&mut collector_events, "end of archive", |e| {
        matches!(e, Event::ArchiveQueryDone { .. })
    })
    .await;
    assert!(
        matches!(&done, Event::ArchiveQueryDone { result: Ok(page), .. } if page.complete && page.last_id == seen.stanza_id),
        "{done:?}"
    );

    // A nick already taken is refused with a conflict.
    let (second, mut second_events) = connect(
        &prosody.websocket_url(),
        ClientConfig::anonymous(ANONYMOUS_DOMAIN),
    )
    .await
    .unwrap();
    second
        .join_room(&room, "viewer", History::None)
        .await
        .unwrap();
    let failed = tokio::time::timeout(WAIT, async {
        loop {
            match second_events.recv().await {
                Some(Event::RoomJoinFailed { error, .. }) => return error,
                Some(_) => continue,
                None => panic!("channel closed"),
            }
        }
    })
    .await
    .expect("join failure");
    assert_eq!(failed.condition, "conflict");

    viewer.leave_room(&room).await.unwrap();
    expect_event(&mut viewer_events, "leave", |e| {
        matches!(e, Event::RoomLeft { .. })
    })
    .await;
    // The history a late joiner gets carries the delay stamp.
    viewer
        .join_room(&room, "viewer", History::MaxStanzas(5))
        .await
        .unwrap();
    let replayed = expect_groupchat(&mut viewer_events, id).await;
    assert!(replayed.delay.is_some(), "history is stamped");
    assert_eq!(replayed.payload("event", EVENT_NS), Some(&event));
}

#[tokio::test]
async fn reconnects_and_rejoins_after_a_server_restart() {
    let mut prosody = Prosody::start();
    let room = format!("ops@{MUC_DOMAIN}");
    let config = ClientConfig {
        reconnect: Some(Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(2),
        }),
        ..ClientConfig::login("gateway@localhost/gateway", "secret").unwrap()
    };
    let (gateway, mut events) = create_room_with(&prosody, config, &room).await;

    prosody.restart();
    let lost = expect_event(&mut events, "connection loss", |e| {
        matches!(e, Event::ConnectionLost { .. })
    })
    .await;
    assert!(
        matches!(&lost, Event::ConnectionLost { error, .. } if error.is_transient()),
        "{lost:?}"
    );
    expect_event(&mut events, "back online", |e| {
        matches!(e, Event::Online { .. })
    })
    .await;
    // Prosody forgot the temporary room, so the rejoin creates it again.
    let rejoined = expect_event(&mut events, "rejoin", |e| {
        matches!(e, Event::RoomJoined { .. })
    })
    .await;
    assert!(
        matches!(&rejoined, Event::RoomJoined { room: joined, .. } if *joined == room),
        "{rejoined:?}"
    );
    let request = gateway.configure_room(&room, Vec::new()).await.unwrap();
    expect_event(
        &mut events,
        "room unlocked",
        |e| matches!(e, Event::IqResult { id, result: Ok(_), .. } if *id == request),
    )
    .await;
    let id = gateway.send_groupchat(&room, "back", None).await.unwrap();
    expect_groupchat(&mut events, &id).await;
}

#[tokio::test]
async fn bosh_scram_sha1_login_room_and_groupchat() {
    login_over_without(bosh(), "PLAIN").await;
}

#[tokio::test]
async fn bosh_plain_login_room_and_groupchat() {
    login_over_without(bosh(), "SCRAM-SHA-1").await;
}

#[tokio::test]
async fn bosh_scram_sha256_login_room_and_groupchat() {
    let prosody = Prosody::start_with(
        "password_hash = \"SHA-256\"\ndisable_sasl_mechanisms = { \"PLAIN\", \"SCRAM-SHA-1\" }",
    );
    let room = format!("sha256@{MUC_DOMAIN}");
    let (gateway, mut gateway_events) =
        create_room_with(&prosody, user_config("gateway", bosh()), &room).await;

    // An anonymous viewer over BOSH sees the gateway's event exactly once.
    let viewer_config = ClientConfig::anonymous(ANONYMOUS_DOMAIN).with_transport(bosh());
    let (viewer, mut viewer_events) = connect(&prosody.bosh_url(), viewer_config)
        .await
        .expect("anonymous login over BOSH");
    viewer
        .join_room(&room, "viewer", History::None)
        .await
        .unwrap();
    expect_event(&mut viewer_events, "subject", |e| {
        matches!(e, Event::RoomSubject { .. })
    })
    .await;
    let event = Element::new("event", EVENT_NS).with_attr("id", "01JD0000000000000000000003");
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = gateway
            .send_groupchat(&room, &format!("event {n}"), Some(event.clone()))
            .await
            .unwrap();
        ids.push(id);
    }
    for id in &ids {
        let seen = expect_groupchat(&mut viewer_events, id).await;
        assert_eq!(seen.payload("event", EVENT_NS), Some(&event));
        expect_groupchat(&mut gateway_events, id).await;
    }
    for id in &ids {
        expect_no_copy(&mut viewer_events, id).await;
    }

    // Idle for longer than `wait`: the empty polls keep the session alive.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let id = gateway.send_groupchat(&room, "later", None).await.unwrap();
    expect_groupchat(&mut viewer_events, &id).await;

    viewer.close().await;
    expect_event(&mut viewer_events, "disconnect", |e| {
        *e == Event::Disconnected { error: None }
    })
    .await;
}

#[tokio::test]
async fn bosh_wrong_password_is_refused() {
    let prosody = Prosody::start();
    prosody.register("gateway", "secret");
    let config = ClientConfig::login("gateway@localhost", "wrong")
        .unwrap()
        .with_transport(bosh());
    let error = connect(&prosody.bosh_url(), config)
        .await
        .err()
        .expect("login must fail");
    assert!(
        matches!(&error, Error::ServerRefused(Refusal::Auth { condition, .. }) if condition == "not-authorized"),
        "{error:?}"
    );
}

/// Every groupchat with one of `ids`, until each was seen once; then none may come again.
async fn expect_each_once(events: &mut Receiver<Event>, ids: &[String]) {
    let mut missing: Vec<&String> = ids.iter().collect();
    while !missing.is_empty() {
        let event = expect_event(events, "the remaining messages", |e| {
            matches!(e, Event::GroupchatMessage(m) if m.id.as_ref().is_some_and(|id| ids.contains(id)))
        })
        .await;
        let Event::GroupchatMessage(message) = event else {
            unreachable!("filtered above")
        };
        let id = message.id.expect("filtered above");
        assert!(missing.contains(&&id), "message {id} delivered twice");
        missing.retain(|missing| **missing != id);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        if let Event::GroupchatMessage(message) = event {
            let id = message.id.unwrap_or_default();
            assert!(!ids.contains(&id), "message {id} delivered twice");
        }
    }
}

#[tokio::test]
async fn stream_management_resumes_a_cut_connection_without_loss_or_duplicates() {
    let prosody = Prosody::start();
    let proxy = CutProxy::start(prosody.http_port()).await;
    let room = format!("resume@{MUC_DOMAIN}");
    let config = ClientConfig {
        stream_management: true,
        reconnect: Some(Backoff {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(2),
        }),
        ..user_config("gateway", Transport::WebSocket)
    };
    prosody.register("gateway", "secret");
    let proxied = format!("ws://127.0.0.1:{}/xmpp-websocket", proxy.port);
    let (gateway, mut gateway_events) = connect(&proxied, config).await.expect("login");
    expect_event(&mut gateway_events, "online", |e| {
        matches!(e, Event::Online { .. })
    })
    .await;
    gateway
        .join_room(&room, "gateway", History::None)
        .await
        .unwrap();
    expect_event(&mut gateway_events, "join", |e| {
        matches!(e, Event::RoomJoined { .. })
    })
    .await;
    let request = gateway.configure_room(&room, Vec::new()).await.unwrap();
    expect_event(
        &mut gateway_events,
        "room unlocked",
        |e| matches!(e, Event::IqResult { id, result: Ok(_), .. } if *id == request),
    )
    .await;

    let (viewer, mut viewer_events) = connect(
        &prosody.websocket_url(),
        ClientConfig::anonymous(ANONYMOUS_DOMAIN),
    )
    .await
    .expect("viewer login");
    viewer
        .join_room(&room, "viewer", History::None)
        .await
        .unwrap();
    expect_event(&mut viewer_events, "subject", |e| {
        matches!(e, Event::RoomSubject { .. })
    })
    .await;

    let mut ours = Vec::new();
    for n in 0..3 {
        ours.push(
            gateway
                .send_groupchat(&room, &format!("before {n}"), None)
                .await
                .unwrap(),
        );
    }
    expect_groupchat(&mut gateway_events, &ours[2]).await;
    // Two more on their way when the network dies.
    for n in 0..2 {
        ours.push(
            gateway
                .send_groupchat(&room, &format!("cut {n}"), None)
                .await
                .unwrap(),
        );
    }
    proxy.cut();
    let lost = expect_event(&mut gateway_events, "connection loss", |e| {
        matches!(e, Event::ConnectionLost { .. })
    })
    .await;
    assert!(matches!(lost, Event::ConnectionLost { .. }));
    // Posted while the gateway is away: its hibernating session queues them.
    let mut theirs = Vec::new();
    for n in 0..3 {
        theirs.push(
            viewer
                .send_groupchat(&room, &format!("away {n}"), None)
                .await
                .unwrap(),
        );
    }
    let resumed = expect_event(&mut gateway_events, "resumption", |e| {
        matches!(e, Event::Resumed { .. } | Event::Online { .. })
    })
    .await;
    assert!(
        matches!(&resumed, Event::Resumed { jid } if jid == "gateway@localhost/gateway"),
        "{resumed:?}"
    );
    for n in 0..2 {
        ours.push(
            gateway
                .send_groupchat(&room, &format!("after {n}"), None)
                .await
                .unwrap(),
        );
    }

    let everything: Vec<String> = ours[3..].iter().chain(&theirs).cloned().collect();
    expect_each_once(&mut gateway_events, &everything).await;
    expect_each_once(&mut viewer_events, &ours).await;
}

#[tokio::test]
async fn an_expired_session_is_replaced_by_a_fresh_one_that_rejoins() {
    // The hibernating session is gone long before the client comes back.
    let prosody = Prosody::start_with("smacks_hibernation_time = 1");
    let proxy = CutProxy::start(prosody.http_port()).await;
    let room = format!("expired@{MUC_DOMAIN}");
    let config = ClientConfig {
        stream_management: true,
        reconnect: Some(Backoff {
            initial: Duration::from_secs(3),
            max: Duration::from_secs(3),
        }),
        ..user_config("gateway", Transport::WebSocket)
    };
    prosody.register("gateway", "secret");
    let proxied = format!("ws://127.0.0.1:{}/xmpp-websocket", proxy.port);
    let (gateway, mut events) = connect(&proxied, config).await.expect("login");
    gateway
        .join_room(&room, "gateway", History::None)
        .await
        .unwrap();
    let request = gateway.configure_room(&room, Vec::new()).await.unwrap();
    expect_event(
        &mut events,
        "room unlocked",
        |e| matches!(e, Event::IqResult { id, result: Ok(_), .. } if *id == request),
    )
    .await;
    proxy.cut();
    expect_event(&mut events, "connection loss", |e| {
        matches!(e, Event::ConnectionLost { .. })
    })
    .await;
    let back = expect_event(&mut events, "back", |e| {
        matches!(e, Event::Resumed { .. } | Event::Online { .. })
    })
    .await;
    assert!(matches!(back, Event::Online { .. }), "{back:?}");
    expect_event(
        &mut events,
        "rejoin",
        |e| matches!(e, Event::RoomJoined { room: joined, .. } if *joined == room),
    )
    .await;
}
