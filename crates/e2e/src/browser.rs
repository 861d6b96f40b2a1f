//! Headless Chromium for the browser tests: the built dashboard, a WebDriver session through
//! chromedriver, screenshots, and process groups that never outlive a test.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use fantoccini::{Client, ClientBuilder, Locator};

/// Longest a browser scenario may take: a wedged browser fails the test instead of hanging it.
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

/// The statuses of the lifecycle the open details drawer shows, once it shows one.
pub async fn drawer_lifecycle(page: &Client) -> anyhow::Result<Vec<String>> {
    crate::eventually(
        Duration::from_secs(10),
        "the drawer's lifecycle",
        || async {
            let steps = page
            .execute(
                "return [...document.querySelectorAll('dialog[open] [data-testid=lifecycle] li')]\
                 .map(step => step.dataset.status)",
                vec![],
            )
            .await?;
            let steps: Vec<String> = serde_json::from_value(steps)?;
            Ok((!steps.is_empty()).then_some(steps))
        },
    )
    .await
}

/// How many elements of the page match `css`.
pub async fn count(page: &Client, css: &str) -> anyhow::Result<usize> {
    Ok(page.find_all(Locator::Css(css)).await?.len())
}

/// Narrows the window to `width` CSS pixels and checks that nothing in the page is wider (no
/// horizontal scrolling).
pub async fn assert_fits(page: &Client, width: u32) -> anyhow::Result<()> {
    page.set_window_size(width, 900).await?;
    let widths = page
        .execute(
            "const root = document.documentElement;\
             return [window.innerWidth, root.scrollWidth - root.clientWidth]",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        widths[0]
            .as_u64()
            .is_some_and(|inner| inner <= u64::from(width)),
        "the window did not narrow: {widths}"
    );
    anyhow::ensure!(
        widths[1] == serde_json::json!(0),
        "the page is wider than {width} px: {widths}"
    );
    Ok(())
}

/// The connection indicator once the page is live (rooms joined).
pub const ONLINE: &str = "[data-testid=link].online";

/// Opens the dashboard at `url` and waits (20 s at most) until it is live.
pub async fn open_live(page: &Client, url: &str) -> anyhow::Result<()> {
    page.goto(url).await?;
    wait_for(page, ONLINE)
        .await
        .context("the page never went live")?;
    Ok(())
}

/// The first element matching `css`, waiting up to 20 s for one.
pub async fn wait_for(page: &Client, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
    page.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("no `{css}` on the page"))
}

pub async fn click(page: &Client, css: &str) -> anyhow::Result<()> {
    wait_for(page, css).await?.click().await?;
    Ok(())
}

/// Replaces the text of the field matching `css`.
pub async fn fill(page: &Client, css: &str, text: &str) -> anyhow::Result<()> {
    let field = wait_for(page, css).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

/// Fills the start panel's form and presses `button` (`login-submit` or `register-submit`).
pub async fn submit_login(
    page: &Client,
    jid: &str,
    password: &str,
    button: &str,
) -> anyhow::Result<()> {
    fill(page, "[data-testid=login-jid]", jid).await?;
    fill(page, "[data-testid=login-password]", password).await?;
    click(page, &format!("[data-testid={button}]")).await
}

/// Runs a browser scenario for at most `limit` (usually [`SCENARIO_LIMIT`]).
pub async fn within(
    limit: Duration,
    scenario: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    tokio::time::timeout(limit, scenario)
        .await
        .context("the browser scenario hung")?
}

/// The dashboard Trunk built: `$VIGIE_DIST`, else the repository's `dist/`.
pub fn dist() -> anyhow::Result<PathBuf> {
    let dist = std::env::var_os("VIGIE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("dist"));
    anyhow::ensure!(
        dist.join("index.html").exists(),
        "no built dashboard at {} (run `trunk build --release`, as scripts/test does)",
        dist.display()
    );
    Ok(dist)
}

/// The repository's root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Screenshots land here, git-ignored.
pub fn artifacts() -> PathBuf {
    workspace().join("artifacts")
}

/// Saves a screenshot of `page` as `artifacts/<name>.png`.
pub async fn screenshot(page: &Client, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(artifacts())?;
    std::fs::write(
        artifacts().join(format!("{name}.png")),
        page.screenshot().await?,
    )?;
    Ok(())
}

/// A child started as the leader of its own process group; the whole group (a browser and
/// whatever it forked) is killed when this is dropped, even when a failed test never closed
/// its session.
pub struct ProcessGroup(Child);

impl ProcessGroup {
    pub fn spawn(command: &mut Command) -> std::io::Result<ProcessGroup> {
        command.process_group(0).spawn().map(ProcessGroup)
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

/// A fresh headless Chromium (own profile) driven through its own chromedriver.
pub async fn browser() -> anyhow::Result<(ProcessGroup, Client)> {
    let port = vigie_stack::free_port();
    let driver = ProcessGroup::spawn(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .context("starting chromedriver (Debian package chromium-driver)")?;
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
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
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

/// A Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute`: what
/// WebDriver cannot do, such as emulating the system's colour scheme.
#[derive(Debug)]
struct DevTools {
    command: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.command, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Makes the page see the system's colour scheme as `scheme` (`"dark"` or `"light"`), as when
/// the reader's desktop changes it.
pub async fn emulate_color_scheme(page: &Client, scheme: &str) -> anyhow::Result<()> {
    let features = serde_json::json!([{ "name": "prefers-color-scheme", "value": scheme }]);
    page.issue_cmd(DevTools {
        command: "Emulation.setEmulatedMedia",
        params: serde_json::json!({ "features": features }),
    })
    .await
    .context("Emulation.setEmulatedMedia")?;
    Ok(())
}

/// After a first `stack.simulate(3, 4.0, 1)` (vehicle 1's accident), a second run: vehicle 1
/// drives off, clearing its accident, and vehicle 2 crashes. The ids of the three events, once
/// the gateway has emitted them.
pub async fn second_accident_run(stack: &crate::Stack) -> anyhow::Result<BTreeSet<String>> {
    stack.simulate(3, 4.0, 2).await?;
    crate::eventually(
        Duration::from_secs(30),
        "the first accident, its clearing and the second accident emitted",
        || async {
            let ids: BTreeSet<String> = stack.emitted_event_ids()?.into_iter().collect();
            Ok((ids.len() >= 3).then_some(ids))
        },
    )
    .await
}

/// Waits until the feed shows the card `card(id)` of each of `ids`; then, once late repeats
/// (room history, an archive page) have had time to come, checks that each shows once and
/// that the feed holds nothing else.
pub async fn each_shown_once(
    page: &Client,
    ids: &BTreeSet<String>,
    card: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    for id in ids {
        page.wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(&card(id)))
            .await
            .with_context(|| format!("event {id} never showed"))?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in ids {
        assert_eq!(count(page, &card(id)).await?, 1, "event {id}");
    }
    assert_eq!(
        count(page, "li.card").await?,
        ids.len(),
        "the feed holds only these events"
    );
    Ok(())
}
