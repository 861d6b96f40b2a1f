//! Against a real Prosody 0.12 over WebSocket and over BOSH, through the tokio driver: each
//! SASL mechanism, room creation, and a groupchat with a custom payload seen exactly once by
//! two clients.

mod common;

use std::time::Duration;

use common::cut_proxy::CutProxy;
use common::driver::{
    account, connect_as, connect_at, create_room, expect, expect_each_once, expect_once, iq_ok,
    login, send_groupchats, PASSWORD, WAIT,
};
use common::prosody::{bosh, endpoint, Prosody, ANONYMOUS_DOMAIN, MUC_DOMAIN};
use tokio::sync::mpsc::Receiver;
use vigie_xmpp::driver_tokio::{connect, Handle};
use vigie_xmpp::{
    ArchiveQuery, Backoff, ClientConfig, Element, Error, Event, History, Refusal, Transport,
};

const EVENT_NS: &str = "urn:vigie:event:1";

/// `config`'s account (registered here) logged in, in `room`, created as an instant room.
async fn in_new_room(
    prosody: &Prosody,
    config: ClientConfig,
    room: &str,
) -> (Handle, Receiver<Event>) {
    let jid = config.jid.clone().expect("an account");
    let user = jid.split('@').next().expect("a local part").to_owned();
    prosody.register(&user, PASSWORD);
    let (handle, mut events) = connect_as(prosody, config).await;
    create_room(&handle, &mut events, room, &user, &[]).await;
    (handle, events)
}

/// Until `wanted` (no payload) comes, as [`expect`] does.
async fn expect_that(events: &mut Receiver<Event>, what: &str, wanted: impl Fn(&Event) -> bool) {
    expect(events, what, |e| wanted(&e).then_some(())).await
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
    let (handle, mut events) = in_new_room(&prosody, account("gateway", transport), &room).await;
    let event = Element::new("event", EVENT_NS).with_attr("id", "01JD0000000000000000000001");
    let id = handle
        .send_groupchat(&room, "hello", Some(event.clone()))
        .await
        .unwrap();
    let echoed = expect_once(&mut events, &id).await;
    assert_eq!(echoed.payload("event", EVENT_NS), Some(&event));
    handle.close().await;
    expect_that(&mut events, "disconnect", |e| {
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
    let (handle, mut events) = login(&prosody, "sha256", Transport::WebSocket).await;
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

/// A wrong password over `transport` is refused with not-authorized.
async fn wrong_password_over(transport: Transport) {
    let prosody = Prosody::start();
    prosody.register("gateway", PASSWORD);
    let config = ClientConfig::login("gateway@localhost", "wrong")
        .unwrap()
        .with_transport(transport);
    let error = connect(&prosody.url(transport), config)
        .await
        .err()
        .expect("login must fail");
    assert!(
        matches!(&error, Error::ServerRefused(Refusal::Auth { condition, .. }) if condition == "not-authorized"),
        "{error:?}"
    );
}

#[tokio::test]
async fn wrong_password_is_refused() {
    wrong_password_over(Transport::WebSocket).await;
}

/// An anonymous viewer over `transport`, in `room` from now on (no history).
async fn viewer_in(
    prosody: &Prosody,
    transport: Transport,
    room: &str,
) -> (Handle, Receiver<Event>) {
    let config = ClientConfig::anonymous(ANONYMOUS_DOMAIN).with_transport(transport);
    let (viewer, mut events) = connect_as(prosody, config).await;
    viewer
        .join_room(room, "viewer", History::None)
        .await
        .unwrap();
    // The subject closes the (empty) history replay: what follows is live.
    expect_that(&mut events, "subject", |e| {
        matches!(e, Event::RoomSubject { .. })
    })
    .await;
    (viewer, events)
}

#[tokio::test]
async fn anonymous_viewer_sees_the_gateways_event_once() {
    let prosody = Prosody::start();
    let room = format!("accidents@{MUC_DOMAIN}");
    let (gateway, mut gateway_events) =
        in_new_room(&prosody, account("gateway", Transport::WebSocket), &room).await;

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
    expect_that(&mut viewer_events, "viewer join", |e| {
        matches!(e, Event::RoomJoined { .. })
    })
    .await;
    // The subject closes the (empty) history replay: what follows is live.
    expect_that(&mut viewer_events, "subject", |e| {
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

    let seen = expect_once(&mut viewer_events, id).await;
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
    let echoed = expect_once(&mut gateway_events, id).await;
    assert_eq!(
        echoed.stanza_id, seen.stanza_id,
        "one archive id for everyone"
    );

    // A collector that was away catches up from the room archive with the same ids.
    let (collector, mut collector_events) =
        login(&prosody, "collector", Transport::WebSocket).await;
    let query = collector
        .query_room_archive(&room, ArchiveQuery::default())
        .await
        .unwrap();
    let archived = expect(&mut collector_events, "archived message", |e| match e {
        Event::ArchivedMessage { query_id, message } => {
            assert_eq!(query_id, query);
            Some(message)
        }
        _ => None,
    })
    .await;
    assert_eq!(archived.stanza_id, seen.stanza_id);
    assert_eq!(archived.origin_id.as_deref(), Some(id));
    assert_eq!(archived.payload("event", EVENT_NS), Some(&event));
    assert!(archived.delay.is_some());
    let done = expect(&mut collector_events, "end of archive", |e| match e {
        Event::ArchiveQueryDone { result, .. } => Some(result),
        _ => None,
    })
    .await;
    assert!(
        matches!(&done, Ok(page) if page.complete && page.last_id == seen.stanza_id),
        "{done:?}"
    );

    // A nick already taken is refused with a conflict.
    let (second, mut second_events) =
        connect_as(&prosody, ClientConfig::anonymous(ANONYMOUS_DOMAIN)).await;
    second
        .join_room(&room, "viewer", History::None)
        .await
        .unwrap();
    let failed = expect(&mut second_events, "join failure", |e| match e {
        Event::RoomJoinFailed { error, .. } => Some(error.condition),
        _ => None,
    })
    .await;
    assert_eq!(failed, "conflict");

    viewer.leave_room(&room).await.unwrap();
    expect_that(&mut viewer_events, "leave", |e| {
        matches!(e, Event::RoomLeft { .. })
    })
    .await;
    // The history a late joiner gets carries the delay stamp.
    viewer
        .join_room(&room, "viewer", History::MaxStanzas(5))
        .await
        .unwrap();
    let replayed = expect_once(&mut viewer_events, id).await;
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
        ..account("gateway", Transport::WebSocket)
    };
    let (gateway, mut events) = in_new_room(&prosody, config, &room).await;

    prosody.restart();
    let lost = expect(&mut events, "connection loss", |e| match e {
        Event::ConnectionLost { error, .. } => Some(error),
        _ => None,
    })
    .await;
    assert!(lost.is_transient(), "{lost:?}");
    expect_that(&mut events, "back online", |e| {
        matches!(e, Event::Online { .. })
    })
    .await;
    // Prosody forgot the temporary room, so the rejoin creates it again.
    let rejoined = expect(&mut events, "rejoin", |e| match e {
        Event::RoomJoined { room, .. } => Some(room),
        _ => None,
    })
    .await;
    assert_eq!(rejoined, room);
    let request = gateway.configure_room(&room, Vec::new()).await.unwrap();
    iq_ok(&mut events, &request).await;
    let id = gateway.send_groupchat(&room, "back", None).await.unwrap();
    expect_once(&mut events, &id).await;
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
        in_new_room(&prosody, account("gateway", bosh()), &room).await;

    // An anonymous viewer over BOSH sees the gateway's event exactly once.
    let (viewer, mut viewer_events) = viewer_in(&prosody, bosh(), &room).await;
    let event = Element::new("event", EVENT_NS).with_attr("id", "01JD0000000000000000000003");
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = gateway
            .send_groupchat(&room, &format!("event {n}"), Some(event.clone()))
            .await
            .unwrap();
        ids.push(id);
    }
    for seen in expect_each_once(&mut viewer_events, &ids).await {
        assert_eq!(seen.payload("event", EVENT_NS), Some(&event));
    }
    expect_each_once(&mut gateway_events, &ids).await;

    // Idle for longer than `wait`: the empty polls keep the session alive.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let id = gateway.send_groupchat(&room, "later", None).await.unwrap();
    expect_once(&mut viewer_events, &id).await;

    viewer.close().await;
    expect_that(&mut viewer_events, "disconnect", |e| {
        *e == Event::Disconnected { error: None }
    })
    .await;
}

#[tokio::test]
async fn bosh_wrong_password_is_refused() {
    wrong_password_over(bosh()).await;
}

/// Logs in with stream management, through `proxy`, reconnecting after `backoff`, and
/// creates `room`.
async fn resumable_in_new_room(
    prosody: &Prosody,
    proxy: &CutProxy,
    backoff: Backoff,
    room: &str,
) -> (Handle, Receiver<Event>) {
    let config = ClientConfig {
        stream_management: true,
        reconnect: Some(backoff),
        ..account("gateway", Transport::WebSocket)
    };
    prosody.register("gateway", PASSWORD);
    let proxied = endpoint(proxy.port, Transport::WebSocket);
    let (gateway, mut events) = connect_at(&proxied, config).await;
    create_room(&gateway, &mut events, room, "gateway", &[]).await;
    (gateway, events)
}

#[tokio::test]
async fn stream_management_resumes_a_cut_connection_without_loss_or_duplicates() {
    let prosody = Prosody::start();
    let proxy = CutProxy::start(prosody.http_port()).await;
    let room = format!("resume@{MUC_DOMAIN}");
    let backoff = Backoff {
        initial: Duration::from_millis(800),
        max: Duration::from_secs(2),
    };
    let (gateway, mut gateway_events) =
        resumable_in_new_room(&prosody, &proxy, backoff, &room).await;
    let (viewer, mut viewer_events) = viewer_in(&prosody, Transport::WebSocket, &room).await;

    let mut ours = send_groupchats(&gateway, &room, "before", 3).await;
    expect_each_once(&mut gateway_events, &ours).await;
    // Two more on their way when the network dies (on a busy machine their reflections may
    // still arrive before the cut: those must then not come again).
    ours.extend(send_groupchats(&gateway, &room, "cut", 2).await);
    proxy.cut();
    let mut reflected_before_cut = Vec::new();
    expect(&mut gateway_events, "connection loss", |e| match e {
        Event::ConnectionLost { .. } => Some(()),
        Event::GroupchatMessage(message) => {
            reflected_before_cut.extend(message.id);
            None
        }
        _ => None,
    })
    .await;
    // Posted while the gateway is away: its hibernating session queues them.
    let theirs = send_groupchats(&viewer, &room, "away", 3).await;
    let resumed = expect(&mut gateway_events, "resumption", |e| {
        matches!(e, Event::Resumed { .. } | Event::Online { .. }).then_some(e)
    })
    .await;
    assert!(
        matches!(&resumed, Event::Resumed { jid } if jid == "gateway@localhost/gateway"),
        "{resumed:?}"
    );
    ours.extend(send_groupchats(&gateway, &room, "after", 2).await);

    let everything: Vec<String> = ours[3..]
        .iter()
        .filter(|id| !reflected_before_cut.contains(id))
        .chain(&theirs)
        .cloned()
        .collect();
    expect_each_once(&mut gateway_events, &everything).await;
    // The viewer sees its own messages too.
    let everything: Vec<String> = ours.iter().chain(&theirs).cloned().collect();
    expect_each_once(&mut viewer_events, &everything).await;
}

#[tokio::test]
async fn an_expired_session_is_replaced_by_a_fresh_one_that_rejoins() {
    // The hibernating session is gone long before the client comes back.
    let prosody = Prosody::start_with("smacks_hibernation_time = 1");
    let proxy = CutProxy::start(prosody.http_port()).await;
    let room = format!("expired@{MUC_DOMAIN}");
    // Back after 3 to 6 s (jitter draws in the upper half of the step): well after the
    // session's 1 s of hibernation.
    let backoff = Backoff {
        initial: Duration::from_secs(6),
        max: Duration::from_secs(6),
    };
    let (_gateway, mut events) = resumable_in_new_room(&prosody, &proxy, backoff, &room).await;
    proxy.cut();
    expect_that(&mut events, "connection loss", |e| {
        matches!(e, Event::ConnectionLost { .. })
    })
    .await;
    let back = expect(&mut events, "back", |e| {
        matches!(e, Event::Resumed { .. } | Event::Online { .. }).then_some(e)
    })
    .await;
    assert!(matches!(back, Event::Online { .. }), "{back:?}");
    expect_that(
        &mut events,
        "rejoin",
        |e| matches!(e, Event::RoomJoined { room: joined, .. } if *joined == room),
    )
    .await;
}
