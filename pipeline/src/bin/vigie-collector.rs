//! The Vigie collector; flags and environment: `vigie-collector --help`.

use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    args: vigie_pipeline::collector::CollectorArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    vigie_pipeline::init_logging();
    let cli = Cli::parse();
    vigie_pipeline::collector::run(cli.args, vigie_pipeline::shutdown_signal()).await
}
