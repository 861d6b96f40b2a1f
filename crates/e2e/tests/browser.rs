//! The dashboard in headless Chromium against the whole stack: an anonymous viewer sees an
//! accident arrive live and finds it in the history.

use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use vigie_e2e::browser::{browser, count, dist, open_live, screenshot, within, SCENARIO_LIMIT};
use vigie_e2e::{eventually, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_an_accident_live_and_in_the_history() -> anyhow::Result<()> {
    within(SCENARIO_LIMIT, live_accident_scenario()).await
}

async fn live_accident_scenario() -> anyhow::Result<()> {
    let stack = Stack::start(Some(dist()?)).await?;
    let (_driver, page) = browser().await?;
    open_live(&page, &stack.server_url).await?;
    let wait = || page.wait().at_most(Duration::from_secs(20));
    // The session runs on the WebSocket index.html opened before the app started; once live,
    // the page asks over a second one whether accounts can be created, then offers to.
    wait()
        .for_element(Locator::Css("[data-testid=register-submit]"))
        .await
        .context("the page never offered to create an account")?;
    let metrics = vigie_e2e::get(&format!("{}/metrics", stack.server_url)).await?;
    let upgrades = String::from_utf8_lossy(&metrics)
        .lines()
        .filter(|line| {
            line.starts_with("http_requests_total{") && line.contains(r#"route="/xmpp-websocket""#)
        })
        .map(|line| line.rsplit(' ').next().unwrap_or("").to_owned())
        .collect::<Vec<_>>();
    assert_eq!(upgrades, ["2"], "WebSocket upgrades by status: {metrics:?}");
    stack.simulate(3, 4.0, 1).await?;

    let card = wait()
        .for_element(Locator::Css(
            "li.card[data-kind=accident][data-origin=live]",
        ))
        .await
        .context("no live accident card")?;
    let id = card
        .attr("data-event-id")
        .await?
        .context("card without an event id")?;
    let text = card.text().await?;
    assert!(
        text.contains("Accident") && text.contains("veh-0001"),
        "{text}"
    );
    // The card reads the time of day (UTC); the full stamp stays machine-readable.
    let time = card.find(Locator::Css("time")).await?;
    let stamp = time
        .attr("datetime")
        .await?
        .context("card time without datetime")?;
    let occurred =
        time::OffsetDateTime::parse(&stamp, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("card datetime {stamp:?}"))?;
    let shown = time.text().await?;
    let (hour, minute, second) = occurred.time().as_hms();
    // Just past midnight, an event of the day before reads with its date.
    assert!(
        shown == format!("{hour:02}:{minute:02}:{second:02}")
            || shown == format!("{} {hour:02}:{minute:02}", occurred.date()),
        "card time {shown:?} for {stamp}"
    );
    // The feed scrolls in its own pane, so keyboards must be able to reach it.
    page.find(Locator::Css(
        "[data-testid=live-feed][tabindex='0'][aria-label]",
    ))
    .await
    .context("the live feed cannot take the keyboard focus")?;
    wait()
        .for_element(Locator::Css(&format!(
            "circle.marker.accident[data-incident-id='{id}']"
        )))
        .await
        .context("no map marker for the accident")?;
    wait()
        .for_element(Locator::Css(&format!(
            "[data-testid=open-incidents] li[data-incident-id='{id}']"
        )))
        .await
        .context("the accident is not among the open incidents")?;
    let row = wait()
        .for_element(Locator::Css(&format!("tr[data-incident-id='{id}']")))
        .await
        .context("the accident never showed in the history")?;
    assert!(row.text().await?.contains("veh-0001"));

    screenshot(&page, "dashboard-live-accident").await?;

    // The live chips: another kind hides the accident; its own kind shows it; a severity it
    // does not have hides it again.
    let accident_card = format!("li.card[data-event-id='{id}']");
    let chip = |label: &str| format!("//div[@class='chips']/button[normalize-space()='{label}']");
    let class = card.attr("class").await?.unwrap_or_default();
    let other_severity = ["minor", "moderate", "major"]
        .into_iter()
        .find(|severity| !class.split(' ').any(|c| c == *severity))
        .context("a severity the accident does not have")?;
    let steps: [(&[&str], usize); 3] = [
        (&["Traffic jam"], 0),
        (&["Traffic jam", "Accident"], 1),
        (&[other_severity], 0),
    ];
    for (clicks, shown) in steps {
        for label in clicks {
            page.find(Locator::XPath(&chip(label)))
                .await?
                .click()
                .await?;
        }
        eventually(
            Duration::from_secs(5),
            &format!("{shown} accident card after {clicks:?}"),
            || {
                let (page, accident_card) = (page.clone(), accident_card.clone());
                async move { Ok((count(&page, &accident_card).await? == shown).then_some(())) }
            },
        )
        .await?;
    }
    let pressed = page
        .find(Locator::XPath(&chip("Accident")))
        .await?
        .attr("aria-pressed")
        .await?;
    assert_eq!(pressed.as_deref(), Some("true"));

    page.close().await?;
    stack.stop().await
}
