//! The Vigie gateway; flags and environment: `vigie-gateway --help`.

use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    args: vigie_pipeline::gateway::GatewayArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vigie_pipeline::init_logging();
    let cli = Cli::parse();
    vigie_pipeline::gateway::run(cli.args, vigie_pipeline::shutdown_signal()).await
}
