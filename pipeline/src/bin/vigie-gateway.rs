//! The Vigie gateway; flags and environment: `vigie-gateway --help`.

use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Serves Prometheus metrics at http://ADDRESS/metrics.
    #[arg(long, env = "GATEWAY_METRICS_LISTEN")]
    metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    args: vigie_pipeline::gateway::GatewayArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vigie_pipeline::init_logging();
    let cli = Cli::parse();
    if let Some(listen) = cli.metrics_listen {
        vigie_pipeline::stats::install_exporter(listen)?;
    }
    vigie_pipeline::gateway::run(cli.args, vigie_pipeline::shutdown_signal()).await
}
