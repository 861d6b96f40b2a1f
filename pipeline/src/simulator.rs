//! The simulator program: drives the fleet in real time and publishes every fix over MQTT at
//! QoS 1, then waits until the broker has acknowledged each one.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use rumqttc::{AsyncClient, Packet, QoS};
use vigie_model::contract::telemetry_topic;
use vigie_model::City;

use crate::fleet::{Crash, Fleet, Scenario};

#[derive(Debug, Clone, clap::Args)]
pub struct SimulatorArgs {
    #[arg(long, env = "MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    #[arg(long, env = "SIM_SEED", default_value_t = 1)]
    pub seed: u64,
    #[arg(long, env = "SIM_VEHICLES", default_value_t = 12)]
    pub vehicles: usize,
    /// Fixes per vehicle per second.
    #[arg(long, env = "SIM_RATE", default_value_t = 1.0)]
    pub rate: f64,
    /// Seconds to run; 0 runs until stopped.
    #[arg(long, env = "SIM_DURATION", default_value_t = 0.0)]
    pub duration: f64,
    /// Scripted crashes as VEHICLE:AT_SECONDS:STOPPED_SECONDS (repeatable).
    #[arg(long = "crash", env = "SIM_CRASHES", value_delimiter = ',', default_value = "1:5:60")]
    pub crashes: Vec<CrashSpec>,
    /// Writes what was injected (JSON) to this file at the end.
    #[arg(long, env = "SIM_GROUND_TRUTH")]
    pub ground_truth: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrashSpec(pub Crash);

impl FromStr for CrashSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [vehicle, at, stopped] = parts[..] else {
            return Err(format!("crash {s:?} is not VEHICLE:AT_SECONDS:STOPPED_SECONDS"));
        };
        let seconds = |v: &str| v.parse::<f64>().ok().filter(|v| *v >= 0.0 && v.is_finite());
        match (vehicle.parse::<usize>(), seconds(at), seconds(stopped)) {
            (Ok(vehicle), Some(at), Some(stopped)) => Ok(CrashSpec(Crash {
                vehicle,
                at_ms: (at * 1000.0) as i64,
                stopped_for_ms: (stopped * 1000.0) as i64,
            })),
            _ => Err(format!("crash {s:?} is not VEHICLE:AT_SECONDS:STOPPED_SECONDS")),
        }
    }
}

pub async fn run(args: SimulatorArgs, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    if args.vehicles == 0 || !(args.rate > 0.0 && args.rate <= 100.0) {
        bail!("--vehicles must be at least 1 and --rate within (0, 100]");
    }
    if let Some(crash) = args.crashes.iter().find(|c| c.0.vehicle >= args.vehicles) {
        bail!("crash vehicle {} does not exist (only {} vehicles)", crash.0.vehicle, args.vehicles);
    }
    let client_id = format!("vigie-simulator-{}", std::process::id());
    let options = crate::mqtt::options(&args.mqtt_url, &client_id)?;
    let (mqtt, mut eventloop) = AsyncClient::new(options, 4096);
    let acked = Arc::new(AtomicU64::new(0));
    let counter = acked.clone();
    let pump = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(Packet::PubAck(_))) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "MQTT connection lost; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });

    let scenario = Scenario { crashes: args.crashes.iter().map(|c| c.0).collect() };
    let start_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let mut fleet = Fleet::new(&City::builtin(), args.vehicles, args.seed, scenario.clone(), start_ms);
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let started = Instant::now();
    let mut ticker = tokio::time::interval(period);
    let mut published = 0u64;
    tracing::info!(vehicles = args.vehicles, rate = args.rate, seed = args.seed, "simulating");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        let elapsed = started.elapsed();
        if args.duration > 0.0 && elapsed.as_secs_f64() > args.duration {
            break;
        }
        for (vehicle, fix) in fleet.tick(elapsed.as_millis() as i64) {
            mqtt.publish(telemetry_topic(&vehicle), QoS::AtLeastOnce, false, fix.encode()).await?;
            published += 1;
        }
    }
    // Every fix must reach the broker before we go.
    let wait_until = Instant::now() + Duration::from_secs(30);
    while acked.load(Ordering::Relaxed) < published && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acknowledged = acked.load(Ordering::Relaxed);
    mqtt.disconnect().await.ok();
    pump.abort();
    if let Some(path) = &args.ground_truth {
        let truth = serde_json::to_vec_pretty(&scenario)?;
        std::fs::write(path, truth).with_context(|| format!("writing {}", path.display()))?;
    }
    tracing::info!(published, acknowledged, seconds = started.elapsed().as_secs_f64(), "simulation done");
    if acknowledged < published {
        bail!("the broker acknowledged {acknowledged} of {published} fixes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_specs_parse_strictly() {
        assert_eq!(
            "2:1.5:30".parse::<CrashSpec>(),
            Ok(CrashSpec(Crash { vehicle: 2, at_ms: 1500, stopped_for_ms: 30_000 }))
        );
        for bad in ["", "1:2", "x:1:2", "1:-1:2", "1:2:NaN", "1:2:3:4"] {
            assert!(bad.parse::<CrashSpec>().is_err(), "{bad}");
        }
    }
}
