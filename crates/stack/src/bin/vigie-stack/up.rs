//! `vigie-stack up`: the whole system on one machine, from a state folder. A server or program
//! that crashes once everything is up is started again (`supervise`); during start-up, any
//! failure stops all.
//!
//! Every program gets, as environment variables (also written to `STATE_DIR/stack.env`):
//! `DATABASE_URL`, `MQTT_URL`, `XMPP_WS_URL`, `XMPP_BOSH_URL`, `PROSODY_HTTP_URL`,
//! `GATEWAY_JID`, `GATEWAY_PASSWORD`, `COLLECTOR_JID`, `COLLECTOR_PASSWORD`, `VIGIE_DIST`,
//! `VIGIE_LISTEN`, `DASHBOARD_URL`, `PROSODY_CONFIG`, and `RUST_LOG=info` unless set.
//! `vigie-gateway` and `vigie-collector` also get `XMPP_JID` and `XMPP_PASSWORD`, their own.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use vigie_model::contract::{COLLECTOR_USER, GATEWAY_USER, XMPP_DOMAIN};
use vigie_stack::{
    live_pid, port_answers, preferred_port, random_secret, read_env_file, record_this_process,
    stop_leftovers, write_env_file, Daemon, Mosquitto, Mysql, MysqlUrl, Prosody, SpawnOptions,
    StateDir, PID_FILE_SUFFIX,
};

use crate::shutdown::Signals;
use crate::supervise::{AfterExit, Restarts};

/// Records the running `up` itself, so a second one refuses to fight over the state folder.
pub const UP_PID_FILE: &str = "up.pid";
/// The database the programs and Prosody share on a server `up` administers.
const DATABASE: &str = "vigie";
/// The programs, started in this order (consumers before producers), stopped in reverse.
const PROGRAMS: [&str; 4] = [
    "vigie-server",
    "vigie-collector",
    "vigie-gateway",
    "vigie-simulator",
];
/// What the development stack's simulator plays, again every 10 minutes so that a dashboard
/// left open keeps showing every kind of incident: an accident at 0:05 (vehicle 1, stopped a
/// minute), a queuing jam on the quay from 1:30 for 3 minutes, a stationary one on the east
/// boulevard from 5:00 for 2 minutes, an accident at 7:00 (vehicle 6, stopped 45 s); zone
/// crossings all the time. Each is overridden by the same variable in `up`'s environment.
const DEV_SCENARIO: [(&str, &str); 3] = [
    ("SIM_CRASHES", "1:5:60,6:420:45"),
    ("SIM_JAMS", "quay:90:180,boulevard-east:300:120:0.05"),
    ("SIM_REPEAT_EVERY", "600"),
];
/// Default ports of the development stack (DESIGN.md); a free port when one is taken.
const MYSQL_PORT: u16 = 3306;
const MQTT_PORT: u16 = 1883;
const C2S_PORT: u16 = 5222;
const XMPP_HTTP_PORT: u16 = 5280;
const SERVER_PORT: u16 = 8080;
/// Where the gateway and the collector serve their Prometheus `/metrics`.
const GATEWAY_METRICS_PORT: u16 = 9101;
const COLLECTOR_METRICS_PORT: u16 = 9102;
/// How long the server may take to listen and migrate the database.
const SERVER_READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Args)]
pub struct UpArgs {
    /// Where configuration, data, logs, passwords and pid files live (git-ignored).
    #[arg(long, default_value = ".vigie")]
    state_dir: PathBuf,
    /// Where the programs' binaries are (default: next to vigie-stack).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The built dashboard the server serves.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Start the servers, accounts and rooms only, not the programs.
    #[arg(long)]
    services_only: bool,
}

/// Everything started so far; dropping it stops all, last started first.
#[derive(Default)]
struct Started(Vec<Supervised>);

enum Part {
    Mysql(Mysql),
    Prosody(Prosody),
    Mosquitto(Mosquitto),
    Program {
        daemon: Daemon,
        start: Box<dyn Fn() -> Result<Daemon>>,
    },
}

impl Part {
    fn exited(&mut self) -> Option<ExitStatus> {
        match self {
            Part::Mysql(mysql) => mysql.exited(),
            Part::Prosody(prosody) => prosody.exited(),
            Part::Mosquitto(broker) => broker.exited(),
            Part::Program { daemon, .. } => daemon.exited(),
        }
    }

    /// Starts again, the same way, a part that ended.
    fn restart(&mut self) -> Result<()> {
        match self {
            Part::Mysql(mysql) => mysql.restart(),
            Part::Prosody(prosody) => prosody.restart(),
            Part::Mosquitto(broker) => broker.restart(),
            Part::Program { daemon, start } => {
                // A no-op once it has ended (`Daemon::exited` swept its group); else it ends now.
                daemon.kill();
                *daemon = start()?;
                Ok(())
            }
        }
    }
}

/// A part, and what `up` knows of its runs.
struct Supervised {
    name: String,
    part: Part,
    started_at: Instant,
    restarts: Restarts,
    /// A clean exit means its work is done (the simulator's `--duration`).
    may_finish: bool,
    /// When it is to be started again, after it ended.
    start_again_at: Option<Instant>,
    /// Ended with success: left alone.
    finished: bool,
}

impl Supervised {
    /// Notices that the part ended and starts it again when due; an error once `up` should
    /// give up on it.
    fn watch(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        match self.start_again_at {
            None => match self.part.exited() {
                Some(status) => self.ended(Some(status), self.started_at.elapsed()),
                None => Ok(()),
            },
            Some(due) if Instant::now() >= due => match self.part.restart() {
                Ok(()) => {
                    tracing::info!("started {} again", self.name);
                    self.started_at = Instant::now();
                    self.start_again_at = None;
                    Ok(())
                }
                Err(e) => {
                    tracing::warn!("cannot start {} again: {e:#}", self.name);
                    self.ended(None, Duration::ZERO)
                }
            },
            Some(_) => Ok(()),
        }
    }

    fn ended(&mut self, status: Option<ExitStatus>, ran_for: Duration) -> Result<()> {
        let name = &self.name;
        let what = status.map_or_else(|| "did not start".to_owned(), |s| format!("exited ({s})"));
        match self.restarts.after_exit(status, ran_for, self.may_finish) {
            AfterExit::Finished => {
                tracing::info!("{name} {what}: finished");
                self.finished = true;
            }
            AfterExit::StartAgainIn(delay) => {
                tracing::warn!("{name} {what}; starting it again in {delay:?}");
                self.start_again_at = Some(Instant::now() + delay);
            }
            AfterExit::GiveUp(crashes) => bail!(
                "{name} {what}, {crashes} times in a row within a minute of its start; \
                 stopping everything"
            ),
        }
        Ok(())
    }
}

impl Started {
    fn push(&mut self, name: &str, part: Part) {
        self.0.push(Supervised {
            name: name.to_owned(),
            part,
            started_at: Instant::now(),
            restarts: Restarts::default(),
            may_finish: name == "vigie-simulator",
            start_again_at: None,
            finished: false,
        });
    }

    /// The first program found to have exited, with its status.
    fn exited_program(&mut self) -> Option<(String, ExitStatus)> {
        self.0
            .iter_mut()
            .find_map(|supervised| match &mut supervised.part {
                Part::Program { daemon, .. } => daemon
                    .exited()
                    .map(|status| (supervised.name.clone(), status)),
                _ => None,
            })
    }

    /// Until a signal: starts again whatever ends on its own; an error once it gives up. A
    /// server's start waits until it answers (up to 30 s for MariaDB): a signal meanwhile is
    /// acted on after it.
    fn supervise(&mut self, signals: &Signals) -> Result<()> {
        while !signals.received() {
            for supervised in &mut self.0 {
                if signals.received() {
                    break;
                }
                supervised.watch()?;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        while let Some(Supervised { name, part, .. }) = self.0.pop() {
            tracing::info!("stopping {name}");
            drop(part);
        }
    }
}

pub fn run(args: UpArgs) -> Result<ExitCode> {
    let signals = Signals::install()?;
    let state = StateDir::keep(&args.state_dir)?;
    let up_pid = state.path().join(UP_PID_FILE);
    if let Some(pid) = live_pid(&up_pid) {
        bail!(
            "vigie-stack up is already running on {} (pid {pid}); stop it first",
            state.path().display()
        );
    }
    record_this_process(&up_pid)?;
    // Before looking for servers already answering: they may be our own, from a crash.
    let leftovers = stop_leftovers(state.path())?;
    if leftovers > 0 {
        tracing::info!("stopped {leftovers} process(es) left over from an earlier run");
    }
    let result = run_in(&args, &state, &signals);
    let _ = std::fs::remove_file(&up_pid);
    result
}

fn run_in(args: &UpArgs, state: &StateDir, signals: &Signals) -> Result<ExitCode> {
    // Check everything that needs no server before starting one: nothing half-started.
    let programs = if args.services_only {
        Vec::new()
    } else {
        find_programs(args)?
    };
    let dist = absolute(&args.dist)?;
    if !programs.is_empty() && !dist.join("index.html").is_file() {
        tracing::warn!(
            "no dashboard in {} (build it with `trunk build --release`); the REST API still works",
            dist.display()
        );
    }
    let secrets = secrets(state.path())?;

    let mut started = Started::default();
    let interrupted = |signals: &Signals| -> Result<()> {
        if signals.received() {
            bail!("interrupted during start-up");
        }
        Ok(())
    };

    let database_url = database(state, &mut started)?;
    interrupted(signals)?;

    let prosody = Prosody::start_on(
        state.path(),
        &database_url,
        preferred_port(C2S_PORT),
        preferred_port(XMPP_HTTP_PORT),
    )?;
    let gateway_jid = format!("{GATEWAY_USER}@{XMPP_DOMAIN}");
    let collector_jid = format!("{COLLECTOR_USER}@{XMPP_DOMAIN}");
    prosody.register(GATEWAY_USER, XMPP_DOMAIN, &secrets["GATEWAY_PASSWORD"])?;
    prosody.register(COLLECTOR_USER, XMPP_DOMAIN, &secrets["COLLECTOR_PASSWORD"])?;
    prosody.create_event_rooms(&gateway_jid, &collector_jid)?;
    let (ws_url, bosh_url, http_url) = (prosody.ws_url(), prosody.bosh_url(), prosody.http_url());
    let prosody_config = prosody.config_path().display().to_string();
    tracing::info!("Prosody on c2s {} and {ws_url}", prosody.c2s_port());
    started.push("prosody", Part::Prosody(prosody));
    interrupted(signals)?;

    let mqtt_url = broker(state, &mut started)?;
    interrupted(signals)?;

    let listen = std::env::var("VIGIE_LISTEN")
        .unwrap_or_else(|_| format!("127.0.0.1:{}", preferred_port(SERVER_PORT)));
    let dashboard_url = format!("http://{listen}/");
    let dist = dist.display().to_string();
    let gateway_metrics = format!("127.0.0.1:{}", preferred_port(GATEWAY_METRICS_PORT));
    let collector_metrics = format!("127.0.0.1:{}", preferred_port(COLLECTOR_METRICS_PORT));
    let env: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &database_url),
        ("MQTT_URL", &mqtt_url),
        ("XMPP_WS_URL", &ws_url),
        ("XMPP_BOSH_URL", &bosh_url),
        ("PROSODY_HTTP_URL", &http_url),
        ("GATEWAY_JID", &gateway_jid),
        ("GATEWAY_PASSWORD", &secrets["GATEWAY_PASSWORD"]),
        ("COLLECTOR_JID", &collector_jid),
        ("COLLECTOR_PASSWORD", &secrets["COLLECTOR_PASSWORD"]),
        ("VIGIE_DIST", &dist),
        ("VIGIE_LISTEN", &listen),
        ("DASHBOARD_URL", &dashboard_url),
        ("PROSODY_CONFIG", &prosody_config),
        ("GATEWAY_METRICS_LISTEN", &gateway_metrics),
        ("COLLECTOR_METRICS_LISTEN", &collector_metrics),
    ];
    let env_file = state.path().join("stack.env");
    write_env_file(&env_file, env.iter().copied())?;
    tracing::info!("wrote {}", env_file.display());

    let pids = state.subdir("pids")?;
    for (name, path) in programs {
        interrupted(signals)?;
        let pid_file = pids.join(format!("{name}{PID_FILE_SUFFIX}"));
        let mut program_env: Vec<(String, OsString)> = env
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.into()))
            .collect();
        if std::env::var_os("RUST_LOG").is_none() {
            program_env.push(("RUST_LOG".to_owned(), "info".into()));
        }
        let own_env: Vec<(&str, OsString)> = match name {
            "vigie-gateway" => vec![
                ("XMPP_JID", gateway_jid.clone().into()),
                ("XMPP_PASSWORD", secrets["GATEWAY_PASSWORD"].clone().into()),
                ("GATEWAY_STATE", state.path().join("gateway.state").into()),
            ],
            "vigie-collector" => vec![
                ("XMPP_JID", collector_jid.clone().into()),
                (
                    "XMPP_PASSWORD",
                    secrets["COLLECTOR_PASSWORD"].clone().into(),
                ),
            ],
            "vigie-simulator" => DEV_SCENARIO
                .into_iter()
                .filter(|(name, _)| std::env::var_os(name).is_none())
                .map(|(name, value)| (name, value.into()))
                .collect(),
            _ => Vec::new(),
        };
        program_env.extend(
            own_env
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value)),
        );
        let start = move || {
            let mut command = Command::new(&path);
            command.envs(program_env.iter().map(|(key, value)| (key, value)));
            let options = SpawnOptions {
                pid_file: Some(pid_file.clone()),
                ..SpawnOptions::default()
            };
            let daemon = Daemon::spawn(name, command, options)?;
            tracing::info!("started {name} (pid {})", daemon.pid());
            Ok(daemon)
        };
        let daemon = start()?;
        let start = Box::new(start);
        started.push(name, Part::Program { daemon, start });
        if name == "vigie-server" {
            // It applies the database migrations: let it finish before the collector starts
            // (it answers at once, and is ready once they are applied).
            wait_ready(&mut started, name, &listen, signals)?;
        }
    }

    if args.services_only {
        println!(
            "Vigie services are up; their addresses are in {}",
            env_file.display()
        );
    } else {
        println!("Vigie is up: open {dashboard_url}");
        println!(
            "Metrics: http://{listen}/metrics (server), http://{gateway_metrics}/metrics \
             (gateway), http://{collector_metrics}/metrics (collector)"
        );
    }
    println!("Press Ctrl-C to stop.");
    if let Err(e) = started.supervise(signals) {
        tracing::error!("{e:#}");
        return Ok(ExitCode::FAILURE);
    }
    tracing::info!("stopping");
    drop(started);
    Ok(ExitCode::SUCCESS)
}

/// Waits until the program just started answers HTTP on `address` (it may listen before it
/// serves: a request then waits in the backlog until it does); fails if it exits first.
fn wait_ready(started: &mut Started, name: &str, address: &str, signals: &Signals) -> Result<()> {
    let deadline = Instant::now() + SERVER_READY_TIMEOUT;
    while !is_ready(address) {
        if let Some((exited, status)) = started.exited_program() {
            bail!("{exited} exited ({status}) during start-up");
        }
        if signals.received() {
            bail!("interrupted during start-up");
        }
        if Instant::now() > deadline {
            bail!("{name} is not ready on {address} after {SERVER_READY_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Whether `GET /readyz` on `address` answers 200 within a second.
fn is_ready(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut status_line = [0u8; 12];
    stream
        .write_all(b"GET /readyz HTTP/1.0\r\n\r\n")
        .and_then(|()| stream.read_exact(&mut status_line))
        .is_ok_and(|()| status_line.ends_with(b" 200"))
}

/// The database URL for the programs and Prosody: `DATABASE_URL` when given; else a `vigie`
/// database on `VIGIE_MYSQL_ADMIN_URL` when given; else a private MariaDB (kept in the state
/// folder) on 3306, or on a free port when something already listens there without
/// credentials we know.
fn database(state: &StateDir, started: &mut Started) -> Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let parsed = MysqlUrl::parse(&url).context("DATABASE_URL")?;
        if parsed.database.is_none() {
            bail!("DATABASE_URL names no database: {parsed}");
        }
        parsed
            .query("SELECT 1")
            .context("DATABASE_URL is unusable")?;
        tracing::info!("using DATABASE_URL ({}:{})", parsed.host, parsed.port);
        return Ok(url);
    }
    if let Ok(admin_url) = std::env::var(Mysql::ADMIN_URL_ENV) {
        let mysql = Mysql::connect(&admin_url)
            .with_context(|| format!("{} is unusable", Mysql::ADMIN_URL_ENV))?;
        return mysql.ensure_database(DATABASE);
    }
    if port_answers(MYSQL_PORT) {
        tracing::warn!(
            "a MySQL server answers on 127.0.0.1:{MYSQL_PORT} but neither DATABASE_URL nor {} \
             says how to log in; starting a private MariaDB on another port",
            Mysql::ADMIN_URL_ENV
        );
    }
    let mysql = Mysql::start_private(state.path(), preferred_port(MYSQL_PORT))?;
    let url = mysql.ensure_database(DATABASE)?;
    tracing::info!("private MariaDB on port {}", mysql.admin().port);
    started.push("mariadb", Part::Mysql(mysql));
    Ok(url)
}

/// `MQTT_URL` when given; else a broker already answering on 1883; else a private one.
fn broker(state: &StateDir, started: &mut Started) -> Result<String> {
    if let Ok(url) = std::env::var("MQTT_URL") {
        tracing::info!("using MQTT_URL {url}");
        return Ok(url);
    }
    if port_answers(MQTT_PORT) {
        tracing::info!("using the MQTT broker already on 127.0.0.1:{MQTT_PORT}");
        return Ok(format!("mqtt://127.0.0.1:{MQTT_PORT}"));
    }
    let broker = Mosquitto::start(state.path(), preferred_port(MQTT_PORT))?;
    let url = broker.url();
    tracing::info!("private Mosquitto on {url}");
    started.push("mosquitto", Part::Mosquitto(broker));
    Ok(url)
}

/// Account passwords, generated on the first run and kept in `secrets.env`.
fn secrets(state: &Path) -> Result<BTreeMap<String, String>> {
    let path = state.join("secrets.env");
    let mut secrets = read_env_file(&path)?;
    let before = secrets.len();
    for key in ["GATEWAY_PASSWORD", "COLLECTOR_PASSWORD"] {
        secrets
            .entry(key.to_owned())
            .or_insert_with(|| random_secret(16));
    }
    if secrets.len() != before {
        write_env_file(&path, secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    }
    Ok(secrets)
}

/// Every program's path, or an error naming the missing ones.
fn find_programs(args: &UpArgs) -> Result<Vec<(&'static str, PathBuf)>> {
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("vigie-stack has no folder")?
            .to_owned(),
    };
    let found: Vec<(&str, PathBuf)> = PROGRAMS
        .iter()
        .map(|name| (*name, bin_dir.join(name)))
        .collect();
    let missing: Vec<&str> = found
        .iter()
        .filter(|(_, path)| !path.is_file())
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        bail!(
            "missing in {}: {} (build them with `cargo build --profile release-native --bins`, \
             or pass --services-only)",
            bin_dir.display(),
            missing.join(", ")
        );
    }
    Ok(found)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    })
}
