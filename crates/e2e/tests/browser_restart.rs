//! The dashboard across a Prosody crash: the viewer's session is lost, the page reconnects
//! with a new anonymous session, the core fills the gap from the rooms' archives, and every
//! event the gateway emitted shows in the live feed exactly once. The operator logged in on
//! the same page sees the connection lost with a countdown, and is back once Prosody is.

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use vigie_e2e::browser::{
    browser, count, dist, each_shown_once, open_live, screenshot, second_accident_run,
    submit_login, wait_for, within, ONLINE, SCENARIO_LIMIT,
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
    let emitted = second_accident_run(&stack).await?;

    wait()
        .for_element(Locator::Css(ONLINE))
        .await
        .context("the indicator never came back to live")?;
    each_shown_once(&page, &emitted, card).await?;

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
