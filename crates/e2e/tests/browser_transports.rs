//! Both browser transports in headless Chromium against a private Prosody: runs the
//! dashboard's wasm tests (`tests/transports.rs` at the repository's root) through
//! wasm-bindgen-test-runner and chromedriver, while a native client posts in the room they
//! join. Their page comes from the runner's own server, so BOSH goes cross-origin to Prosody
//! (whose mod_bosh allows it) and WebSocket straight to it.

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use vigie_e2e::browser::{workspace, ProcessGroup};
use vigie_model::contract::{room_jid, COLLECTOR_USER, EVENT_ROOMS, GATEWAY_USER, XMPP_DOMAIN};
use vigie_stack::Prosody;
use vigie_xmpp::driver_tokio::connect;
use vigie_xmpp::{ClientConfig, Event, History};

/// Building the dashboard's tests for wasm32 the first time takes minutes on two cores.
const RUN_LIMIT: Duration = Duration::from_secs(900);
const POST_INTERVAL: Duration = Duration::from_millis(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_browser_transports_receive_a_native_post() -> anyhow::Result<()> {
    let prosody = tokio::task::spawn_blocking(Prosody::start_for_test).await??;
    let poster_jid = format!("{GATEWAY_USER}@{XMPP_DOMAIN}");
    prosody.register(GATEWAY_USER, XMPP_DOMAIN, vigie_e2e::GATEWAY_PASSWORD)?;
    prosody.create_event_rooms(&poster_jid, &format!("{COLLECTOR_USER}@{XMPP_DOMAIN}"))?;
    let room = room_jid(EVENT_ROOMS[0]);

    let (poster, mut events) = connect(
        &prosody.ws_url(),
        ClientConfig::login(&poster_jid, vigie_e2e::GATEWAY_PASSWORD)?,
    )
    .await?;
    poster.join_room(&room, "poster", History::None).await?;
    loop {
        match events.recv().await.context("the poster's session ended")? {
            Event::RoomJoined { .. } => break,
            Event::RoomJoinFailed { error, .. } => anyhow::bail!("poster refused: {error:?}"),
            _ => {}
        }
    }
    let posted_room = room.clone();
    let posting = tokio::spawn(async move {
        for n in 0u64.. {
            poster
                .send_groupchat(&posted_room, &format!("native post {n}"), None)
                .await?;
            tokio::time::sleep(POST_INTERVAL).await;
            // Our own posts come back; nobody else reads them.
            while events.try_recv().is_ok() {}
        }
        anyhow::Ok(())
    });

    // A port nobody listens on: the refused WebSocket.
    let refused = format!("ws://127.0.0.1:{}/xmpp-websocket", vigie_stack::free_port());
    let settings = [
        ("VIGIE_TEST_WS_URL", prosody.ws_url()),
        ("VIGIE_TEST_BOSH_URL", prosody.bosh_url()),
        ("VIGIE_TEST_REFUSED_URL", refused),
        ("VIGIE_TEST_ROOM", room),
    ];
    let (succeeded, output) = tokio::task::spawn_blocking(move || run_wasm_tests(&settings))
        .await?
        .context("running the dashboard's wasm tests")?;
    anyhow::ensure!(
        !posting.is_finished(),
        "the poster stopped: {:?}",
        posting.await
    );
    posting.abort();
    anyhow::ensure!(succeeded, "the browser tests failed:\n{output}");
    for test in [
        "websocket_receives_a_native_post",
        "bosh_receives_a_native_post",
        "a_refused_websocket_ends_without_getting_online",
        "numbers_off_the_exact_path_read_as_rust_reads_them",
    ] {
        anyhow::ensure!(
            output.contains(&format!("{test} ... ok")),
            "{test} did not pass:\n{output}"
        );
    }
    Ok(())
}

/// `cargo test --target wasm32-unknown-unknown -p vigie-dashboard --test transports` with
/// `settings` in its environment (the tests read them at compile time); whether it passed,
/// and what it printed.
fn run_wasm_tests(settings: &[(&str, String)]) -> anyhow::Result<(bool, String)> {
    let log_path =
        std::env::temp_dir().join(format!("vigie-wasm-transports-{}.log", std::process::id()));
    let log = File::create(&log_path)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["test", "--target", "wasm32-unknown-unknown"])
        .args(["-p", "vigie-dashboard", "--test", "transports"])
        .current_dir(workspace())
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", "chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .envs(settings.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut run = ProcessGroup::spawn(&mut command)
        .context("starting cargo (wasm-bindgen-test-runner comes from scripts/install)")?;
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = run.child().try_wait()? {
            break status;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the wasm tests ran over {RUN_LIMIT:?}:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&log_path)?;
    let _ = std::fs::remove_file(&log_path);
    Ok((status.success(), output))
}
