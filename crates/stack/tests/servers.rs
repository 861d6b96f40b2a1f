//! The private servers, for real: Prosody (WebSocket and TCP logins, provisioned rooms and
//! who may speak in them), Mosquitto (publish/subscribe), MySQL (fresh databases).
//! Every test has its own servers, state folders and ports, so they run in parallel.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{item_attribute, RawXmpp, WAIT};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigie_model::contract::{
    room_jid, telemetry_topic, ANON_DOMAIN, COLLECTOR_USER, EVENT_ROOMS, GATEWAY_USER, OPS_ROOM,
    XMPP_DOMAIN,
};
use vigie_stack::{Mosquitto, Mysql, MysqlUrl, Prosody, StateDir};

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

#[tokio::test]
async fn anonymous_viewers_are_visitors_and_the_gateway_owns_the_event_rooms() {
    let prosody = provisioned_prosody();

    let mut gateway = RawXmpp::login(
        &prosody.ws_url(),
        XMPP_DOMAIN,
        Some((GATEWAY_USER, "gateway-secret")),
    )
    .await;
    let mut collector = RawXmpp::login(
        &prosody.ws_url(),
        XMPP_DOMAIN,
        Some((COLLECTOR_USER, "collector-secret")),
    )
    .await;
    let mut viewer = RawXmpp::login(&prosody.ws_url(), ANON_DOMAIN, None).await;
    assert!(viewer.jid.ends_with(&format!("@{ANON_DOMAIN}/")) || viewer.jid.contains(ANON_DOMAIN));

    for room in EVENT_ROOMS {
        let jid = room_jid(room);
        let own = gateway.join(&jid, "gateway").await;
        assert_eq!(item_attribute(&own, "role"), Some("moderator"), "{own}");
        assert_eq!(item_attribute(&own, "affiliation"), Some("owner"), "{own}");

        let own = collector.join(&jid, "collector").await;
        assert_eq!(item_attribute(&own, "affiliation"), Some("member"), "{own}");

        let own = viewer.join(&jid, "viewer").await;
        assert_eq!(item_attribute(&own, "role"), Some("visitor"), "{own}");
        assert_eq!(item_attribute(&own, "affiliation"), Some("none"), "{own}");
    }

    // The operators' room is not moderated: a viewer may speak there.
    let own = viewer.join(&room_jid(OPS_ROOM), "viewer").await;
    assert_eq!(item_attribute(&own, "role"), Some("participant"), "{own}");

    // Anonymous viewers cannot create rooms.
    let refused = viewer.join(&room_jid("graffiti"), "viewer").await;
    assert!(refused.contains("type='error'"), "{refused}");

    // A visitor's message is refused; the gateway's reaches the viewer.
    let accidents = room_jid(EVENT_ROOMS[0]);
    viewer
        .send(&format!(
            "<message xmlns='jabber:client' to='{accidents}' type='groupchat' id='v1'><body>hello</body></message>"
        ))
        .await;
    let refusal = viewer.until(|f| f.contains("id='v1'")).await;
    assert!(refusal.contains("type='error'"), "{refusal}");
    gateway
        .send(&format!(
            "<message xmlns='jabber:client' to='{accidents}' type='groupchat' id='g1'><body>crash</body></message>"
        ))
        .await;
    let seen = viewer
        .until(|f| f.contains("id='g1'") && f.contains("<body>crash</body>"))
        .await;
    assert!(seen.contains("type='groupchat'"), "{seen}");
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
