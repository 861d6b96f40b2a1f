//! One accident from a simulated vehicle to the room, MySQL and the REST API, on real servers.

use std::time::Duration;

use vigie_e2e::{eventually, get_json, Stack, Viewer};
use vigie_model::{City, EventKind, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accident_reaches_the_room_mysql_and_rest() -> anyhow::Result<()> {
    let stack = Stack::start(None).await?;
    let mut viewer = Viewer::join(&stack, "accidents").await?;
    stack.simulate(3, 4.0, 1).await?;

    let (event, body) = viewer.next_event(Duration::from_secs(20)).await?;
    assert_eq!(event.kind, EventKind::Accident);
    assert_eq!(event.status, Status::Open);
    assert_eq!(event.vehicles, ["veh-0001"]);
    assert_eq!(event.incident, event.id);
    let zone = City::builtin()
        .zone_at(event.lat, event.lon)
        .map(|z| z.id.clone());
    assert_eq!(event.zone, zone);
    assert!(
        body.starts_with("Accident (major), vehicle veh-0001"),
        "{body}"
    );

    let pool = sqlx::MySqlPool::connect(&stack.database_url).await?;
    let stored: (String, String, String, Option<String>) =
        eventually(Duration::from_secs(20), "the incident in MySQL", || {
            let pool = pool.clone();
            let id = event.id.clone();
            async move {
                Ok(
                    sqlx::query_as("SELECT id, kind, vehicles, zone FROM incidents WHERE id = ?")
                        .bind(id)
                        .fetch_optional(&pool)
                        .await?,
                )
            }
        })
        .await?;
    assert_eq!(
        stored,
        (
            event.id.clone(),
            "accident".into(),
            "veh-0001".into(),
            event.zone.clone()
        )
    );

    let page = get_json(&format!(
        "{}/api/v1/incidents?kind=accident",
        stack.server_url
    ))
    .await?;
    let incidents = page["incidents"].as_array().expect("an incidents array");
    assert_eq!(incidents.len(), 1, "{page}");
    assert_eq!(incidents[0]["id"], event.id.as_str());
    assert_eq!(incidents[0]["vehicles"], serde_json::json!(["veh-0001"]));
    assert_eq!(incidents[0]["zone"], serde_json::json!(event.zone));

    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_and_zone_crossings_reach_their_rooms() -> anyhow::Result<()> {
    let stack = Stack::start(None).await?;
    let mut jams = Viewer::join(&stack, "jams").await?;
    let mut zones = Viewer::join(&stack, "zones").await?;
    let mut args = stack.simulator(15, 90.0);
    args.jams = vec!["quay:0:90:0.05".parse().map_err(anyhow::Error::msg)?];
    // A jam needs its vehicles slow for a while (docs/detection.md): drive until it is reported.
    let traffic = tokio::spawn(vigie_pipeline::simulator::run(args, std::future::pending()));

    let (jam, body) = jams.next_event(Duration::from_secs(75)).await?;
    assert_eq!((jam.kind, jam.status), (EventKind::Jam, Status::Open));
    assert_eq!(jam.road.as_deref(), Some("quay"));
    assert_eq!(
        jam.vehicles.len(),
        3,
        "the three vehicles on the quay: {:?}",
        jam.vehicles
    );
    assert!(body.starts_with("Traffic jam"), "{body}");

    let (crossing, _) = zones.next_event(Duration::from_secs(20)).await?;
    assert!(
        matches!(crossing.kind, EventKind::ZoneEnter | EventKind::ZoneExit),
        "{crossing:?}"
    );
    let zone = crossing
        .zone
        .as_deref()
        .expect("a zone event names its zone");
    assert!(City::builtin().zones.iter().any(|z| z.id == zone), "{zone}");
    traffic.abort();
    stack.stop().await
}
