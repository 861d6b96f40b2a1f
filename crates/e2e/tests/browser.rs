//! The dashboard in headless Chromium against the whole stack: an anonymous viewer sees an
//! accident arrive live and finds it in the history.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use fantoccini::{Client, ClientBuilder, Locator};
use vigie_e2e::Stack;

/// The dashboard Trunk built: `$VIGIE_DIST`, else the repository's `dist/`.
fn dist() -> anyhow::Result<PathBuf> {
    let dist = std::env::var_os("VIGIE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../dist"));
    anyhow::ensure!(
        dist.join("index.html").exists(),
        "no built dashboard at {} (run `trunk build --release`, as scripts/test does)",
        dist.display()
    );
    Ok(dist)
}

/// Screenshots land here, git-ignored.
fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../artifacts")
}

struct ChromeDriver(Child);

impl Drop for ChromeDriver {
    /// Ends chromedriver and every browser it started (its process group), even when a failed
    /// test never closed its session.
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

async fn browser() -> anyhow::Result<(ChromeDriver, Client)> {
    let port = vigie_stack::free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting chromedriver (Debian package chromium-driver)")?;
    let driver = ChromeDriver(driver);
    let profile =
        std::env::temp_dir().join(format!("vigie-chromium-{}-{port}", std::process::id()));
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let capabilities = match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Ok((driver, client)),
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last_error
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("chromedriver never answered")))
}

/// Longest a browser scenario may take: a wedged browser fails the test instead of hanging it.
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_an_accident_live_and_in_the_history() -> anyhow::Result<()> {
    tokio::time::timeout(SCENARIO_LIMIT, live_accident_scenario())
        .await
        .context("the browser scenario hung")?
}

async fn live_accident_scenario() -> anyhow::Result<()> {
    let stack = Stack::start(Some(dist()?)).await?;
    let (_driver, page) = browser().await?;
    page.goto(&stack.server_url).await?;
    let wait = || page.wait().at_most(Duration::from_secs(20));

    wait()
        .for_element(Locator::Css("[data-testid=link].online"))
        .await
        .context("the page never went live")?;
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

    std::fs::create_dir_all(artifacts())?;
    std::fs::write(
        artifacts().join("dashboard-live-accident.png"),
        page.screenshot().await?,
    )?;
    page.close().await?;
    stack.stop().await
}
