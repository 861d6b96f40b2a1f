//! One pipeline program of an end-to-end `Stack` (crates/e2e/src/lib.rs) as a process of its own,
//! so that a test can kill it with SIGKILL as a crash would: `vigie-e2e-program gateway FLAGS` or
//! `vigie-e2e-program collector FLAGS`, with the flags of `vigie-gateway` and `vigie-collector`
//! (pipeline/src/bin), whose `main` this mirrors.
//!
//! Like them it stops gracefully on SIGTERM. Unlike them it exits at once when the test process
//! named by `VIGIE_E2E_OWNER` is no longer its parent: a test binary killed outright (a timeout,
//! Ctrl-C) leaves no program behind, still connected to servers that are gone.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use vigie_pipeline::collector::CollectorArgs;
use vigie_pipeline::gateway::GatewayArgs;

#[derive(Parser)]
#[command(about = "The gateway or the collector, as a child process of an end-to-end test")]
enum Cli {
    Gateway {
        /// Serves Prometheus metrics at http://ADDRESS/metrics.
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
        #[command(flatten)]
        args: GatewayArgs,
    },
    Collector {
        #[command(flatten)]
        args: CollectorArgs,
    },
}

/// Resolves once this process's parent is no longer the test that started it.
async fn orphaned() {
    let owner = std::env::var("VIGIE_E2E_OWNER")
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok());
    let Some(owner) = owner else {
        return std::future::pending().await;
    };
    while std::os::unix::process::parent_id() == owner {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vigie_pipeline::init_logging();
    let run = async {
        match Cli::parse() {
            Cli::Gateway {
                metrics_listen,
                args,
            } => {
                if let Some(listen) = metrics_listen {
                    vigie_pipeline::stats::install_exporter(listen)?;
                }
                vigie_pipeline::gateway::run(args, vigie_pipeline::shutdown_signal()).await
            }
            Cli::Collector { args } => {
                vigie_pipeline::collector::run(args, vigie_pipeline::shutdown_signal()).await
            }
        }
    };
    tokio::select! {
        result = run => result,
        () = orphaned() => {
            // No goodbye: the servers are going away with the test.
            eprintln!("vigie-e2e-program: the test that started it is gone; exiting");
            std::process::exit(1)
        }
    }
}
