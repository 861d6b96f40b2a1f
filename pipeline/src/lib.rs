//! Vigie's pipeline: the simulated fleet, the gateway's detectors, and the programs that carry
//! them over MQTT, XMPP and MySQL.

pub mod checkpoint;
pub mod collector;
pub mod detect;
pub mod fleet;
pub mod gateway;
pub mod mqtt;
pub mod session;
pub mod simulator;
pub mod stats;

/// Resolves on Ctrl-C or SIGTERM, for graceful shutdown.
pub async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// Structured logs on stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
}
