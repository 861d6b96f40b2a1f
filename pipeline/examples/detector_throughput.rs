//! Detector throughput: 10k vehicles for a simulated minute (one fix each per second, one road
//! jammed) through every detector, single-threaded.
//!
//! `cargo run --profile release-native -p vigie-pipeline --example detector_throughput`

use vigie_model::City;
use vigie_pipeline::detect::{Detector, Thresholds};
use vigie_pipeline::fleet::{Fleet, Jam, Scenario};

const START_MS: i64 = 1_800_000_000_000;

fn main() {
    let city = City::builtin();
    let scenario = Scenario {
        crashes: vec![],
        jams: vec![Jam {
            road: "quay".into(),
            at_ms: 10_000,
            lasting_ms: 60_000,
            speed_fraction: 0.05,
        }],
        repeat_every_ms: None,
    };
    let mut fleet = Fleet::new(&city, 10_000, 1, scenario, START_MS);
    let fixes: Vec<_> = (0..=60).flat_map(|s| fleet.tick(s * 1000)).collect();
    let mut detector = Detector::new(city, Thresholds::default());
    let started = std::time::Instant::now();
    let mut events = 0;
    for (vehicle, fix) in &fixes {
        events += detector.observe(vehicle, fix).len();
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} fixes in {seconds:.2} s: {:.0} fixes/s, {events} events",
        fixes.len(),
        fixes.len() as f64 / seconds
    );
}
