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

use crate::fleet::{Crash, Fleet, Jam, Scenario};

#[derive(Debug, Clone, clap::Args)]
pub struct SimulatorArgs {
    #[arg(long, env = "MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    #[arg(long, env = "SIM_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Vehicles, spread over the city's roads round-robin (vehicle i drives road i mod 5); 15 puts
    /// 3 on every road, enough for any road to jam.
    #[arg(long, env = "SIM_VEHICLES", default_value_t = 15)]
    pub vehicles: usize,
    /// Fixes per vehicle per second of simulated time.
    #[arg(long, env = "SIM_RATE", default_value_t = 1.0)]
    pub rate: f64,
    /// Seconds of simulated time to run; 0 runs until stopped.
    #[arg(long, env = "SIM_DURATION", default_value_t = 0.0)]
    pub duration: f64,
    /// Simulated seconds per second of the wall clock (1: real time, at most 100). Above 1 it
    /// needs --duration, and the run is dated to end now: no fix is stamped in the future,
    /// which the gateway refuses beyond 5 minutes.
    #[arg(long, env = "SIM_SPEEDUP", default_value_t = 1.0)]
    pub speedup: f64,
    /// Scripted crashes as VEHICLE:AT_SECONDS:STOPPED_SECONDS (repeatable).
    #[arg(
        long = "crash",
        env = "SIM_CRASHES",
        value_delimiter = ',',
        default_value = "1:5:60"
    )]
    pub crashes: Vec<CrashSpec>,
    /// Scripted jams as ROAD:AT_SECONDS:LASTING_SECONDS[:SPEED_FRACTION] (repeatable; none by
    /// default): every vehicle on that road slows to that fraction of its free-flow speed
    /// (default 0.15, DATEX II queuing; below 0.10 is stationary).
    #[arg(long = "jam", env = "SIM_JAMS", value_delimiter = ',')]
    pub jams: Vec<JamSpec>,
    /// Repeats the scripted crashes and jams every this many seconds (0: once); each must end
    /// within the period.
    #[arg(long, env = "SIM_REPEAT_EVERY", default_value_t = 0.0)]
    pub repeat_every: f64,
    /// Writes the ground truth at the end (JSON, `fleet::GroundTruth`): the scripted crashes
    /// and jams, each vehicle's road, and every zone crossing the vehicles made.
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
            return Err(format!(
                "crash {s:?} is not VEHICLE:AT_SECONDS:STOPPED_SECONDS"
            ));
        };
        let seconds = |v: &str| v.parse::<f64>().ok().filter(|v| *v >= 0.0 && v.is_finite());
        match (vehicle.parse::<usize>(), seconds(at), seconds(stopped)) {
            (Ok(vehicle), Some(at), Some(stopped)) => Ok(CrashSpec(Crash {
                vehicle,
                at_ms: (at * 1000.0) as i64,
                stopped_for_ms: (stopped * 1000.0) as i64,
            })),
            _ => Err(format!(
                "crash {s:?} is not VEHICLE:AT_SECONDS:STOPPED_SECONDS"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JamSpec(pub Jam);

impl FromStr for JamSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let error = || format!("jam {s:?} is not ROAD:AT_SECONDS:LASTING_SECONDS[:SPEED_FRACTION]");
        let parts: Vec<&str> = s.split(':').collect();
        let (road, at, lasting, fraction) = match parts[..] {
            [road, at, lasting] => (road, at, lasting, None),
            [road, at, lasting, fraction] => (road, at, lasting, Some(fraction)),
            _ => return Err(error()),
        };
        let seconds = |v: &str| v.parse::<f64>().ok().filter(|v| *v >= 0.0 && v.is_finite());
        let speed_fraction = match fraction {
            None => Some(Jam::DEFAULT_SPEED_FRACTION),
            Some(v) => v.parse::<f64>().ok().filter(|v| (0.0..1.0).contains(v)),
        };
        let road_ok = !road.is_empty()
            && road
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        match (
            road_ok,
            seconds(at),
            seconds(lasting).filter(|v| *v > 0.0),
            speed_fraction,
        ) {
            (true, Some(at), Some(lasting), Some(speed_fraction)) => Ok(JamSpec(Jam {
                road: road.to_owned(),
                at_ms: (at * 1000.0) as i64,
                lasting_ms: (lasting * 1000.0) as i64,
                speed_fraction,
            })),
            _ => Err(error()),
        }
    }
}

/// Most QoS 1 publishes awaiting the broker's acknowledgement.
const MAX_INFLIGHT: u16 = 1000;

/// A bar over the run's seconds (a spinner when it runs until stopped), on stderr; hidden
/// when stderr is not a terminal.
fn progress_bar(duration: f64) -> indicatif::ProgressBar {
    let (progress, template) = if duration > 0.0 {
        (
            indicatif::ProgressBar::new(duration.ceil() as u64),
            "{bar:30} {pos}/{len} s  {msg}",
        )
    } else {
        (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} {elapsed}  {msg}",
        )
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        progress.set_style(style);
    }
    progress
}

/// The end-of-run summary.
fn summary(
    args: &SimulatorArgs,
    scenario: &Scenario,
    published: u64,
    acknowledged: u64,
    seconds: f64,
) -> String {
    let mut text = format!(
        "simulated {} vehicles for {:.1} s (seed {}, {} fixes/s each, {}× real time) in \
         {seconds:.1} s: {published} fixes published ({:.0}/s), {acknowledged} acknowledged by \
         the broker; injected {} crashes and {} jams",
        args.vehicles,
        seconds * args.speedup,
        args.seed,
        args.rate,
        args.speedup,
        published as f64 / seconds.max(f64::EPSILON),
        scenario.crashes.len(),
        scenario.jams.len(),
    );
    if let Some(path) = &args.ground_truth {
        text += &format!("; ground truth in {}", path.display());
    }
    text
}

/// Fewest vehicles a scripted jam's road needs: the jam detector's default minimum.
pub const JAM_MIN_VEHICLES: usize = 3;

/// Checks a scenario against the city and the fleet size, with errors naming the fix.
pub fn check_scenario(city: &City, vehicles: usize, scenario: &Scenario) -> anyhow::Result<()> {
    if let Some(crash) = scenario.crashes.iter().find(|c| c.vehicle >= vehicles) {
        bail!(
            "crash vehicle {} does not exist (only {vehicles} vehicles)",
            crash.vehicle
        );
    }
    if let Some(period) = scenario.repeat_every_ms {
        let ends = scenario
            .crashes
            .iter()
            .map(|c| c.at_ms + c.stopped_for_ms)
            .chain(scenario.jams.iter().map(|j| j.at_ms + j.lasting_ms));
        if let Some(last) = ends.max().filter(|&end| end > period) {
            bail!(
                "the scripted incidents last until {} s, past --repeat-every {} s (make it {} or more)",
                last as f64 / 1000.0,
                period as f64 / 1000.0,
                (last as f64 / 1000.0).ceil()
            );
        }
    }
    for jam in &scenario.jams {
        let Some(index) = city.roads.iter().position(|road| road.id == jam.road) else {
            let roads: Vec<&str> = city.roads.iter().map(|road| road.id.as_str()).collect();
            bail!(
                "jam road {:?} is not in the city (roads: {})",
                jam.road,
                roads.join(", ")
            );
        };
        // Round-robin: road `index` gets vehicles index, index + roads, …
        let on_road = vehicles.saturating_sub(index).div_ceil(city.roads.len());
        if on_road < JAM_MIN_VEHICLES {
            let needed = index + 1 + (JAM_MIN_VEHICLES - 1) * city.roads.len();
            bail!(
                "jam road {} has only {on_road} vehicles; a jam needs {JAM_MIN_VEHICLES} (use --vehicles {needed} or more)",
                jam.road
            );
        }
    }
    Ok(())
}

pub async fn run(
    args: SimulatorArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    if args.vehicles == 0 || !(args.rate > 0.0 && args.rate <= 100.0) {
        bail!("--vehicles must be at least 1 and --rate within (0, 100]");
    }
    if !(args.speedup > 0.0 && args.speedup <= 100.0) {
        bail!("--speedup must be within (0, 100]");
    }
    if args.speedup > 1.0 && args.duration <= 0.0 {
        bail!("--speedup above 1 needs a --duration");
    }
    let city = City::builtin();
    if !(args.repeat_every >= 0.0 && args.repeat_every.is_finite()) {
        bail!("--repeat-every must be a number of seconds, 0 for once");
    }
    let scenario = Scenario {
        crashes: args.crashes.iter().map(|c| c.0).collect(),
        jams: args.jams.iter().map(|j| j.0.clone()).collect(),
        repeat_every_ms: (args.repeat_every > 0.0).then_some((args.repeat_every * 1000.0) as i64),
    };
    check_scenario(&city, args.vehicles, &scenario)?;
    let client_id = format!("vigie-simulator-{}", std::process::id());
    let mut options = crate::mqtt::options(&args.mqtt_url, &client_id)?;
    // Enough unacknowledged publishes in flight to keep the loopback busy at 100k fixes/s.
    options.set_inflight(MAX_INFLIGHT);
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

    // A faster run starts in the past by what it gains on the wall clock, so that it ends now.
    let ahead_ms = (args.duration * (1.0 - 1.0 / args.speedup)).max(0.0) * 1000.0;
    let start_ms =
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64 - ahead_ms as i64;
    let mut fleet = Fleet::new(&city, args.vehicles, args.seed, scenario.clone(), start_ms);
    if args.ground_truth.is_some() {
        fleet.record_zone_crossings();
    }
    let period = Duration::from_secs_f64(1.0 / (args.rate * args.speedup));
    let started = Instant::now();
    let mut ticker = tokio::time::interval(period);
    let mut published = 0u64;
    let progress = progress_bar(args.duration);
    tracing::info!(
        vehicles = args.vehicles,
        rate = args.rate,
        seed = args.seed,
        crashes = scenario.crashes.len(),
        jams = scenario.jams.len(),
        "simulating"
    );
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        let elapsed = started.elapsed().mul_f64(args.speedup);
        if args.duration > 0.0 && elapsed.as_secs_f64() > args.duration {
            break;
        }
        for (vehicle, fix) in fleet.tick(elapsed.as_millis() as i64) {
            mqtt.publish(
                telemetry_topic(&vehicle),
                QoS::AtLeastOnce,
                false,
                fix.encode(),
            )
            .await?;
            published += 1;
        }
        progress.set_position(elapsed.as_secs());
        progress.set_message(format!(
            "{published} fixes published, {} acknowledged",
            acked.load(Ordering::Relaxed)
        ));
    }
    progress.finish_and_clear();
    // Every fix must reach the broker before we go.
    let wait_until = Instant::now() + Duration::from_secs(30);
    while acked.load(Ordering::Relaxed) < published && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acknowledged = acked.load(Ordering::Relaxed);
    mqtt.disconnect().await.ok();
    pump.abort();
    if let Some(path) = &args.ground_truth {
        let truth = serde_json::to_vec_pretty(&fleet.ground_truth())?;
        std::fs::write(path, truth).with_context(|| format!("writing {}", path.display()))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(published, acknowledged, seconds, "simulation done");
    println!(
        "{}",
        summary(&args, &scenario, published, acknowledged, seconds)
    );
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
            Ok(CrashSpec(Crash {
                vehicle: 2,
                at_ms: 1500,
                stopped_for_ms: 30_000
            }))
        );
        for bad in ["", "1:2", "x:1:2", "1:-1:2", "1:2:NaN", "1:2:3:4"] {
            assert!(bad.parse::<CrashSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn jam_specs_parse_strictly() {
        let jam = |road: &str, at_ms, lasting_ms, speed_fraction| {
            Ok(JamSpec(Jam {
                road: road.into(),
                at_ms,
                lasting_ms,
                speed_fraction,
            }))
        };
        assert_eq!(
            "quay:30:120".parse::<JamSpec>(),
            jam("quay", 30_000, 120_000, 0.15)
        );
        assert_eq!(
            "ring-north:0.5:60:0.05".parse::<JamSpec>(),
            jam("ring-north", 500, 60_000, 0.05)
        );
        for bad in [
            "",
            "quay",
            "quay:30",
            ":30:60",
            "quay:-1:60",
            "quay:30:0",
            "quay:30:NaN",
            "quay:30:inf",
            "quay:30:60:1.5",
            "quay:30:60:x",
            "quay:30:60:0.1:9",
            "qu ay:30:60",
        ] {
            let error = bad.parse::<JamSpec>().unwrap_err();
            assert!(
                error.contains("ROAD:AT_SECONDS:LASTING_SECONDS"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn scenarios_are_checked_against_the_city_and_the_fleet() {
        let city = City::builtin();
        let jam = |road: &str| Jam {
            road: road.into(),
            at_ms: 0,
            lasting_ms: 60_000,
            speed_fraction: 0.1,
        };
        let with = |jams: Vec<Jam>| Scenario {
            crashes: vec![],
            jams,
            repeat_every_ms: None,
        };
        assert!(check_scenario(&city, 15, &with(vec![jam("rue-centrale"), jam("quay")])).is_ok());
        // rue-centrale is the 5th road: vehicles 4 and 9 only, out of 12.
        let error = check_scenario(&city, 12, &with(vec![jam("rue-centrale")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--vehicles 15"), "{error}");
        assert!(check_scenario(&city, 12, &with(vec![jam("ring-north")])).is_ok());
        let error = check_scenario(&city, 15, &with(vec![jam("nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not in the city") && error.contains("quay"),
            "{error}"
        );
        let crash = Scenario {
            crashes: vec![Crash {
                vehicle: 15,
                at_ms: 0,
                stopped_for_ms: 1,
            }],
            jams: vec![],
            repeat_every_ms: None,
        };
        assert!(check_scenario(&city, 15, &crash).is_err());
        let longer_than_its_period = Scenario {
            jams: vec![jam("quay")],
            repeat_every_ms: Some(30_000),
            ..Scenario::default()
        };
        let error = check_scenario(&city, 15, &longer_than_its_period)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--repeat-every 30 s"), "{error}");
    }
}
