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
        count(&page, "[data-testid=open-incidents] li[data-incident-id]").await?,
        1,
        "only the old accident is open"
    );
    assert_eq!(count(&page, "[data-testid=map-markers] circle").await?, 1);
    assert_eq!(
        count(&page, "[data-testid=map-markers] circle.recent").await?,
        0,
        "an hour without an event: its marker does not stand out"
    );
    screenshot(&page, "dashboard-old-open-accident").await?;

    // Its row opens its details: the lifecycle so far, one opening.
    page.find(Locator::Css(&format!("{} button", open_row(&old.incident))))
        .await?
        .click()
        .await?;
    assert_eq!(drawer_lifecycle(&page).await?, ["open"]);
    // An update while the drawer is open draws the row anew; closing the drawer gives the focus
    // to the new row's button, and the next update keeps it there.
    let mut vehicles = old.vehicles.clone();
    let steps = [
        ("veh-0043", "veh-0042, veh-0043", "open-"),
        ("veh-0044", "veh-0042, veh-0043, veh-0044", "open-"),
        (
            "veh-0045",
            "veh-0042, veh-0043, veh-0044 +1 more",
            "marker-",
        ),
    ];
    for (n, label, focused) in steps {
        if focused == "marker-" {
            page.execute(
                "document.querySelector(arguments[0]).focus()",
                vec![marker(&old.incident).into()],
            )
            .await?;
        }
        vehicles.push(n.to_owned());
        let update = Event {
            vehicles: vehicles.clone(),
            ..follow(&old, Status::Update, OffsetDateTime::now_utc())
        };
        gateway.post(&update).await?;
        let shown = format!("{} .vehicle", open_row(&old.incident));
        eventually(Duration::from_secs(20), "the update to show", || {
            let (page, shown) = (page.clone(), shown.clone());
            async move {
                let text = page.find(Locator::Css(&shown)).await?.text().await?;
                Ok((text == label).then_some(()))
            }
        })
        .await?;
        if n == "veh-0043" {
            page.active_element()
                .await?
                .send_keys(&fantoccini::key::Key::Escape.to_string())
                .await?;
        }
        let expected = [focused, &old.incident].concat();
        let what = format!("the keyboard focus on {expected} after the update naming {n}");
        eventually(Duration::from_secs(5), &what, || {
            let (page, expected) = (page.clone(), expected.clone());
            async move { Ok((focused_key(&page).await? == Some(expected)).then_some(())) }
        })
        .await?;
    }

    // Markup in an event's fields shows as text: in the feed, the panel and the marker's label.
    let pwn = "window.__vigie_pwned=1";
    let hostile = Event {
        // The event's wire form lists vehicles apart by spaces: an id has none (a topic level).
        vehicles: vec![format!("<img/src=x/onerror={pwn}>")],
        detail: format!("<script>{pwn}</script><iframe srcdoc='<b>'></iframe>"),
        ..open(EventKind::Accident, OffsetDateTime::now_utc())
    };
    gateway.post(&hostile).await?;
    let vehicle = wait()
        .for_element(Locator::Css(&format!(
            "{} .vehicle",
            open_row(&hostile.incident)
        )))
        .await
        .context("the hostile accident is not among the open incidents")?;
    assert_eq!(vehicle.text().await?, hostile.vehicles[0]);
    let card = wait()
        .for_element(Locator::Css(&format!(
            "li.card[data-event-id='{}']",
            hostile.id
        )))
        .await
        .context("the hostile accident is not in the feed")?;
    let text = card.text().await?;
    assert!(
        text.contains(&hostile.vehicles[0]) && text.contains(&hostile.detail),
        "shown as text: {text}"
    );
    let label = page
        .find(Locator::Css(&marker(&hostile.incident)))
        .await?
        .attr("aria-label")
        .await?
        .unwrap_or_default();
    assert!(label.contains(&hostile.vehicles[0]), "{label}");
    assert_eq!(
        count(&page, &format!("{}.recent", marker(&hostile.incident))).await?,
        1,
        "a new incident's marker stands out"
    );
    // Once the new card's glow has faded, nothing moves while nothing comes: an animation that
    // never ends (a pulsing marker did) costs the main thread a frame at every screen refresh.
    eventually(Duration::from_secs(10), "the page to be still", || {
        let page = page.clone();
        async move {
            let running = page
                .execute("return document.getAnimations().length", vec![])
                .await?;
            Ok((running == 0).then_some(()))
        }
    })
    .await?;
    assert_eq!(
        count(&page, &format!("{}.recent", marker(&hostile.incident))).await?,
        1,
        "still within its minute, the marker still stands out, without moving"
    );
    let probe = page
        .execute(
            "return { pwned: window.__vigie_pwned === 1, \
               injected: document.querySelectorAll('body [onerror], body iframe, .pane img, .pane script').length }",
            vec![],
        )
        .await?;
    assert_eq!(
        probe["pwned"],
        serde_json::Value::Bool(false),
        "a hostile script ran"
    );
    assert_eq!(
        probe["injected"],
        serde_json::Value::from(0),
        "markup became elements"
    );

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

    // A hundred more open: the panel draws the rows in its view, and scrolling to its end
    // draws the oldest, the hostile accident, in its place.
    let opened_at = OffsetDateTime::now_utc();
    for n in 0..MANY_OPEN {
        let at = opened_at + time::Duration::milliseconds(n as i64);
        gateway.post(&open(EventKind::Accident, at)).await?;
    }
    let listed = MANY_OPEN + 1;
    eventually(
        Duration::from_secs(20),
        "the panel to count them all",
        || {
            let page = page.clone();
            async move {
                let count = page.find(Locator::Css("[data-testid=open-count]")).await?;
                Ok((count.text().await? == format!("({listed})")).then_some(()))
            }
        },
    )
    .await?;
    let drawn = count(&page, "[data-testid=open-incidents] li[data-incident-id]").await?;
    assert!(
        (1..=60).contains(&drawn),
        "{drawn} of {listed} rows drawn: the panel draws those in view"
    );
    page.execute(
        "const area = document.querySelector('.open-scroll'); area.scrollTop = area.scrollHeight",
        vec![],
    )
    .await?;
    wait()
        .for_element(Locator::Css(&open_row(&hostile.incident)))
        .await
        .context("scrolled to the end, the oldest open incident is not drawn")?;
    let last = page
        .execute(
            "return [...document.querySelectorAll('[data-testid=open-incidents] li[data-incident-id]')].pop().dataset.incidentId",
            vec![],
        )
        .await?;
    assert_eq!(
        last.as_str(),
        Some(hostile.incident.as_str()),
        "the oldest is last"
    );
    // Its place, for screen readers, which see only the rows drawn: last of all.
    let row = wait()
        .for_element(Locator::Css(&open_row(&hostile.incident)))
        .await?;
    let place = (
        row.attr("aria-posinset").await?,
        row.attr("aria-setsize").await?,
    );
    let listed_text = Some(listed.to_string());
    assert_eq!(place, (listed_text.clone(), listed_text));
    screenshot(&page, "open-incidents-scrolled").await?;

    gateway.close().await;
    page.close().await?;
    stack.stop().await
}

/// Open incidents posted at the end, more than the panel has room for.
const MANY_OPEN: usize = 100;

/// The focus key (`data-focus-key`) of the focused element, if it is in the page.
async fn focused_key(page: &fantoccini::Client) -> anyhow::Result<Option<String>> {
    let key = page
        .execute(
            "const e = document.activeElement; \
             return e && e.isConnected ? e.getAttribute('data-focus-key') : null",
            vec![],
        )
        .await?;
    Ok(key.as_str().map(str::to_owned))
}

fn open_row(incident: &str) -> String {
    format!("[data-testid=open-incidents] li[data-incident-id='{incident}']")
}

fn marker(incident: &str) -> String {
    format!("[data-testid=map-markers] circle.marker.accident[data-incident-id='{incident}']")
}
