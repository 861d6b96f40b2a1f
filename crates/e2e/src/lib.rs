//! A whole Vigie on private servers, for end-to-end tests: Prosody, Mosquitto and a fresh
//! database from `vigie-stack`, the server running in-process, and the gateway and the collector
//! each a child process (src/bin/vigie-e2e-program.rs) that [`Stack::kill`] ends with SIGKILL, as
//! a crash would.
//!
//! The programs log to this process's stderr, at `RUST_LOG` (default `warn`).

pub mod browser;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigie_model::contract::{
    room_for, room_jid, ANON_DOMAIN, COLLECTOR_USER, EVENT_ROOMS, GATEWAY_USER, XMPP_DOMAIN,
};
use vigie_model::Event;
use vigie_pipeline::collector::CollectorArgs;
use vigie_pipeline::gateway::GatewayArgs;
use vigie_pipeline::session::XmppArgs;
use vigie_pipeline::simulator::{CrashSpec, SimulatorArgs};
use vigie_stack::{Daemon, Mosquitto, Mysql, Prosody, SpawnOptions, StateDir};
use vigie_xmpp::driver_tokio::{connect, Handle};
use vigie_xmpp::{ClientConfig, Event as XmppEvent, History};

/// The gateway account's password in every test stack (tests and benchmarks post as it).
pub const GATEWAY_PASSWORD: &str = "gateway-secret";

pub struct Stack {
    pub prosody: Prosody,
    pub broker: Mosquitto,
    pub database_url: String,
    /// The companion server's base URL, e.g. `http://127.0.0.1:PORT`.
    pub server_url: String,
    /// Where the gateway serves its Prometheus metrics (`http://ADDRESS/metrics`); every gateway
    /// launched serves there, its counters starting from zero.
    pub gateway_metrics: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<anyhow::Result<()>>,
    /// The binary the gateway and the collector run in ([`PROGRAM_BINARY`]).
    program_binary: PathBuf,
    collector_args: CollectorArgs,
    gateway_args: GatewayArgs,
    collector: Option<Process>,
    gateway: Option<Process>,
    /// Holds the gateway's emitted log (every gateway launched appends to it).
    files: StateDir,
}

/// The pipeline programs a test can kill and start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Gateway,
    Collector,
}

impl Program {
    /// Its name, also the subcommand of [`PROGRAM_BINARY`] that runs it.
    pub fn name(self) -> &'static str {
        match self {
            Program::Gateway => "gateway",
            Program::Collector => "collector",
        }
    }
}

/// The binary that runs the gateway or the collector of a [`Stack`] as a child process
/// (src/bin/vigie-e2e-program.rs).
pub const PROGRAM_BINARY: &str = "vigie-e2e-program";

/// Where [`PROGRAM_BINARY`] is: `$VIGIE_E2E_PROGRAM` when set, else beside the running executable.
/// Cargo puts a package's binaries in the profile folder and its tests in `deps/` below it, and
/// builds the binaries whenever it builds the package's integration tests; any other user of the
/// `Stack` builds it alongside (`cargo build -p vigie-e2e --bins`, same profile).
fn program_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("VIGIE_E2E_PROGRAM") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("cannot tell where this executable is")?;
    let mut dir = exe.parent().context("the executable has no folder")?;
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap_or(dir);
    }
    let path = dir.join(PROGRAM_BINARY);
    anyhow::ensure!(
        path.is_file(),
        "no {} (set VIGIE_E2E_PROGRAM, or build it: cargo build -p vigie-e2e --bins)",
        path.display()
    );
    Ok(path)
}

/// A program running as a child process, alone in its process group. Dropped, it is killed with
/// SIGKILL: a test that fails or panics leaves none behind (and if the test process itself dies,
/// the program notices it was orphaned and exits).
struct Process(Daemon);

impl Drop for Process {
    fn drop(&mut self) {
        self.0.kill();
    }
}

impl Process {
    /// SIGTERM (the programs' graceful shutdown), SIGKILL after 10 s; how it ended.
    fn stop(mut self) -> Option<ExitStatus> {
        self.0.stop();
        self.0.exited()
    }
}

/// The flags of `XmppArgs`, which both programs flatten.
fn xmpp_flags(xmpp: &XmppArgs) -> Vec<OsString> {
    [
        ("--xmpp-ws-url", &xmpp.xmpp_ws_url),
        ("--xmpp-jid", &xmpp.xmpp_jid),
        ("--xmpp-password", &xmpp.xmpp_password),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.into(), value.into()])
    .collect()
}

/// `args` as `vigie-gateway` flags (the test `flags_round_trip` keeps them complete).
fn gateway_flags(args: &GatewayArgs) -> Vec<OsString> {
    let mut flags: Vec<OsString> = vec![
        "--mqtt-url".into(),
        (&args.mqtt_url).into(),
        "--mqtt-client-id".into(),
        (&args.mqtt_client_id).into(),
        "--nick".into(),
        (&args.nick).into(),
    ];
    flags.extend(xmpp_flags(&args.xmpp));
    let paths = [
        ("--city", &args.city),
        ("--emitted-log", &args.emitted_log),
        ("--state", &args.state),
    ];
    for (flag, path) in paths {
        if let Some(path) = path {
            flags.extend([flag.into(), path.into()]);
        }
    }
    flags
}

/// `args` as `vigie-collector` flags (the test `flags_round_trip` keeps them complete).
fn collector_flags(args: &CollectorArgs) -> Vec<OsString> {
    let mut flags: Vec<OsString> = vec![
        "--database-url".into(),
        (&args.database_url).into(),
        "--nick".into(),
        (&args.nick).into(),
        "--gateway-nick".into(),
        (&args.gateway_nick).into(),
    ];
    flags.extend(xmpp_flags(&args.xmpp));
    flags
}

/// Resolves when `stop` is set.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

impl Stack {
    /// Starts the servers, provisions accounts and rooms, and runs the server (serving `dist`
    /// when given), the collector and the gateway.
    pub async fn start(dist: Option<std::path::PathBuf>) -> anyhow::Result<Stack> {
        let program_binary = program_binary()?;
        let prosody = tokio::task::spawn_blocking(Prosody::start_for_test).await??;
        let broker = tokio::task::spawn_blocking(Mosquitto::start_for_test).await??;
        let database_url =
            tokio::task::spawn_blocking(|| Mysql::shared().fresh_database("e2e")).await??;
        let gateway_jid = format!("{GATEWAY_USER}@{XMPP_DOMAIN}");
        let collector_jid = format!("{COLLECTOR_USER}@{XMPP_DOMAIN}");
        prosody.register(GATEWAY_USER, XMPP_DOMAIN, GATEWAY_PASSWORD)?;
        prosody.register(COLLECTOR_USER, XMPP_DOMAIN, "collector-secret")?;
        prosody.create_event_rooms(&gateway_jid, &collector_jid)?;

        let (stop, stop_rx) = watch::channel(false);
        let mut config = vigie_server::Config::with_database(database_url.clone());
        config.dist = dist;
        config.prosody_http_url = format!("http://127.0.0.1:{}", prosody.http_port()).parse()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server_url = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(vigie_server::serve(config, listener, stopped(stop_rx)));
        // Ready: it answers at once, and once the migrations are applied, tests may seed.
        let health = format!("{server_url}/readyz");
        let answered = eventually(Duration::from_secs(10), "the server", || async {
            Ok(get_json(&health)
                .await
                .ok()
                .or_else(|| server.is_finished().then_some(serde_json::Value::Null)))
        })
        .await?;
        if answered.is_null() {
            server.await??;
            anyhow::bail!("the server stopped at once");
        }

        let xmpp = |jid: &str, password: &str| XmppArgs {
            xmpp_ws_url: prosody.ws_url(),
            xmpp_jid: jid.to_owned(),
            xmpp_password: password.to_owned(),
        };
        let collector = CollectorArgs {
            database_url: database_url.clone(),
            xmpp: xmpp(&collector_jid, "collector-secret"),
            nick: "collector".into(),
            gateway_nick: vigie_pipeline::gateway::NICK.into(),
        };
        let files = StateDir::temporary("e2e")?;
        let gateway = GatewayArgs {
            mqtt_url: broker.url(),
            mqtt_client_id: "vigie-gateway-e2e".into(),
            xmpp: xmpp(&gateway_jid, GATEWAY_PASSWORD),
            nick: vigie_pipeline::gateway::NICK.into(),
            city: None,
            emitted_log: Some(files.path().join("emitted.log")),
            state: Some(files.path().join("gateway.state")),
        };
        let mut stack = Stack {
            prosody,
            broker,
            database_url,
            server_url,
            gateway_metrics: SocketAddr::from(([127, 0, 0, 1], vigie_stack::free_port())),
            stop,
            server,
            program_binary,
            collector_args: collector,
            gateway_args: gateway,
            collector: None,
            gateway: None,
            files,
        };
        stack.launch(Program::Collector)?;
        stack.launch(Program::Gateway)?;
        Ok(stack)
    }

    /// Starts a program (again) as a child process, with the same arguments every time; one
    /// still running is killed first.
    pub fn launch(&mut self, program: Program) -> anyhow::Result<()> {
        self.kill_now(program);
        let mut command = Command::new(&self.program_binary);
        command.arg(program.name());
        match program {
            Program::Gateway => command
                .args(gateway_flags(&self.gateway_args))
                .arg("--metrics-listen")
                .arg(self.gateway_metrics.to_string()),
            Program::Collector => command.args(collector_flags(&self.collector_args)),
        };
        // Only the flags count: nothing from this process's environment (`MQTT_URL`,
        // `VIGIE_CITY`, ...) may change what the program does.
        command
            .env_clear()
            .env("VIGIE_E2E_OWNER", std::process::id().to_string())
            .env(
                "RUST_LOG",
                std::env::var_os("RUST_LOG").unwrap_or_else(|| "warn".into()),
            );
        if let Some(backtrace) = std::env::var_os("RUST_BACKTRACE") {
            command.env("RUST_BACKTRACE", backtrace);
        }
        // Logs go to stderr, and so does anything printed: this process's stdout may be a
        // protocol (bench/dashboard).
        let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
        command.stdout(Stdio::from(stderr));
        let daemon = Daemon::spawn(program.name(), command, SpawnOptions::default())?;
        *self.slot(program) = Some(Process(daemon));
        Ok(())
    }

    /// Kills a program with SIGKILL, as a crash would: no goodbye, whatever it was doing, its
    /// queued messages and open connections gone with it. Nothing if it is not running.
    pub async fn kill(&mut self, program: Program) {
        self.kill_now(program);
    }

    fn kill_now(&mut self, program: Program) {
        // Dropping a `Process` kills it and reaps it (immediate after SIGKILL).
        self.slot(program).take();
    }

    fn slot(&mut self, program: Program) -> &mut Option<Process> {
        match program {
            Program::Gateway => &mut self.gateway,
            Program::Collector => &mut self.collector,
        }
    }

    /// Deletes the gateway's checkpoint, as on a new machine: the next gateway launched takes the
    /// open incidents over from the rooms' archives instead.
    pub fn forget_gateway_checkpoint(&self) -> anyhow::Result<()> {
        if let Some(state) = &self.gateway_args.state {
            std::fs::remove_file(state)?;
        }
        Ok(())
    }

    /// Ids of the events the rooms confirmed to every gateway launched so far, in order.
    pub fn emitted_event_ids(&self) -> anyhow::Result<Vec<String>> {
        let path = self.files.path().join("emitted.log");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// Ids of the events stored in MySQL (one row per event in the update history).
    pub async fn stored_event_ids(&self) -> anyhow::Result<Vec<String>> {
        let pool = sqlx::MySqlPool::connect(&self.database_url).await?;
        let ids = sqlx::query_scalar("SELECT event_id FROM incident_updates ORDER BY event_id")
            .fetch_all(&pool)
            .await;
        pool.close().await;
        Ok(ids?)
    }

    /// Every event the gateway posted, read back from the rooms' archives (XEP-0313) by an
    /// anonymous client; a message the gateway sent twice (resent after a reconnect) appears
    /// twice.
    pub async fn archived_events(&self) -> anyhow::Result<Vec<Event>> {
        let (handle, mut events) =
            connect(&self.prosody.ws_url(), ClientConfig::anonymous(ANON_DOMAIN)).await?;
        let mut archived = Vec::new();
        for room in EVENT_ROOMS {
            archived.extend(
                vigie_pipeline::gateway::posted_events(&handle, &mut events, room, None).await?,
            );
        }
        handle.close().await;
        Ok(archived)
    }

    /// Simulator settings for this stack: seed 7, 4 fixes per vehicle per second, no incident.
    pub fn simulator(&self, vehicles: usize, seconds: f64) -> SimulatorArgs {
        SimulatorArgs {
            mqtt_url: self.broker.url(),
            seed: 7,
            vehicles,
            rate: 4.0,
            duration: seconds,
            speedup: 1.0,
            crashes: Vec::new(),
            jams: Vec::new(),
            repeat_every: 0.0,
            ground_truth: None,
        }
    }

    /// Drives `vehicles` vehicles for `seconds`; vehicle `crash` crashes after one second.
    pub async fn simulate(
        &self,
        vehicles: usize,
        seconds: f64,
        crash: usize,
    ) -> anyhow::Result<()> {
        let mut args = self.simulator(vehicles, seconds);
        args.crashes = vec![format!("{crash}:1:60")
            .parse::<CrashSpec>()
            .map_err(anyhow::Error::msg)?];
        vigie_pipeline::simulator::run(args, std::future::pending()).await
    }

    /// Stops the programs gracefully (SIGTERM to the gateway and the collector, the shutdown
    /// signal to the server) and reports the first failure among them: a program that exited
    /// unsuccessfully, before or on being stopped, or did not stop within 10 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.send_replace(true);
        let programs = [Program::Gateway, Program::Collector]
            .into_iter()
            .filter_map(|program| Some((program, self.slot(program).take()?)))
            .collect::<Vec<_>>();
        let ended = tokio::task::spawn_blocking(move || {
            programs
                .into_iter()
                .map(|(program, process)| (program, process.stop()))
                .collect::<Vec<_>>()
        })
        .await?;
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .context("the server did not stop")???;
        for (program, status) in ended {
            let status = status.with_context(|| format!("the {} did not end", program.name()))?;
            anyhow::ensure!(
                status.success(),
                "the {} ended with {status} (its log is above)",
                program.name()
            );
        }
        Ok(())
    }
}

/// An anonymous viewer of ours in one event room, as any XMPP client would be.
pub struct Viewer {
    _handle: Handle,
    events: tokio::sync::mpsc::Receiver<XmppEvent>,
}

impl Viewer {
    pub async fn join(stack: &Stack, room: &str) -> anyhow::Result<Viewer> {
        let (handle, mut events) = connect(
            &stack.prosody.ws_url(),
            ClientConfig::anonymous(ANON_DOMAIN),
        )
        .await?;
        handle
            .join_room(&room_jid(room), "observer", History::None)
            .await?;
        loop {
            match events.recv().await.context("session ended")? {
                XmppEvent::RoomJoined { .. } => {
                    return Ok(Viewer {
                        _handle: handle,
                        events,
                    })
                }
                XmppEvent::RoomJoinFailed { error, .. } => {
                    anyhow::bail!("join refused: {}", error.condition)
                }
                _ => {}
            }
        }
    }

    /// The next event posted in the room, with the message's body.
    pub async fn next_event(&mut self, within: Duration) -> anyhow::Result<(Event, String)> {
        tokio::time::timeout(within, async {
            loop {
                if let XmppEvent::GroupchatMessage(message) =
                    self.events.recv().await.context("session ended")?
                {
                    if let Some(event) = Event::find_in(&message.payloads) {
                        return Ok((event?, message.body.unwrap_or_default()));
                    }
                }
            }
        })
        .await
        .context("no event arrived in time")?
    }
}

/// The gateway's account in the event rooms, driven by a test (once the gateway program is
/// killed) to post exactly the events a scenario needs.
pub struct Poster {
    handle: Handle,
}

impl Poster {
    /// Joins every event room as the gateway (its nick too: the collector stores only what
    /// that nick posts), and `extra_rooms` (bare JID and name; created
    /// if new, public).
    pub async fn join(stack: &Stack, extra_rooms: &[(String, &str)]) -> anyhow::Result<Poster> {
        let xmpp = XmppArgs {
            xmpp_ws_url: stack.prosody.ws_url(),
            xmpp_jid: format!("{GATEWAY_USER}@{XMPP_DOMAIN}"),
            xmpp_password: GATEWAY_PASSWORD.to_owned(),
        };
        let rooms: Vec<String> = (EVENT_ROOMS.iter().map(|room| room_jid(room)))
            .chain(extra_rooms.iter().map(|(jid, _)| jid.clone()))
            .collect();
        let (handle, mut echoes, _) = vigie_pipeline::session::join_rooms(
            &xmpp,
            &rooms,
            vigie_pipeline::gateway::NICK,
            History::None,
        )
        .await?;
        for (room, name) in extra_rooms {
            // A new room stays locked until its owner submits a configuration (XEP-0045
            // §10.1.2); Prosody takes a field left out of it as unset.
            let (room, name) = (room.clone(), name.to_string());
            let fields = move |c: &mut vigie_xmpp::Client| {
                let fields = [
                    ("muc#roomconfig_roomname", name.as_str()),
                    ("muc#roomconfig_publicroom", "1"),
                ];
                c.configure_room(&room, &fields)
            };
            let request = handle.call(fields).await?;
            loop {
                match echoes.recv().await.context("session ended")? {
                    XmppEvent::IqResult { id, result, .. } if id == request => {
                        result.context("the room's configuration was refused")?;
                        break;
                    }
                    _ => {}
                }
            }
        }
        tokio::spawn(async move { while echoes.recv().await.is_some() {} });
        Ok(Poster { handle })
    }

    /// Posts `event` into its room, as the gateway does.
    pub async fn post(&self, event: &Event) -> anyhow::Result<()> {
        let room = room_jid(room_for(event.kind));
        self.handle
            .send_groupchat_with_id(&room, &event.id, &event.body(), Some(event.to_element()))
            .await
            .with_context(|| format!("posting {} to {room}", event.id))
    }

    pub async fn close(self) {
        self.handle.close().await
    }
}

/// One sample of a Prometheus text: the value of the line starting with `name_and_labels`
/// (e.g. `vigie_rejected_total{reason="json"}`), 0 when absent.
pub fn metric(text: &str, name_and_labels: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Polls `probe` every 200 ms until it yields, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET url` as JSON, asserting a 200.
pub async fn get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::from_slice(&get(url).await?)?)
}

/// `GET url`'s body, asserting a 200.
pub async fn get(url: &str) -> anyhow::Result<bytes::Bytes> {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let response = client
        .get(url.parse()?)
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status == 200,
        "GET {url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Gateway {
        #[command(flatten)]
        args: GatewayArgs,
    }

    #[derive(Parser)]
    struct Collector {
        #[command(flatten)]
        args: CollectorArgs,
    }

    fn xmpp() -> XmppArgs {
        XmppArgs {
            xmpp_ws_url: "ws://127.0.0.1:1/xmpp-websocket".into(),
            xmpp_jid: "someone@example.org".into(),
            xmpp_password: "pass word".into(),
        }
    }

    /// Every field, none at its default, survives the trip to flags and back: a field added
    /// to the programs' arguments and forgotten here fails.
    #[test]
    fn flags_round_trip() {
        let gateway = GatewayArgs {
            mqtt_url: "mqtt://127.0.0.1:2".into(),
            mqtt_client_id: "client".into(),
            xmpp: xmpp(),
            nick: "nick".into(),
            city: Some("/city.json".into()),
            emitted_log: Some("/emitted.log".into()),
            state: Some("/gateway.state".into()),
        };
        let flags = gateway_flags(&gateway);
        let parsed = Gateway::try_parse_from(std::iter::once("gateway".into()).chain(flags))
            .unwrap()
            .args;
        assert_eq!(format!("{parsed:?}"), format!("{gateway:?}"));

        let collector = CollectorArgs {
            database_url: "mysql://u:p@127.0.0.1:3/db".into(),
            xmpp: xmpp(),
            nick: "nick".into(),
            gateway_nick: "gateway-nick".into(),
        };
        let flags = collector_flags(&collector);
        let parsed = Collector::try_parse_from(std::iter::once("collector".into()).chain(flags))
            .unwrap()
            .args;
        assert_eq!(format!("{parsed:?}"), format!("{collector:?}"));
    }
}
