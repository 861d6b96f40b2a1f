//! The dashboard across a Prosody crash: the viewer's session is lost, the page reconnects
//! with a new anonymous session, the core fills the gap from the rooms' archives, and every
//! event the gateway emitted shows in the live feed exactly once. The operator logged in on
//! the same page sees the connection lost with a countdown, and is back once Prosody is.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use vigie_e2e::browser::{
    browser, count, dist, open_live, screenshot, submit_login, wait_for, within, ONLINE,
    SCENARIO_LIMIT,
};
use vigie_e2e::{eventually, Stack};
use vigie_model::contract::XMPP_DOMAIN;

const RECONNECTING: &str = "[data-testid=account-reconnecting]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_missed_during_a_prosody_restart_appear_once() -> anyhow::Result<()> {
    within(SCENARIO_LIMIT, restart_scenario()).await
}

async fn restart_scenario() -> anyhow::Result<()> {
    let mut stack = Stack::start(Some(dist()?)).await?;
    let (_driver, page) = browser().await?;
    open_live(&page, &stack.server_url).await?;
    let wait = || page.wait().at_most(Duration::from_secs(30));
    stack.simulate(3, 4.0, 1).await?;
    wait()
        .for_element(Locator::Css(
            "li.card[data-kind=accident][data-origin=live]",
        ))
        .await
        .context("no live accident before the restart")?;

    stack.prosody.register("ana", XMPP_DOMAIN, "ana-secret")?;
    submit_login(&page, "ana", "ana-secret", "login-submit").await?;
    let whoami = "[data-testid=whoami]";
    wait_for(&page, whoami).await?;

    tokio::task::block_in_place(|| stack.prosody.kill());
    let lost = wait_for(&page, RECONNECTING).await?.text().await?;
    assert!(
        lost.starts_with("Connection lost (") && lost.contains("reconnecting"),
        "{lost}"
    );
    screenshot(&page, "dashboard-prosody-down").await?;
    tokio::task::block_in_place(|| stack.prosody.restart())?;
    // Vehicle 1 drives off (clearing its accident) and vehicle 2 crashes right away: the
    // gateway posts these as soon as it is back in the rooms, while the page is still waiting
    // out its reconnection delay or rejoining.
    stack.simulate(3, 4.0, 2).await?;
    let emitted: BTreeSet<String> = eventually(
        Duration::from_secs(30),
        "the first accident, its clearing and the second accident emitted",
        || async {
            let ids: BTreeSet<String> = stack.emitted_event_ids()?.into_iter().collect();
            Ok((ids.len() >= 3).then_some(ids))
        },
    )
    .await?;

    wait()
        .for_element(Locator::Css(ONLINE))
        .await
        .context("the indicator never came back to live")?;
    for id in &emitted {
        wait()
            .for_element(Locator::Css(&card(id)))
            .await
            .with_context(|| format!("event {id} never showed after the restart"))?;
    }
    // Let any late repeat (room history, archive page) arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &emitted {
        assert_eq!(count(&page, &card(id)).await?, 1, "event {id}");
    }
    assert_eq!(
        count(&page, "li.card").await?,
        emitted.len(),
        "the feed holds only the emitted events"
    );

    // The operator is back too, with nothing left of the outage on screen.
    eventually(
        Duration::from_secs(30),
        "the operator back online",
        || async {
            let back = count(&page, RECONNECTING).await? == 0 && count(&page, whoami).await? == 1;
            Ok(back.then_some(()))
        },
    )
    .await?;
    screenshot(&page, "dashboard-after-prosody-restart").await?;
    page.close().await?;
    stack.stop().await
}

fn card(id: &str) -> String {
    format!("li.card[data-event-id='{id}'][data-origin=live]")
}
