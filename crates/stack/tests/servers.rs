//! The private servers, for real: Prosody (WebSocket logins with the XMPP core, TCP streams,
//! provisioned rooms and who may speak in them), Mosquitto (publish/subscribe), MySQL (fresh databases,
//! a private MariaDB started again after a crash).
//! Every test has its own servers, state folders and ports, so they run in parallel.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::WAIT;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::Receiver;
use vigie_model::contract::{
    room_jid, room_title, telemetry_topic, ANON_DOMAIN, COLLECTOR_USER, EVENT_ROOMS, GATEWAY_USER,
    MUC_SERVICE, OPS_ROOM, XMPP_DOMAIN,
};
use vigie_stack::{Mosquitto, Mysql, MysqlUrl, Prosody, StateDir};
use vigie_xmpp::driver_tokio::{connect, Handle};
use vigie_xmpp::{Affiliation, ArchiveQuery, ClientConfig, Event as XmppEvent, History, Role};

fn provisioned_prosody() -> Prosody {
    let prosody = Prosody::start_for_test().expect("start Prosody");
    prosody
        .register(GATEWAY_USER, XMPP_DOMAIN, "gateway-secret")
        .unwrap();
    prosody
        .register(COLLECTOR_USER, XMPP_DOMAIN, "collector-secret")
        .unwrap();
    let (gateway, collector) = (
        format!("{GATEWAY_USER}@{XMPP_DOMAIN}"),
        format!("{COLLECTOR_USER}@{XMPP_DOMAIN}"),
    );
    prosody.create_event_rooms(&gateway, &collector).unwrap();
    // Idempotent: a second run (a restarted stack) changes nothing and does not fail.
    prosody.create_event_rooms(&gateway, &collector).unwrap();
    prosody
}

/// Logs in over WebSocket with the XMPP core's native driver.
async fn online(prosody: &Prosody, config: ClientConfig) -> (Handle, Receiver<XmppEvent>) {
    connect(&prosody.ws_url(), config).await.expect("login")
}

/// The next event `wanted` accepts, skipping others.
async fn next_event<T>(
    events: &mut Receiver<XmppEvent>,
    mut wanted: impl FnMut(XmppEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("session open");
            if let Some(found) = wanted(event) {
                return found;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

/// Joins `room` as `nick`: our role and affiliation there, or the room's refusal.
async fn join(
    (handle, events): &mut (Handle, Receiver<XmppEvent>),
    room: &str,
    nick: &str,
) -> Result<(Role, Affiliation), String> {
    handle
        .join_room(room, nick, History::MaxStanzas(0))
        .await
        .unwrap();
    next_event(events, |event| match event {
        XmppEvent::RoomJoined {
            room: joined,
            role,
            affiliation,
            ..
        } if joined == room => Some(Ok((role, affiliation))),
        XmppEvent::RoomJoinFailed {
            room: failed,
            error,
        } if failed == room => Some(Err(error.condition)),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn anonymous_viewers_are_visitors_and_the_gateway_owns_the_event_rooms() {
    let prosody = provisioned_prosody();
    let account = |user: &str, password: &str| {
        ClientConfig::login(&format!("{user}@{XMPP_DOMAIN}"), password).unwrap()
    };
    let mut gateway = online(&prosody, account(GATEWAY_USER, "gateway-secret")).await;
    let mut collector = online(&prosody, account(COLLECTOR_USER, "collector-secret")).await;
    let mut viewer = online(&prosody, ClientConfig::anonymous(ANON_DOMAIN)).await;

    for room in EVENT_ROOMS {
        let jid = room_jid(room);
        let (role, affiliation) = join(&mut gateway, &jid, "gateway").await.unwrap();
        assert_eq!((role, affiliation), (Role::Moderator, Affiliation::Owner));
        let (_, affiliation) = join(&mut collector, &jid, "collector").await.unwrap();
        assert_eq!(affiliation, Affiliation::Member);
        let (role, affiliation) = join(&mut viewer, &jid, "viewer").await.unwrap();
        assert_eq!((role, affiliation), (Role::Visitor, Affiliation::None));
    }

    // The dashboard lists the rooms from the MUC service (disco#items), by their titles.
    let listing = viewer.0.call(|c| c.list_rooms(MUC_SERVICE)).await.unwrap();
    let mut listed = next_event(&mut viewer.1, |event| match event {
        XmppEvent::RoomList { id, result, .. } if id == listing => Some(result.unwrap()),
        _ => None,
    })
    .await;
    listed.sort_by(|a, b| a.jid.cmp(&b.jid));
    let mut expected: Vec<(String, &str)> = EVENT_ROOMS
        .into_iter()
        .chain([OPS_ROOM])
        .map(|room| (room_jid(room), room_title(room)))
        .collect();
    expected.sort();
    let listed: Vec<(String, &str)> = listed
        .iter()
        .map(|item| (item.jid.clone(), item.name.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(listed, expected);

    // The operators' room is for accounts: not moderated, but closed to anonymous viewers,
    // its archive too.
    let ops = room_jid(OPS_ROOM);
    let (role, _) = join(&mut collector, &ops, "operator").await.unwrap();
    assert_eq!(role, Role::Participant);
    collector
        .0
        .send_groupchat(&ops, "for operators", None)
        .await
        .unwrap();
    assert_eq!(
        join(&mut viewer, &ops, "viewer").await,
        Err("registration-required".to_owned())
    );
    let query = viewer
        .0
        .query_room_archive(&ops, ArchiveQuery::default())
        .await
        .unwrap();
    let refusal = next_event(&mut viewer.1, |event| match event {
        XmppEvent::ArchivedMessage { query_id, message } if query_id == query => {
            panic!("an anonymous viewer read the operators' archive: {message:?}")
        }
        XmppEvent::ArchiveQueryDone { query_id, result } if query_id == query => Some(result),
        _ => None,
    })
    .await;
    match refusal {
        Err(vigie_xmpp::Error::ServerRefused(vigie_xmpp::Refusal::Stanza(error))) => {
            assert_eq!(error.condition, "forbidden", "{error:?}")
        }
        other => panic!("the operators' archive answered a viewer: {other:?}"),
    }

    // Anonymous viewers cannot create rooms.
    assert!(join(&mut viewer, &room_jid("graffiti"), "viewer")
        .await
        .is_err());

    // A visitor's message is refused; the gateway's reaches the viewer.
    let accidents = room_jid(EVENT_ROOMS[0]);
    let refused = viewer
        .0
        .send_groupchat(&accidents, "hello", None)
        .await
        .unwrap();
    let error = next_event(&mut viewer.1, |event| match event {
        XmppEvent::MessageError { id, error, .. } if id.as_deref() == Some(refused.as_str()) => {
            Some(error)
        }
        _ => None,
    })
    .await;
    assert_eq!(error.condition, "forbidden", "{error:?}");
    gateway
        .0
        .send_groupchat(&accidents, "crash", None)
        .await
        .unwrap();
    let seen = next_event(&mut viewer.1, |event| match event {
        XmppEvent::GroupchatMessage(message) if message.body.as_deref() == Some("crash") => {
            Some(message)
        }
        _ => None,
    })
    .await;
    assert_eq!((seen.room, seen.nick), (accidents, "gateway".to_owned()));
}

#[tokio::test]
async fn c2s_accepts_plain_tcp_streams_without_tls() {
    let prosody = Prosody::start_for_test().expect("start Prosody");
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", prosody.c2s_port()))
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "<?xml version='1.0'?><stream:stream to='{XMPP_DOMAIN}' version='1.0' \
                 xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut received = String::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        while !received.contains("</stream:features>") {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "connection closed: {received}");
            received.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    })
    .await
    .expect("stream features");
    assert!(
        received.contains("<mechanism>PLAIN</mechanism>"),
        "{received}"
    );
    assert!(!received.contains("<required/></starttls>"), "{received}");
}

#[tokio::test]
async fn mosquitto_delivers_what_is_published() {
    let broker = Mosquitto::start_for_test().expect("start Mosquitto");
    assert_eq!(broker.url(), format!("mqtt://127.0.0.1:{}", broker.port()));
    let mut options = MqttOptions::new("vigie-stack-test", "127.0.0.1", broker.port());
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(options, 10);
    let topic = telemetry_topic("test-vehicle");
    client.subscribe(&topic, QoS::AtLeastOnce).await.unwrap();
    let mut published = false;
    let payload = tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await.expect("MQTT connection") {
                Event::Incoming(Packet::SubAck(_)) if !published => {
                    published = true;
                    client
                        .publish(&topic, QoS::AtLeastOnce, false, &b"{\"ts\":1}"[..])
                        .await
                        .unwrap();
                }
                Event::Incoming(Packet::Publish(message)) => return message.payload,
                _ => {}
            }
        }
    })
    .await
    .expect("our message back");
    assert_eq!(&payload[..], b"{\"ts\":1}");
}

#[test]
fn fresh_databases_exist_are_empty_and_differ() {
    let mysql = Mysql::shared();
    let first = MysqlUrl::parse(&mysql.fresh_database("stack-test").unwrap()).unwrap();
    let second = MysqlUrl::parse(&mysql.fresh_database("stack-test").unwrap()).unwrap();
    assert_ne!(first.database, second.database);
    let name = first.database.clone().unwrap();
    assert!(name.starts_with("stack_test_"), "{name}");
    assert_eq!(first.query("SELECT DATABASE()").unwrap().trim(), name);
    assert_eq!(first.query("SHOW TABLES").unwrap(), "");
}

#[test]
fn wrong_credentials_and_taken_ports_fail_fast_and_clearly() {
    let mut wrong = Mysql::shared().admin().clone();
    wrong.password = "not-the-password".to_owned();
    let error = Mysql::connect(&wrong.to_string()).unwrap_err();
    assert!(
        format!("{error:#}").contains("refused the credentials"),
        "{error:#}"
    );

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let state = StateDir::temporary("taken-port").unwrap();
    let error = Mosquitto::start(state.path(), port).unwrap_err();
    assert!(format!("{error:#}").contains("port is taken"), "{error:#}");

    let database = Mysql::shared().fresh_database("taken").unwrap();
    let started = std::time::Instant::now();
    let error =
        Prosody::start_on(state.path(), &database, vigie_stack::free_port(), port).unwrap_err();
    assert!(format!("{error:#}").contains("port is taken"), "{error:#}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn a_private_mariadb_that_crashed_starts_again_with_its_data() {
    let state = StateDir::temporary("mariadb-restart").unwrap();
    let mut mysql = Mysql::start_private(state.path(), vigie_stack::free_port()).unwrap();
    let kept = MysqlUrl::parse(&mysql.ensure_database("kept").unwrap()).unwrap();
    kept.query("CREATE TABLE t (n INT); INSERT INTO t VALUES (7)")
        .unwrap();

    let pid_file = state.path().join("mysql/mysqld.owner.pid");
    let record = std::fs::read_to_string(&pid_file).unwrap();
    let pid: i32 = record.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: kill(2) has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let deadline = std::time::Instant::now() + WAIT;
    while mysql.exited().is_none() {
        assert!(std::time::Instant::now() < deadline, "MariaDB never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(kept.query("SELECT 1").is_err(), "MariaDB still answers");
    assert!(
        !pid_file.exists(),
        "the dead server's pid file is left behind"
    );

    mysql.restart().unwrap();
    assert_eq!(kept.query("SELECT n FROM t").unwrap().trim(), "7");
    mysql.stop();
}
