//! The Vigie collector; flags and environment: `vigie-collector --help`.

use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Serves Prometheus metrics at http://ADDRESS/metrics.
    #[arg(long, env = "COLLECTOR_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    args: vigie_pipeline::collector::CollectorArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vigie_pipeline::init_logging();
    let cli = Cli::parse();
    if let Some(listen) = cli.metrics_listen {
        vigie_pipeline::stats::install_exporter(listen)?;
    }
    vigie_pipeline::collector::run(cli.args, vigie_pipeline::shutdown_signal()).await
}
