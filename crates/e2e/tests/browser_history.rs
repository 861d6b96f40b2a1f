//! The dashboard's incident history in headless Chromium against the whole stack, over a
//! database seeded with varied incidents: keyset paging, filters giving the rows the store's
//! reference filter expects, the URL round trip (a fresh page restores form and rows, back
//! restores the previous filters), the CSV export, and the details drawer with the lifecycle.

use std::time::Duration;

use anyhow::Context;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use vigie_e2e::browser::{
    assert_fits, browser, dist, drawer_lifecycle, emulate_color_scheme, screenshot, SCENARIO_LIMIT,
};
use vigie_e2e::{eventually, get_json, Stack};
use vigie_model::{EventKind, Incident, IncidentDetail, Status};
use vigie_store::fixtures::{matches, varied_events};
use vigie_store::IncidentFilter;

/// Incidents seeded: enough for three pages of the table (50 each).
const SEEDED: usize = 150;

/// `GET url` as text, asserting a 200.
async fn get_text(url: &str) -> anyhow::Result<String> {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = client.get(url.parse()?).await?;
    anyhow::ensure!(response.status() == 200, "GET {url}: {}", response.status());
    Ok(String::from_utf8(
        response.into_body().collect().await?.to_bytes().to_vec(),
    )?)
}

/// Scrolls the history table from top to bottom, a view at a time, and answers the rows it
/// drew on the way (`[aria-rowindex, incident id]`), the most rows in the page at once, and
/// the table's `aria-rowcount`.
const SCROLL_THROUGH: &str = "\
    const done = arguments[arguments.length - 1];\
    const area = document.querySelector('.history .table-scroll');\
    if (!area) return done({ rows: [], most: 0, count: 1 });\
    const table = area.querySelector('[data-testid=history]');\
    const seen = new Map();\
    let most = 0;\
    const frame = () => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));\
    (async () => {\
        area.scrollTop = 0;\
        await frame();\
        for (;;) {\
            const rows = area.querySelectorAll('tbody tr[data-incident-id]');\
            most = Math.max(most, rows.length);\
            for (const row of rows) seen.set(+row.getAttribute('aria-rowindex'), row.dataset.incidentId);\
            if (area.scrollTop + area.clientHeight >= area.scrollHeight - 1) break;\
            area.scrollTop += area.clientHeight;\
            await frame();\
        }\
        area.scrollTop = 0;\
        await frame();\
        done({ rows: [...seen.entries()], most, count: +table.getAttribute('aria-rowcount'), sample: table.outerHTML.slice(0, 1500) });\
    })();";

/// The incident ids of the history table's rows, in order, read by scrolling through it (it
/// draws only the rows in view); checks that the rows drawn are the list's, each in its place.
async fn table_ids(page: &Client) -> anyhow::Result<Vec<String>> {
    let mut scrolled = page.execute_async(SCROLL_THROUGH, vec![]).await?;
    let mut rows: Vec<(usize, String)> = serde_json::from_value(scrolled["rows"].take())?;
    let most = scrolled["most"].as_u64().context("no most")? as usize;
    let count = scrolled["count"].as_u64().context("no aria-rowcount")? as usize;
    rows.sort();
    let indexes: Vec<usize> = rows.iter().map(|(index, _)| *index).collect();
    let expected: Vec<usize> = (2..count + 1).collect();
    anyhow::ensure!(
        indexes == expected,
        "the rows drawn while scrolling skip or repeat places: {indexes:?} of {} {}",
        count.saturating_sub(1),
        scrolled["sample"]
    );
    anyhow::ensure!(
        most <= MOST_ROWS_DRAWN,
        "{most} rows drawn at once: the table is not drawing only those in view"
    );
    Ok(rows.into_iter().map(|(_, id)| id).collect())
}

/// The most rows the history table may draw at once in the test's window: the window's height
/// (900 px, under 30 rows) and a margin of 10 rows each side, with room to spare.
const MOST_ROWS_DRAWN: usize = 60;

/// The history's status line and its rows' ids.
async fn shown(page: &Client) -> anyhow::Result<(String, Vec<String>)> {
    let line = page
        .execute(
            "return document.querySelector('[data-testid=history-status]')?.textContent ?? ''",
            vec![],
        )
        .await?;
    let line = line.as_str().unwrap_or_default().to_owned();
    Ok((line, table_ids(page).await?))
}

/// Waits until the table shows exactly `expected` and its status line says `status`.
async fn wait_for_rows(page: &Client, expected: &[String], status: &str) -> anyhow::Result<()> {
    // A table caught while it changes may read wrong; only the last reading counts.
    let last_wrong = std::sync::Mutex::new(None);
    let waited = eventually(Duration::from_secs(20), "the history rows", || async {
        match shown(page).await {
            Ok((line, ids)) => Ok((line.contains(status) && ids == expected).then_some(())),
            Err(wrong) => {
                *last_wrong.lock().unwrap() = Some(wrong);
                Ok(None)
            }
        }
    })
    .await;
    if waited.is_err() {
        let (line, ids) = shown(page).await?;
        anyhow::bail!(
            "the table never showed the {} expected rows with {status:?}; it shows {} rows: \
             {line:?} (last wrong reading: {:?})",
            expected.len(),
            ids.len(),
            last_wrong.lock().unwrap().take()
        );
    }
    Ok(())
}

/// The histogram's summary (its SVG's aria-label), empty while none is drawn.
async fn histogram_label(page: &Client) -> anyhow::Result<String> {
    let label = page
        .execute(
            "return document.querySelector('[data-testid=histogram] svg')\
             ?.getAttribute('aria-label') ?? ''",
            vec![],
        )
        .await?;
    Ok(label.as_str().unwrap_or_default().to_owned())
}

/// What the filter form shows, read in one go.
async fn form_state(page: &Client) -> anyhow::Result<Value> {
    Ok(page
        .execute(
            "const form = document.querySelector('[data-testid=history-filters]');\
             const checked = name => [...form.querySelectorAll(`input[name=${name}]:checked`)].map(i => i.value);\
             return { kinds: checked('kind'), zones: checked('zone'), from: form.elements.from.value,\
                      status: form.elements.status.value, text: form.elements.text.value };",
            vec![],
        )
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_filters_links_exports_and_details() -> anyhow::Result<()> {
    tokio::time::timeout(SCENARIO_LIMIT, history_scenario())
        .await
        .context("the browser scenario hung")?
}

async fn history_scenario() -> anyhow::Result<()> {
    let stack = Stack::start(Some(dist()?)).await?;
    let now = time::OffsetDateTime::now_utc();
    let start = (now - time::Duration::hours(1))
        .replace_second(0)?
        .replace_nanosecond(0)?;
    let pool = sqlx::MySqlPool::connect(&stack.database_url).await?;
    vigie_store::record_events(&pool, &varied_events(11, SEEDED, start)).await?;
    let all: Vec<Incident> = serde_json::from_value(
        get_json(&format!("{}/api/v1/incidents?limit=1000", stack.server_url)).await?["incidents"]
            .take(),
    )?;
    assert_eq!(all.len(), SEEDED);
    let ids = |incidents: &[&Incident]| -> Vec<String> {
        incidents.iter().map(|i| i.id.clone()).collect()
    };
    let everything: Vec<&Incident> = all.iter().collect();

    let (_driver, page) = browser().await?;
    page.goto(&stack.server_url).await?;

    // Keyset paging, newest first.
    wait_for_rows(&page, &ids(&everything[..50]), "50 newest incidents shown").await?;
    page.find(Locator::Css("[data-testid=load-more]"))
        .await?
        .click()
        .await?;
    wait_for_rows(
        &page,
        &ids(&everything[..100]),
        "100 newest incidents shown",
    )
    .await?;
    // A focused row scrolled far out of the drawn rows leaves the focus on the table's scroll
    // area, not on the page's body.
    page.execute(
        "document.querySelector(`[data-testid=history] tr[data-incident-id='${arguments[0]}'] button`).focus();\
         const area = document.querySelector('.history .table-scroll');\
         area.scrollTop = area.scrollHeight",
        vec![everything[0].id.clone().into()],
    )
    .await?;
    let on_area = eventually(
        Duration::from_secs(5),
        "the focus on the scroll area",
        || async {
            let focused = page
                .execute("return document.activeElement.className", vec![])
                .await?;
            Ok((focused.as_str() == Some("table-scroll")).then_some(()))
        },
    )
    .await;
    if on_area.is_err() {
        let focused = (page.execute("return document.activeElement.outerHTML", vec![])).await?;
        let focused = focused
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>();
        anyhow::bail!("scrolled out, the focused row left the focus on {focused}");
    }

    // Several kinds and zones and a start time, as an operator would set them.
    let from = start + time::Duration::minutes(1);
    let filter = IncidentFilter {
        kinds: vec![EventKind::Accident, EventKind::Jam],
        zones: vec!["centre".into(), "east".into()],
        from: Some(from),
        ..IncidentFilter::default()
    };
    let expected: Vec<&Incident> = all.iter().filter(|i| matches(&filter, i)).collect();
    assert!(
        (5..50).contains(&expected.len()),
        "a telling filter, on one page: {} rows",
        expected.len()
    );
    for input in [
        "input[name=kind][value=accident]",
        "input[name=kind][value=jam]",
        "input[name=zone][value=centre]",
        "input[name=zone][value=east]",
    ] {
        page.find(Locator::Css(input)).await?.click().await?;
    }
    let from_input = vigie_model::event::format_time(from)[..16].to_owned();
    page.execute(
        "const input = document.querySelector('input[name=from]');\
         input.value = arguments[0]; input.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![json!(from_input)],
    )
    .await?;
    page.find(Locator::Css("[data-testid=apply-filters]"))
        .await?
        .click()
        .await?;
    let complete = format!("{} incidents: all shown", expected.len());
    wait_for_rows(&page, &ids(&expected), &complete).await?;
    // The histogram is counted by its own requests (refined bucket by bucket), so it may
    // follow the rows by a moment.
    let counted = format!("{} incidents per minute", expected.len());
    if eventually(
        Duration::from_secs(20),
        "the filtered histogram",
        || async {
            Ok(histogram_label(&page)
                .await?
                .starts_with(&counted)
                .then_some(()))
        },
    )
    .await
    .is_err()
    {
        anyhow::bail!(
            "the histogram never counted {counted:?}: {:?}",
            histogram_label(&page).await?
        );
    }
    screenshot(&page, "history-filtered").await?;

    // The link restores the form and the rows in a fresh page.
    let link = page.current_url().await?;
    let query = link.query().context("the filters are not in the URL")?;
    assert!(
        query.contains("kind=accident&kind=jam") && query.contains("zone=centre&zone=east"),
        "{query}"
    );
    page.goto("about:blank").await?;
    page.goto(link.as_str()).await?;
    wait_for_rows(&page, &ids(&expected), &complete).await?;
    let form = form_state(&page).await?;
    assert_eq!(
        form,
        json!({ "kinds": ["accident", "jam"], "zones": ["centre", "east"], "from": from_input,
                "status": "", "text": "" })
    );

    // Another filter, then back: the previous filters and rows return.
    page.find(Locator::Css("select[name=status] option[value=cleared]"))
        .await?
        .click()
        .await?;
    page.find(Locator::Css("[data-testid=apply-filters]"))
        .await?
        .click()
        .await?;
    let cleared: Vec<&Incident> = expected
        .iter()
        .copied()
        .filter(|i| i.status == Status::Cleared)
        .collect();
    anyhow::ensure!(!cleared.is_empty(), "the seed gives cleared incidents");
    let cleared_status = format!("{} incidents: all shown", cleared.len());
    wait_for_rows(&page, &ids(&cleared), &cleared_status).await?;
    assert!(page
        .current_url()
        .await?
        .as_str()
        .contains("status=cleared"));
    page.back().await?;
    wait_for_rows(&page, &ids(&expected), &complete).await?;
    assert_eq!(form_state(&page).await?["status"], "");

    // The CSV link exports the same rows.
    let csv_link = page
        .find(Locator::Css("[data-testid=export-csv]"))
        .await?
        .prop("href")
        .await?
        .context("a CSV link without href")?;
    let csv = get_text(&csv_link).await?;
    let csv_ids: Vec<String> = csv
        .split("\r\n")
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| line.split(',').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(csv_ids, ids(&expected), "{csv_link}");
    // And the GeoJSON link, as features with the incidents' ids.
    let geojson_link = page
        .find(Locator::Css("[data-testid=export-geojson]"))
        .await?
        .prop("href")
        .await?
        .context("a GeoJSON link without href")?;
    let geojson: serde_json::Value = serde_json::from_str(&get_text(&geojson_link).await?)
        .with_context(|| format!("{geojson_link} is not JSON"))?;
    assert_eq!(geojson["type"], "FeatureCollection", "{geojson_link}");
    let feature_ids: Vec<String> = geojson["features"]
        .as_array()
        .context("no features")?
        .iter()
        .map(|feature| {
            feature["properties"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(feature_ids, ids(&expected), "{geojson_link}");

    // The drawer: an incident's lifecycle, opened from its row, closed with Escape.
    let incident = cleared[0];
    let detail: IncidentDetail = serde_json::from_value(
        get_json(&format!(
            "{}/api/v1/incidents/{}",
            stack.server_url, incident.id
        ))
        .await?,
    )?;
    let lifecycle: Vec<&str> = detail.updates.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(lifecycle, ["open", "update", "cleared"]);
    page.find(Locator::Css(&format!(
        "tr[data-incident-id='{}'] button",
        incident.id
    )))
    .await?
    .click()
    .await?;
    assert_eq!(drawer_lifecycle(&page).await?, lifecycle);
    let drawer_text = page
        .find(Locator::Css("dialog[open]"))
        .await?
        .text()
        .await?;
    assert!(drawer_text.contains(&incident.detail), "{drawer_text}");
    screenshot(&page, "history-drawer").await?;
    page.active_element()
        .await?
        .send_keys(&Key::Escape.to_string())
        .await?;
    let focus = eventually(Duration::from_secs(5), "the drawer to close", || async {
        let state = page
            .execute(
                "return document.querySelector('dialog[open]') ? null\
                 : document.activeElement.closest('tr')?.dataset.incidentId ?? ''",
                vec![],
            )
            .await?;
        Ok(state.as_str().map(str::to_owned))
    })
    .await?;
    assert_eq!(
        focus, incident.id,
        "focus returns to the row that opened it"
    );

    // The theme follows the system's until the reader picks one: then it stays theirs.
    let theme = || async {
        let theme = page
            .execute("return document.documentElement.dataset.theme", vec![])
            .await?;
        anyhow::Ok(theme.as_str().unwrap_or_default().to_owned())
    };
    for scheme in ["dark", "light"] {
        emulate_color_scheme(&page, scheme).await?;
        eventually(
            Duration::from_secs(5),
            &format!("the {scheme} theme"),
            || async { Ok((theme().await? == scheme).then_some(())) },
        )
        .await?;
    }
    // Small screens, dark theme.
    page.find(Locator::Css("[data-testid=theme]"))
        .await?
        .click()
        .await?;
    assert_eq!(theme().await?, "dark");
    emulate_color_scheme(&page, "light").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        theme().await?,
        "dark",
        "the reader's pick outlasts the system's change"
    );
    assert_fits(&page, 360).await?;
    screenshot(&page, "history-360px-theme").await?;

    page.close().await?;
    stack.stop().await
}
