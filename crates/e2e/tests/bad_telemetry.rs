//! Hostile telemetry is counted by reason and skipped; the gateway keeps detecting.

use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};
use vigie_e2e::{eventually, metric, Stack, Viewer};
use vigie_model::contract::telemetry_topic;
use vigie_model::{EventKind, Status};

async fn scrape(url: &str) -> anyhow::Result<String> {
    let stream = tokio::net::TcpStream::connect(url).await?;
    let (mut read, mut write) = stream.into_split();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    write
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut text = String::new();
    read.read_to_string(&mut text).await?;
    Ok(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_telemetry_is_counted_and_skipped() -> anyhow::Result<()> {
    let stack = Stack::start(None).await?;
    // The gateway is a process of its own: its counters are served there.
    let metrics = stack.gateway_metrics.to_string();
    let mut viewer = Viewer::join(&stack, "accidents").await?;

    let port: u16 = stack
        .broker
        .url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .parse()?;
    let mut options = MqttOptions::new("hostile-vehicle", "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (mqtt, mut eventloop) = AsyncClient::new(options, 64);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let topic = telemetry_topic("veh-x");
    // Fixes stamped a minute ago: older ones would be timed out by the gateway's clock (an
    // accident open for 15 minutes is cleared), which adds events this test does not expect.
    let minute_ago = (time::OffsetDateTime::now_utc().unix_timestamp() as u64 - 60) * 1000;
    let fix = |ts: u64, extra: &str| {
        let ts = minute_ago + ts;
        format!(r#"{{"ts":{ts},"lat":45.76,"lon":4.835,"speed_kmh":0,"heading":0{extra}}}"#)
    };
    let corpus: Vec<(String, Vec<u8>)> = vec![
        (topic.clone(), b"{not json".to_vec()),
        (
            topic.clone(),
            br#"{"ts":1,"lat":"NaN","lon":4.8,"speed_kmh":0,"heading":0}"#.to_vec(),
        ),
        (topic.clone(), fix(2, r#","extra":true"#).into_bytes()),
        (
            topic.clone(),
            br#"{"ts":3,"lat":95,"lon":4.8,"speed_kmh":0,"heading":0}"#.to_vec(),
        ),
        (topic.clone(), vec![b' '; 64 * 1024]),
        ("vigie/vehicles//telemetry".into(), fix(4, "").into_bytes()),
        // An event lists its vehicles apart by spaces: this id would come out as two vehicles.
        (
            "vigie/vehicles/my car/telemetry".into(),
            fix(4, "").into_bytes(),
        ),
        (topic.clone(), "<script>alert(1)</script>".into()),
        (topic.clone(), fix(5, r#","flags":["crash"]"#).into_bytes()),
        // Year 3000, then a fix older than the crash: neither may move the vehicle's state.
        (
            topic.clone(),
            br#"{"ts":32503680000000,"lat":45.76,"lon":4.835,"speed_kmh":0,"heading":0}"#.to_vec(),
        ),
        (topic.clone(), fix(4, "").into_bytes()),
    ];
    // The corpus goes out once the gateway's subscription exists (a probe vehicle's fixes are
    // counted as received), so every message of it reaches the gateway and the counts are exact.
    let probe = telemetry_topic("veh-probe");
    let mut probe_ts = 0;
    eventually(Duration::from_secs(30), "the gateway subscribed", || {
        probe_ts += 1;
        let payload = fix(probe_ts, "").into_bytes();
        let (mqtt, probe, metrics) = (mqtt.clone(), probe.clone(), metrics.clone());
        async move {
            mqtt.publish(probe, QoS::AtLeastOnce, false, payload)
                .await?;
            // Not listening yet while the gateway process starts.
            let Ok(text) = scrape(&metrics).await else {
                return Ok(None);
            };
            Ok((metric(&text, "vigie_telemetry_received_total") >= 1).then_some(()))
        }
    })
    .await?;
    for (topic, payload) in &corpus {
        mqtt.publish(topic, QoS::AtLeastOnce, false, payload.clone())
            .await?;
    }
    let (accident, _) = viewer.next_event(Duration::from_secs(30)).await?;
    assert_eq!(
        (accident.kind, accident.status, accident.vehicles.as_slice()),
        (
            EventKind::Accident,
            Status::Open,
            ["veh-x".to_owned()].as_slice()
        )
    );

    let expected = [
        ("json", 2),
        ("schema", 1),
        ("unknown_field", 1),
        ("out_of_range", 1),
        ("oversize", 1),
        ("topic", 2),
        ("future", 1),
        ("out_of_order", 1),
    ];
    let rejections = |text: &str| -> Vec<(&'static str, u64)> {
        expected
            .iter()
            .map(|&(reason, _)| {
                let labels = format!(r#"vigie_rejected_total{{reason="{reason}"}}"#);
                (reason, metric(text, &labels))
            })
            .collect()
    };
    let counted = eventually(Duration::from_secs(30), "every rejection counted", || {
        let metrics = metrics.clone();
        async move {
            let text = scrape(&metrics).await?;
            let done = rejections(&text) == expected;
            Ok(done.then_some(text))
        }
    })
    .await;
    let text = match counted {
        Ok(text) => text,
        Err(_) => {
            let text = scrape(&metrics).await?;
            anyhow::bail!(
                "rejections {:?}, expected {expected:?}\n{text}",
                rejections(&text)
            );
        }
    };
    let received = metric(&text, "vigie_telemetry_received_total");
    // Accepted fixes: the probe's (at least one) and the crash.
    assert!(received >= 2, "{text}");
    // The crash opened one accident, and nothing in the corpus opened another.
    let mut later = Vec::new();
    while let Ok((event, _)) = viewer.next_event(Duration::from_secs(1)).await {
        later.push(event);
    }
    assert!(
        !later.iter().any(|event| event.status == Status::Open),
        "another accident opened after {accident:?}: {later:?}\n{text}"
    );
    stack.stop().await
}
