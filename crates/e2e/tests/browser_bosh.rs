//! WebSocket blocked → the page works over BOSH: the dashboard is reached through a proxy
//! that refuses every WebSocket upgrade (as some corporate proxies do), and still shows an
//! accident live, its connection indicator saying BOSH. When the network drops, the
//! indicator counts down to each reconnection attempt, and the page comes back over BOSH with
//! the accident it missed meanwhile, from the rooms' archives, once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use fantoccini::Locator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use vigie_e2e::browser::{
    browser, dist, each_shown_once, screenshot, second_accident_run, within, SCENARIO_LIMIT,
};
use vigie_e2e::{eventually, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_websockets_blocked_the_page_works_over_bosh() -> anyhow::Result<()> {
    within(SCENARIO_LIMIT, blocked_websocket_scenario()).await
}

async fn blocked_websocket_scenario() -> anyhow::Result<()> {
    let stack = Stack::start(Some(dist()?)).await?;
    let upstream = stack
        .server_url
        .strip_prefix("http://")
        .context("the server speaks plain HTTP")?
        .to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let page_url = format!("http://{}", listener.local_addr()?);
    let proxy = Arc::new(Proxy::default());
    let proxying = tokio::spawn(proxy.clone().serve(listener, upstream));

    let (_driver, page) = browser().await?;
    page.goto(&page_url).await?;
    let wait = || page.wait().at_most(Duration::from_secs(20));
    let online_over_bosh = Locator::Css("[data-testid=link].online[data-transport=BOSH]");
    let link = wait()
        .for_element(online_over_bosh)
        .await
        .context("the page never went live over BOSH")?;
    let text = link.text().await?;
    assert!(text.contains("BOSH"), "{text}");
    let refused = proxy.refused.load(Ordering::SeqCst);
    assert!(refused >= 1, "the page never tried WebSocket first");

    stack.simulate(3, 4.0, 1).await?;
    let card = wait()
        .for_element(Locator::Css(
            "li.card[data-kind=accident][data-origin=live]",
        ))
        .await
        .context("no live accident card over BOSH")?;
    let text = card.text().await?;
    assert!(
        text.contains("Accident") && text.contains("veh-0001"),
        "{text}"
    );
    screenshot(&page, "dashboard-bosh-fallback").await?;

    // The network goes away: the indicator counts down to each new attempt.
    proxy.cut();
    let (attempt, seconds) = eventually(Duration::from_secs(30), "a 3 s countdown", || async {
        Ok(countdown(&link.text().await?)
            .filter(|&(attempt, seconds)| attempt >= 4 && seconds >= 3))
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let later = link.text().await?;
    let (attempt_later, seconds_later) =
        countdown(&later).with_context(|| format!("no countdown any more: {later}"))?;
    assert!(
        attempt_later == attempt && seconds_later < seconds,
        "the countdown did not move: {seconds} s, then {later}"
    );
    screenshot(&page, "dashboard-reconnecting").await?;

    // While the page is away, vehicle 1 drives off (clearing its accident) and vehicle 2
    // crashes: events that can reach the page only from the rooms.
    let emitted = second_accident_run(&stack).await?;

    // Back again: still over BOSH, without trying the blocked WebSocket again, and the missed
    // accident shows, once.
    proxy.restore();
    page.wait()
        .at_most(Duration::from_secs(60))
        .for_element(online_over_bosh)
        .await
        .context("the page did not come back over BOSH")?;
    assert_eq!(proxy.refused.load(Ordering::SeqCst), refused);
    each_shown_once(&page, &emitted, |id| {
        format!("li.card[data-event-id='{id}']")
    })
    .await?;

    page.close().await?;
    proxying.abort();
    stack.stop().await
}

/// `(attempt, seconds)` from "reconnecting in 4 s (attempt 3)".
fn countdown(text: &str) -> Option<(u32, u32)> {
    let rest = text.strip_prefix("reconnecting in ")?;
    let (seconds, rest) = rest.split_once(" s (attempt ")?;
    let attempt = rest.strip_suffix(')')?;
    Some((attempt.parse().ok()?, seconds.parse().ok()?))
}

/// Forwards HTTP connections to the server, except those opening with a WebSocket upgrade:
/// those get `403 Forbidden` (and are counted). Browsers open every WebSocket on a
/// connection of its own, so looking at each connection's first request is enough.
#[derive(Default)]
struct Proxy {
    refused: AtomicUsize,
    /// The network is gone: connections are dropped at once.
    down: AtomicBool,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

impl Proxy {
    async fn serve(self: Arc<Proxy>, listener: TcpListener, upstream: String) {
        while let Ok((client, _)) = listener.accept().await {
            if self.down.load(Ordering::SeqCst) {
                continue;
            }
            let connection = tokio::spawn(self.clone().forward(client, upstream.clone()));
            let mut connections = self.connections.lock().unwrap();
            connections.retain(|task| !task.is_finished());
            connections.push(connection);
        }
    }

    async fn forward(self: Arc<Proxy>, mut client: TcpStream, upstream: String) {
        let Ok(head) = request_head(&mut client).await else {
            return;
        };
        if String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains("upgrade: websocket")
        {
            self.refused.fetch_add(1, Ordering::SeqCst);
            let _ = client
                .write_all(
                    b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            return;
        }
        let Ok(mut server) = TcpStream::connect(&upstream).await else {
            return;
        };
        if server.write_all(&head).await.is_ok() {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// Reads up to the end of the first request's header (the bytes read so far, which may run
/// into its body).
async fn request_head(client: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        let read = client.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buffer[..read]);
    }
    Ok(head)
}

#[test]
fn reads_the_countdown() {
    assert_eq!(countdown("reconnecting in 4 s (attempt 3)"), Some((3, 4)));
    assert_eq!(countdown("live · BOSH · 3 rooms"), None);
}
