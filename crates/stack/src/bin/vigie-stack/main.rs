//! `vigie-stack`: runs Vigie locally from a state folder.
//!
//! - `up`: MySQL, Prosody, Mosquitto, accounts and rooms, then the programs; starts again
//!   whatever crashes; Ctrl-C stops all.
//! - `mysql`: a private MariaDB for the test suite, until SIGTERM.
//! - `down`: stops whatever a crashed `up` left behind in a state folder.

mod shutdown;
mod supervise;
mod up;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use vigie_stack::{stop_leftovers, write_env_file, Mysql, StateDir};

#[derive(Parser)]
#[command(
    version,
    about = "Runs Vigie's servers and programs privately from a state folder"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start MySQL, Prosody, Mosquitto and the programs, and start again whatever crashes;
    /// stop everything on Ctrl-C/SIGTERM.
    Up(up::UpArgs),
    /// Start a private MariaDB for tests; write `STATE_DIR/mysql.env`; stop on SIGTERM.
    Mysql {
        #[arg(long, default_value = ".vigie/test")]
        state_dir: PathBuf,
        /// Port to listen on (a free one when omitted).
        #[arg(long)]
        port: Option<u16>,
        /// Also stop when this process ends (the script that started us, even if killed).
        #[arg(long)]
        exit_with: Option<u32>,
    },
    /// Stop processes a crashed `up` left running in the state folder.
    Down {
        #[arg(long, default_value = ".vigie")]
        state_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIE_STACK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Up(args) => up::run(args),
        Command::Mysql {
            state_dir,
            port,
            exit_with,
        } => mysql(state_dir, port, exit_with),
        Command::Down { state_dir } => down(state_dir),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigie-stack: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn mysql(state_dir: PathBuf, port: Option<u16>, exit_with: Option<u32>) -> Result<ExitCode> {
    let signals = shutdown::Signals::install()?;
    let state = StateDir::keep(state_dir)?;
    let mysql = Mysql::start_private(state.path(), port.unwrap_or_else(vigie_stack::free_port))?;
    let database_url = mysql.ensure_database("vigie_test")?;
    let admin_url = mysql.admin_url();
    let env_file = state.path().join("mysql.env");
    write_env_file(
        &env_file,
        [
            (Mysql::ADMIN_URL_ENV, admin_url.as_str()),
            ("DATABASE_URL", database_url.as_str()),
        ],
    )?;
    println!("{}={admin_url}", Mysql::ADMIN_URL_ENV);
    println!("DATABASE_URL={database_url}");
    let owner_alive = || exit_with.is_none_or(|pid| Path::new(&format!("/proc/{pid}")).exists());
    while !signals.received() && owner_alive() {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::fs::remove_file(env_file);
    mysql.stop();
    Ok(ExitCode::SUCCESS)
}

fn down(state_dir: PathBuf) -> Result<ExitCode> {
    let up_pid = state_dir.join(up::UP_PID_FILE);
    if let Some(pid) = vigie_stack::live_pid(&up_pid) {
        anyhow::bail!("vigie-stack up (pid {pid}) is running: stop it with Ctrl-C or `kill {pid}`");
    }
    let stopped = stop_leftovers(&state_dir)
        .with_context(|| format!("cannot clean up {}", state_dir.display()))?;
    println!("stopped {stopped} leftover process(es)");
    Ok(ExitCode::SUCCESS)
}
