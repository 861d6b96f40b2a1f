//! A whole Vigie on private servers, for end-to-end tests: Prosody, Mosquitto and a fresh
//! database from `vigie-stack`, with the server, gateway and collector running in-process.

pub mod browser;

use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vigie_model::contract::{
    room_jid, ANON_DOMAIN, COLLECTOR_USER, EVENT_ROOMS, GATEWAY_USER, XMPP_DOMAIN,
};
use vigie_model::Event;
use vigie_pipeline::collector::CollectorArgs;
use vigie_pipeline::gateway::GatewayArgs;
use vigie_pipeline::session::XmppArgs;
use vigie_pipeline::simulator::{CrashSpec, SimulatorArgs};
use vigie_stack::{Mosquitto, Mysql, Prosody, StateDir};
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
    stop: watch::Sender<bool>,
    server: JoinHandle<anyhow::Result<()>>,
    collector_args: CollectorArgs,
    gateway_args: GatewayArgs,
    collector: Option<JoinHandle<anyhow::Result<()>>>,
    gateway: Option<JoinHandle<anyhow::Result<()>>>,
    /// Holds the gateway's emitted log (every gateway launched appends to it).
    files: StateDir,
}

/// The pipeline programs a test can kill and start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Gateway,
    Collector,
}

/// Resolves when `stop` is set.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

impl Stack {
    /// Starts the servers, provisions accounts and rooms, and runs the server (serving `dist`
    /// when given), the collector and the gateway.
    pub async fn start(dist: Option<std::path::PathBuf>) -> anyhow::Result<Stack> {
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
        let health = format!("{server_url}/healthz");
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
        };
        let mut stack = Stack {
            prosody,
            broker,
            database_url,
            server_url,
            stop,
            server,
            collector_args: collector,
            gateway_args: gateway,
            collector: None,
            gateway: None,
            files,
        };
        stack.launch(Program::Collector);
        stack.launch(Program::Gateway);
        Ok(stack)
    }

    /// Starts a program (again).
    pub fn launch(&mut self, program: Program) {
        let stop = stopped(self.stop.subscribe());
        match program {
            Program::Collector => {
                let run = vigie_pipeline::collector::run(self.collector_args.clone(), stop);
                self.collector = Some(tokio::spawn(run));
            }
            Program::Gateway => {
                let run = vigie_pipeline::gateway::run(self.gateway_args.clone(), stop);
                self.gateway = Some(tokio::spawn(run));
            }
        }
    }

    /// Kills a program abruptly: no goodbye, whatever it was doing.
    pub async fn kill(&mut self, program: Program) {
        let task = match program {
            Program::Collector => self.collector.take(),
            Program::Gateway => self.gateway.take(),
        };
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
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

    /// Stops the in-process programs and reports the first failure among them.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.send_replace(true);
        let programs = [self.gateway, self.collector].into_iter().flatten();
        for task in programs.chain([self.server]) {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .context("a program did not stop")???;
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
