//! A private Mosquitto 2 broker from `deploy/mosquitto.conf`, on one loopback port.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::daemon::{kill_stale, tail, Daemon, SpawnOptions, TieOptions};
use crate::state::StateDir;

const TEMPLATE: &str = include_str!("../../../deploy/mosquitto.conf");
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running private broker; stopped on drop.
#[derive(Debug)]
pub struct Mosquitto {
    port: u16,
    state_dir: PathBuf,
    tie: Option<TieOptions>,
    // Field order matters: the broker stops before its state folder is removed.
    server: Daemon,
    _state: Option<StateDir>,
}

impl Mosquitto {
    /// Starts a broker on 127.0.0.1:`port`, its files (and persisted sessions) in
    /// `state_dir/mosquitto`. Fails fast when the port is taken.
    pub fn start(state_dir: &Path, port: u16) -> Result<Mosquitto> {
        start(state_dir, port, None)
    }

    /// For a test: a temporary state folder and a free port; removed when dropped (or when
    /// the test process exits).
    pub fn start_for_test() -> Result<Mosquitto> {
        let state = StateDir::temporary("mosquitto")?;
        let tie = TieOptions {
            remove_on_exit: Some(state.path().to_owned()),
        };
        let mut attempt = 1;
        let mut broker = loop {
            match start(state.path(), crate::free_port(), Some(tie.clone())) {
                Err(e) if attempt < 3 && e.to_string().contains("port is taken") => attempt += 1,
                result => break result?,
            }
        };
        broker._state = Some(state);
        Ok(broker)
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the broker with SIGKILL, as a crash would (it saves nothing), then starts it
    /// again on the same port with the same persisted data.
    pub fn kill_and_restart(&mut self) -> Result<()> {
        self.server.kill();
        self.restart()
    }

    /// Starts the broker again, after it ended, on the same port with the same persisted data.
    pub fn restart(&mut self) -> Result<()> {
        // A no-op once it has ended (`Daemon::exited` swept its group); else it ends now.
        self.server.kill();
        self.server = start(&self.state_dir, self.port, self.tie.clone())?.server;
        Ok(())
    }

    /// The exit status if the broker has ended on its own (a crash).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.server.exited()
    }

    /// Stops the broker now (drop does the same).
    pub fn stop(mut self) {
        self.server.stop();
    }
}

fn start(state_dir: &Path, port: u16, tie: Option<TieOptions>) -> Result<Mosquitto> {
    let state = StateDir::keep(state_dir)?;
    let dir = state.subdir("mosquitto")?;
    let data = state.subdir("mosquitto/data")?;
    let log = dir.join("mosquitto.log");
    let config = dir.join("mosquitto.conf");
    let pid_file = dir.join("mosquitto.owner.pid");
    kill_stale(&pid_file)?;
    let text = TEMPLATE
        .replace("{{port}}", &port.to_string())
        .replace("{{data_dir}}", &data.display().to_string())
        .replace("{{log_file}}", &log.display().to_string());
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;

    let mut command = Command::new("mosquitto");
    command.arg("-c").arg(&config);
    let output = dir.join("mosquitto.out");
    let mut server = Daemon::spawn(
        "mosquitto",
        command,
        SpawnOptions {
            output: Some(output.clone()),
            pid_file: Some(pid_file),
            tie_to_this_process: tie.clone(),
        },
    )?;
    let deadline = Instant::now() + READY_TIMEOUT;
    while !crate::ports::group_listens_on(server.pid(), port) {
        if let Some(status) = server.exited() {
            let text = format!("{}\n{}", tail(&log, 10), tail(&output, 10));
            let why = if text.contains("Address already in use") {
                format!("the port is taken ({port})")
            } else {
                format!("it exited ({status})")
            };
            bail!("Mosquitto cannot start: {why}. Last lines of its log:\n{text}");
        }
        if Instant::now() > deadline {
            bail!(
                "Mosquitto not listening after {READY_TIMEOUT:?}. Last lines of its log:\n{}",
                tail(&log, 15)
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(Mosquitto {
        port,
        state_dir: state_dir.to_owned(),
        tie,
        server,
        _state: None,
    })
}
