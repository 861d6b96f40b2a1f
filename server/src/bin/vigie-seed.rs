//! `vigie-seed`: fills the database with N realistic incidents in the built-in city (jams and
//! accidents on its roads, zone entries and exits), spread over the last days, for trying the
//! dashboard and benchmarking the history API. Deterministic for a `--seed`.

use std::time::Duration as StdDuration;

use anyhow::Context as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};
use vigie_model::{City, EventKind, Severity, Status};
use vigie_store::{Incident, IncidentDetail, IncidentUpdate};

#[derive(Debug, Parser)]
#[command(
    name = "vigie-seed",
    about = "Fill Vigie's database with realistic incidents"
)]
struct Args {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// How many incidents.
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Spread over this many days before now.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Random seed: the same seed gives the same incidents (ids included).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Incidents per transaction.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = vigie_server::connect(&args.database_url).await?;
    let city = City::builtin();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let end = OffsetDateTime::now_utc();
    let start = end - Duration::days(args.days);

    let progress = ProgressBar::new(args.count);
    progress.set_style(
        ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} incidents, {per_sec}, eta {eta}",
        )
        .context("progress template")?,
    );
    progress.enable_steady_tick(StdDuration::from_millis(250));
    let mut left = args.count;
    while left > 0 {
        let size = left.min(args.batch as u64);
        let batch: Vec<IncidentDetail> = (0..size)
            .map(|_| incident(&mut rng, &city, start, end))
            .collect();
        vigie_store::insert_history(&pool, &batch)
            .await
            .context("inserting a batch")?;
        progress.inc(size);
        left -= size;
    }
    progress.finish();
    Ok(())
}

/// A ULID for `at`, its random part from `rng`.
fn ulid_at(rng: &mut StdRng, at: OffsetDateTime) -> String {
    let millis = (at.unix_timestamp_nanos() / 1_000_000) as u64;
    ulid::Ulid::from_parts(millis, rng.random()).to_string()
}

fn incident(
    rng: &mut StdRng,
    city: &City,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> IncidentDetail {
    let span = (end - start).whole_milliseconds() as i64;
    let opened_at = start + Duration::milliseconds(rng.random_range(0..span.max(1)));
    let kind = match rng.random_range(0..100) {
        0..40 => EventKind::Jam,
        40..55 => EventKind::Accident,
        55..78 => EventKind::ZoneEnter,
        _ => EventKind::ZoneExit,
    };
    // A point along a road, a few metres off.
    let road = &city.roads[rng.random_range(0..city.roads.len())];
    let segment = rng.random_range(0..road.points.len() - 1);
    let ([lon_a, lat_a], [lon_b, lat_b]) = (road.points[segment], road.points[segment + 1]);
    let along: f64 = rng.random();
    let lat = lat_a + (lat_b - lat_a) * along + rng.random_range(-0.00005..0.00005);
    let lon = lon_a + (lon_b - lon_a) * along + rng.random_range(-0.00005..0.00005);
    let zone = city.zone_at(lat, lon).map(|z| z.id.clone());
    let on_road = matches!(kind, EventKind::Jam | EventKind::Accident);
    let vehicle_count = if kind == EventKind::Jam {
        rng.random_range(3..12)
    } else {
        1
    };
    let vehicles: Vec<String> = (0..vehicle_count)
        .map(|_| format!("v{}", rng.random_range(1..=500)))
        .collect();
    let severity = Severity::ALL[rng.random_range(0..3)];
    let detail = match kind {
        EventKind::Accident => format!("crash flag from {}", vehicles[0]),
        EventKind::Jam => format!(
            "{} vehicles below 25% of free-flow on {}",
            vehicles.len(),
            road.name
        ),
        EventKind::ZoneEnter | EventKind::ZoneExit => format!("{} crossed the border", vehicles[0]),
    };
    let id = ulid_at(rng, opened_at);
    let event =
        |rng: &mut StdRng, status: Status, at: OffsetDateTime, severity: Severity| IncidentUpdate {
            id: ulid_at(rng, at),
            status,
            severity,
            zone: zone.clone(),
            road: on_road.then(|| road.id.clone()),
            vehicles: vehicles.clone(),
            lat,
            lon,
            occurred_at: at,
            detail: format!("{detail} ({status})"),
        };
    let mut updates = vec![IncidentUpdate {
        id: id.clone(),
        ..event(rng, Status::Open, opened_at, severity)
    }];
    if on_road {
        let mut at = opened_at;
        for _ in 0..rng.random_range(0..3) {
            at += Duration::seconds(rng.random_range(30..600));
            let severity = Severity::ALL[rng.random_range(0..3)];
            updates.push(event(rng, Status::Update, at, severity));
        }
        // Nearly everything but the last hour's incidents has cleared.
        if at < end - Duration::hours(1) || rng.random_bool(0.3) {
            at += Duration::seconds(rng.random_range(60..3600));
            updates.push(event(rng, Status::Cleared, at, severity));
        }
    }
    let last = updates.last().expect("an open event at least").clone();
    IncidentDetail {
        incident: Incident {
            id,
            kind,
            status: last.status,
            severity: last.severity,
            zone: zone.clone(),
            road: last.road.clone(),
            vehicles,
            lat,
            lon,
            opened_at,
            updated_at: last.occurred_at,
            cleared_at: (last.status == Status::Cleared).then_some(last.occurred_at),
            detail: last.detail,
        },
        updates,
    }
}
