//! The dashboard's rooms in headless Chromium: the MUC service's rooms listed (disco#items), the
//! rooms' histories below a marker, one room's feed at a time with the others' unread counts,
//! and a room left and joined again, remembered across a reload.

use std::time::Duration;

use anyhow::Context;
use fantoccini::{Client, Locator};
use time::OffsetDateTime;
use vigie_e2e::browser::{
    assert_fits, browser, click, count, dist, open_live, screenshot, wait_for, within, ONLINE,
    SCENARIO_LIMIT,
};
use vigie_e2e::{Poster, Program, Stack};
use vigie_model::contract::{room_for, room_jid};
use vigie_model::{Event, EventKind};
use vigie_store::fixtures::open;

/// A room's unread badge, when it shows a count.
const UNREAD: &str = " [data-testid=unread]:not([hidden])";
/// A room's name is the network's text: shown as such, never as markup.
const HOSTILE_NAME: &str = "Roadworks <img src=x onerror=alert(1)>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_listed_shown_one_at_a_time_counted_left_and_joined() -> anyhow::Result<()> {
    within(SCENARIO_LIMIT, rooms_scenario()).await
}

async fn rooms_scenario() -> anyhow::Result<()> {
    let mut stack = Stack::start(Some(dist()?)).await?;
    stack.kill(Program::Gateway).await;
    // A room the configuration does not name: only the service's list can tell the page.
    let roadworks = room_jid("roadworks");
    let gateway = Poster::join(&stack, &[(roadworks.clone(), HOSTILE_NAME)]).await?;
    let now = OffsetDateTime::now_utc();
    let old_accident = open(EventKind::Accident, now - time::Duration::minutes(5));
    let old_crossing = open(EventKind::ZoneEnter, now - time::Duration::minutes(4));
    gateway.post(&old_accident).await?;
    gateway.post(&old_crossing).await?;

    let (_driver, page) = browser().await?;
    open_live(&page, &stack.server_url).await?;
    let wait = || page.wait().at_most(Duration::from_secs(20));
    let listed = wait()
        .for_element(Locator::Css(&room(&roadworks, "[data-state=left]")))
        .await
        .context("the service's other room is not listed")?;
    // By its name, as text.
    assert!(listed.text().await?.contains(HOSTILE_NAME));
    assert_eq!(count(&page, "[data-testid=rooms] img").await?, 0);
    assert!(page.get_alert_text().await.is_err(), "an alert is open");
    for kind in [EventKind::Accident, EventKind::Jam, EventKind::ZoneEnter] {
        wait()
            .for_element(Locator::Css(&room(
                &room_jid(room_for(kind)),
                "[data-state=joined]",
            )))
            .await
            .with_context(|| format!("the {} room is not joined", room_for(kind)))?;
    }

    // The rooms' histories, below their marker.
    for event in [&old_accident, &old_crossing] {
        wait()
            .for_element(Locator::Css(&format!(
                "[data-testid=history-marker] ~ li.card[data-event-id='{}'][data-origin=history]",
                event.id
            )))
            .await
            .with_context(|| format!("{} is not shown as history", event.id))?;
    }

    // One room's feed: the others' live events are counted, not shown.
    let accidents = room_jid(room_for(EventKind::Accident));
    let jams = room_jid(room_for(EventKind::Jam));
    click(&page, &room(&accidents, " .room-show")).await?;
    wait_gone(&page, &card(&old_crossing, "history")).await?;
    let jam = open(EventKind::Jam, OffsetDateTime::now_utc());
    let accident = open(EventKind::Accident, OffsetDateTime::now_utc());
    gateway.post(&jam).await?;
    gateway.post(&accident).await?;
    wait()
        .for_element(Locator::Css(&card(&accident, "live")))
        .await?;
    let badge = wait()
        .for_element(Locator::Css(&room(&jams, UNREAD)))
        .await
        .context("no unread count on the jams room")?;
    assert_eq!(badge.text().await?, "1");
    assert_eq!(count(&page, &card(&jam, "live")).await?, 0);
    screenshot(&page, "dashboard-one-room-shown").await?;
    click(&page, &room(&jams, " .room-show")).await?;
    wait()
        .for_element(Locator::Css(&card(&jam, "live")))
        .await?;
    assert_eq!(count(&page, &room(&jams, UNREAD)).await?, 0);

    // Left: the room's cards go, and what it gets after is not shown.
    let zones = room_jid(room_for(EventKind::ZoneEnter));
    click(&page, "[data-testid=rooms] li:first-child .room-show").await?;
    click(&page, &room(&zones, " .room-toggle")).await?;
    wait()
        .for_element(Locator::Css(&room(&zones, "[data-state=left]")))
        .await?;
    wait_gone(&page, &card(&old_crossing, "history")).await?;
    let missed_crossing = open(EventKind::ZoneExit, OffsetDateTime::now_utc());
    let later_accident = open(EventKind::Accident, OffsetDateTime::now_utc());
    gateway.post(&missed_crossing).await?;
    gateway.post(&later_accident).await?;
    wait()
        .for_element(Locator::Css(&card(&later_accident, "live")))
        .await?;
    assert_eq!(count(&page, &any_card(&missed_crossing)).await?, 0);

    // Remembered: a reload does not join it; a join brings its history back.
    page.refresh().await?;
    wait_for(&page, ONLINE).await?;
    wait()
        .for_element(Locator::Css(&card(&later_accident, "history")))
        .await?;
    assert_eq!(count(&page, &room(&zones, "[data-state=left]")).await?, 1);
    assert_eq!(count(&page, &any_card(&old_crossing)).await?, 0);
    click(&page, &room(&zones, " .room-toggle")).await?;
    for event in [&old_crossing, &missed_crossing] {
        wait()
            .for_element(Locator::Css(&card(event, "history")))
            .await
            .with_context(|| format!("{} did not come back with the room", event.id))?;
    }
    wait()
        .for_element(Locator::Css(&room(&zones, "[data-state=joined]")))
        .await?;
    screenshot(&page, "dashboard-rooms").await?;
    assert_fits(&page, 360).await?;
    screenshot(&page, "dashboard-rooms-360px").await?;

    gateway.close().await;
    page.close().await?;
    stack.stop().await
}

/// The room's list item, with `more` (a state selector or a descendant) after it.
fn room(jid: &str, more: &str) -> String {
    format!("[data-testid=rooms] li[data-room='{jid}']{more}")
}

fn card(event: &Event, origin: &str) -> String {
    format!(
        "[data-testid=live-feed] li.card[data-event-id='{}'][data-origin={origin}]",
        event.id
    )
}

fn any_card(event: &Event) -> String {
    format!(
        "[data-testid=live-feed] li.card[data-event-id='{}']",
        event.id
    )
}

async fn wait_gone(page: &Client, css: &str) -> anyhow::Result<()> {
    vigie_e2e::eventually(Duration::from_secs(10), css, || async {
        Ok((count(page, css).await? == 0).then_some(()))
    })
    .await
}
