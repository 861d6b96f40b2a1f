//! The dashboard in headless Chromium: an accident opened an hour ago, then buried in its room
//! under more events than a room's history holds, still shows among the open incidents and on
//! the map of a page opened afterwards (loaded from the REST API), until an event clears it.

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use time::OffsetDateTime;
use vigie_e2e::browser::{
    browser, count, dist, drawer_lifecycle, open_live, screenshot, within, SCENARIO_LIMIT,
};
use vigie_e2e::{eventually, Poster, Program, Stack};
use vigie_model::{Event, EventKind, Severity, Status};
use vigie_store::fixtures::{follow, open};

/// Accidents opened and cleared after the old one: 2 events each, more than the 20 messages of
/// room history a page asks for.
const BURYING_ACCIDENTS: usize = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_open_accident_buried_in_its_room_shows_on_a_fresh_page() -> anyhow::Result<()> {
    within(SCENARIO_LIMIT, buried_accident_scenario()).await
}

async fn buried_accident_scenario() -> anyhow::Result<()> {
    let mut stack = Stack::start(Some(dist()?)).await?;
    // The test posts as the gateway (the collector stores only its events).
    stack.kill(Program::Gateway).await;
    let gateway = Poster::join(&stack, &[]).await?;

    let now = OffsetDateTime::now_utc();
    let old = Event {
        severity: Severity::Major,
        vehicles: vec!["veh-0042".into()],
        ..open(EventKind::Accident, now - time::Duration::hours(1))
    };
    let mut posted = vec![old.clone()];
    for n in 0..BURYING_ACCIDENTS {
        let at = now - time::Duration::minutes(30) + time::Duration::seconds(n as i64);
        let opened = open(EventKind::Accident, at);
        let cleared = follow(
            &opened,
            Status::Cleared,
            at + time::Duration::milliseconds(500),
        );
        posted.extend([opened, cleared]);
    }
    for event in &posted {
        gateway.post(event).await?;
    }
    eventually(
        Duration::from_secs(30),
        "the collector to store every event",
        || async { Ok((stack.stored_event_ids().await?.len() >= posted.len()).then_some(())) },
    )
    .await?;

    let (_driver, page) = browser().await?;
    open_live(&page, &stack.server_url).await?;
    let wait = || page.wait().at_most(Duration::from_secs(20));
    let newest = &posted[posted.len() - 1].id;
    wait()
        .for_element(Locator::Css(&format!("li.card[data-event-id='{newest}']")))
        .await
        .context("the room's history never showed")?;
    assert_eq!(
        count(&page, &format!("li.card[data-event-id='{}']", old.id)).await?,
        0,
        "the old accident is out of its room's history, so out of the feed"
    );

    let row = wait()
        .for_element(Locator::Css(&open_row(&old.incident)))
        .await
        .context("the old accident is not among the open incidents")?;
    let text = row.text().await?;
    assert!(
        text.contains("Accident") && text.contains("veh-0042") && text.contains("1 h"),
        "open for an hour: {text}"
    );
    wait()
        .for_element(Locator::Css(&marker(&old.incident)))
        .await
        .context("no map marker for the old accident")?;
    // The buried accidents were all cleared, in the history as in the API's answer.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count(&page, "[data-testid=open-incidents] li").await?,
        1,
        "only the old accident is open"
    );
    assert_eq!(count(&page, "[data-testid=map-markers] circle").await?, 1);
    screenshot(&page, "dashboard-old-open-accident").await?;

    // Its row opens its details: the lifecycle so far, one opening.
    page.find(Locator::Css(&format!("{} button", open_row(&old.incident))))
        .await?
        .click()
        .await?;
    assert_eq!(drawer_lifecycle(&page).await?, ["open"]);
    page.active_element()
        .await?
        .send_keys(&fantoccini::key::Key::Escape.to_string())
        .await?;

    // Its clearing, live, takes it off the panel and the map.
    let cleared = follow(&old, Status::Cleared, OffsetDateTime::now_utc());
    gateway.post(&cleared).await?;
    eventually(Duration::from_secs(20), "the old accident to clear", || {
        let page = page.clone();
        let incident = old.incident.clone();
        async move {
            let shown = count(&page, &open_row(&incident)).await?
                + count(&page, &marker(&incident)).await?;
            Ok((shown == 0).then_some(()))
        }
    })
    .await?;

    gateway.close().await;
    page.close().await?;
    stack.stop().await
}

fn open_row(incident: &str) -> String {
    format!("[data-testid=open-incidents] li[data-incident-id='{incident}']")
}

fn marker(incident: &str) -> String {
    format!("[data-testid=map-markers] circle.marker.accident[data-incident-id='{incident}']")
}
