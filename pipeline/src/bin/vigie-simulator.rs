//! The Vigie simulator; flags and environment: `vigie-simulator --help`.

use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    args: vigie_pipeline::simulator::SimulatorArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vigie_pipeline::init_logging();
    let cli = Cli::parse();
    vigie_pipeline::simulator::run(cli.args, vigie_pipeline::shutdown_signal()).await
}
