//! `vigie-seed`: fills the database with N realistic incidents in the built-in city, for trying
//! the dashboard and benchmarking the history API. Deterministic for a `--seed` and `--until`.
//!
//! What "realistic" means here:
//! - opening times follow traffic: quiet nights, morning and evening peaks, calmer weekends;
//! - jams and accidents happen on the city's roads (position on a road, its zone if any), zone
//!   entries and exits on a zone's border;
//! - jams (several vehicles) get updates every few minutes and clear after a while, accidents
//!   clear too, zone crossings stay single `open` events, as the pipeline produces them; the last
//!   hour's incidents may still be open.
//!
//! Speed: incidents are generated in time order, so every index (ULID primary keys, `(…,
//! opened_at)` secondary keys) grows at its end instead of in random places; a generator thread
//! feeds `--writers` connections, each inserting `--batch` incidents per transaction with
//! multi-row INSERTs (`vigie_store::insert_history`).
//!
//! Resumable: a batch is one transaction, so a batch whose first incident is already stored was
//! stored whole, and is skipped. Running the same command again finishes a stopped run.

use std::time::Duration as StdDuration;

use anyhow::Context as _;
use clap::Parser;
use indicatif::{HumanCount, ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Weekday};
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
    /// Spread over this many days before `--until`.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// End of the period (RFC 3339); now when omitted.
    #[arg(long, value_parser = parse_time)]
    until: Option<OffsetDateTime>,
    /// Random seed: the same seed and `--until` give the same incidents (ids included).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Vehicles in the fleet (`v1` … `vN`).
    #[arg(long, default_value_t = 500)]
    vehicles: u32,
    /// Incidents per transaction.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Connections inserting at the same time.
    #[arg(long, default_value_t = 2)]
    writers: usize,
}

fn parse_time(value: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.batch > 0 && args.writers > 0 && args.vehicles > 0,
        "--batch, --writers and --vehicles must be positive"
    );
    let pool = vigie_server::connect(&args.database_url).await?;
    let end = args.until.unwrap_or_else(OffsetDateTime::now_utc);
    let mut history = History::new(&args, end - Duration::days(args.days), end);

    let progress = ProgressBar::new(args.count);
    progress.set_style(
        ProgressStyle::with_template(
            "{bar:40} {human_pos}/{human_len} incidents, {per_sec}, {elapsed} elapsed, eta {eta}",
        )
        .context("progress template")?,
    );
    progress.enable_steady_tick(StdDuration::from_millis(250));

    // The generator runs on its own thread, a few batches ahead of the writers.
    let (batches, receiver) = tokio::sync::mpsc::channel::<Vec<IncidentDetail>>(args.writers * 2);
    let (count, batch) = (args.count, args.batch);
    let generator = std::thread::spawn(move || {
        let mut left = count;
        while left > 0 {
            let size = left.min(batch as u64);
            let chunk: Vec<IncidentDetail> = (0..size).map(|_| history.next_incident()).collect();
            if batches.blocking_send(chunk).is_err() {
                return; // A writer failed; its error is reported below.
            }
            left -= size;
        }
    });
    let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..args.writers {
        let (pool, receiver, progress) = (pool.clone(), receiver.clone(), progress.clone());
        writers.spawn(async move {
            loop {
                let Some(chunk) = receiver.lock().await.recv().await else {
                    return anyhow::Ok(());
                };
                if !stored(&pool, &chunk).await? {
                    vigie_store::insert_history(&pool, &chunk)
                        .await
                        .context("inserting a batch")?;
                }
                progress.inc(chunk.len() as u64);
            }
        });
    }
    while let Some(written) = writers.join_next().await {
        if let Err(error) = written.context("a writer panicked")? {
            receiver.lock().await.close();
            progress.abandon();
            return Err(error);
        }
    }
    generator
        .join()
        .map_err(|_| anyhow::anyhow!("the generator panicked"))?;
    progress.finish();

    // Fresh statistics, so the optimizer sees the real sizes at once.
    sqlx::query("ANALYZE TABLE incidents, incident_updates, incident_vehicles")
        .execute(&pool)
        .await
        .context("ANALYZE TABLE")?;
    eprintln!(
        "{} incidents in {:.1} s",
        HumanCount(args.count),
        progress.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether an earlier run stored `chunk` (its transaction committed).
async fn stored(pool: &sqlx::MySqlPool, chunk: &[IncidentDetail]) -> anyhow::Result<bool> {
    let Some(first) = chunk.first() else {
        return Ok(true);
    };
    let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM incidents WHERE id = ?")
        .bind(&first.incident.id)
        .fetch_optional(pool)
        .await
        .context("looking for a stored batch")?;
    Ok(found.is_some())
}

/// Relative traffic by hour of day (UTC stands for local time here): morning and evening peaks.
const HOURLY_TRAFFIC: [f64; 24] = [
    0.20, 0.15, 0.10, 0.10, 0.15, 0.40, 1.00, 2.00, 2.40, 1.60, 1.00, 1.00, //
    1.20, 1.10, 1.00, 1.20, 1.60, 2.30, 2.40, 1.60, 1.00, 0.70, 0.50, 0.30,
];
const WEEKEND_TRAFFIC: f64 = 0.7;

/// The incidents of a period, generated in opening order.
struct History {
    rng: StdRng,
    city: City,
    vehicles: u32,
    /// Opening time of the previous incident.
    at: OffsetDateTime,
    end: OffsetDateTime,
    /// Mean gap between two openings at traffic 1, in milliseconds.
    mean_gap_ms: f64,
}

impl History {
    fn new(args: &Args, start: OffsetDateTime, end: OffsetDateTime) -> History {
        let mean_traffic =
            HOURLY_TRAFFIC.iter().sum::<f64>() / 24.0 * (5.0 + 2.0 * WEEKEND_TRAFFIC) / 7.0;
        let span_ms = (end - start).whole_milliseconds() as f64;
        History {
            rng: StdRng::seed_from_u64(args.seed),
            city: City::builtin(),
            vehicles: args.vehicles,
            at: start,
            end,
            mean_gap_ms: span_ms * mean_traffic / args.count.max(1) as f64,
        }
    }

    fn traffic(at: OffsetDateTime) -> f64 {
        let weekend = matches!(at.weekday(), Weekday::Saturday | Weekday::Sunday);
        HOURLY_TRAFFIC[at.hour() as usize] * if weekend { WEEKEND_TRAFFIC } else { 1.0 }
    }

    /// A ULID for `at`, its random part from the generator.
    fn ulid_at(&mut self, at: OffsetDateTime) -> String {
        let millis = (at.unix_timestamp_nanos() / 1_000_000) as u64;
        ulid::Ulid::from_parts(millis, self.rng.random()).to_string()
    }

    fn vehicle(&mut self) -> String {
        format!("v{}", self.rng.random_range(1..=self.vehicles))
    }

    fn severity(&mut self, weights: [u32; 3]) -> Severity {
        let mut pick = self.rng.random_range(0..weights.iter().sum::<u32>());
        for (severity, weight) in Severity::ALL.into_iter().zip(weights) {
            if pick < weight {
                return severity;
            }
            pick -= weight;
        }
        unreachable!("the pick is below the sum of the weights")
    }

    /// The next opening: a Poisson process whose rate follows the traffic.
    fn next_opening(&mut self) -> OffsetDateTime {
        let exponential = -(1.0 - self.rng.random::<f64>()).ln();
        let gap_ms = exponential * self.mean_gap_ms / Self::traffic(self.at);
        self.at = (self.at + Duration::microseconds((gap_ms * 1_000.0) as i64)).min(self.end);
        self.at
    }

    fn next_incident(&mut self) -> IncidentDetail {
        let opened_at = self.next_opening();
        match self.rng.random_range(0..100) {
            0..35 => self.jam(opened_at),
            35..45 => self.accident(opened_at),
            45..73 => self.zone_crossing(EventKind::ZoneEnter, opened_at),
            _ => self.zone_crossing(EventKind::ZoneExit, opened_at),
        }
    }

    /// A point on a random road, a few metres off, with its road and zone.
    fn on_road(&mut self) -> Place {
        let road = &self.city.roads[self.rng.random_range(0..self.city.roads.len())];
        let segment = self.rng.random_range(0..road.points.len() - 1);
        let ([lon_a, lat_a], [lon_b, lat_b]) = (road.points[segment], road.points[segment + 1]);
        let along: f64 = self.rng.random();
        let lat = lat_a + (lat_b - lat_a) * along + self.rng.random_range(-0.00005..0.00005);
        let lon = lon_a + (lon_b - lon_a) * along + self.rng.random_range(-0.00005..0.00005);
        Place {
            zone: self.city.zone_at(lat, lon).map(|z| z.id.clone()),
            road: Some(road.id.clone()),
            road_name: road.name.clone(),
            free_flow_kmh: road.free_flow_kmh,
            lat,
            lon,
        }
    }

    fn jam(&mut self, opened_at: OffsetDateTime) -> IncidentDetail {
        let place = self.on_road();
        let wanted = self.rng.random_range(3..9).min(self.vehicles as usize);
        let mut vehicles: Vec<String> = Vec::with_capacity(wanted);
        while vehicles.len() < wanted {
            let vehicle = self.vehicle();
            if !vehicles.contains(&vehicle) {
                vehicles.push(vehicle);
            }
        }
        let mut lifecycle = Vec::new();
        let mut at = opened_at;
        let mut severity = self.severity([55, 35, 10]);
        for status in std::iter::once(Status::Open)
            .chain((0..self.rng.random_range(0..4)).map(|_| Status::Update))
        {
            if status == Status::Update {
                at += Duration::seconds(self.rng.random_range(60..300));
                severity = self.severity([40, 40, 20]);
            }
            let (class, share) = match severity {
                Severity::Minor => ("slow", self.rng.random_range(40..60)),
                Severity::Moderate => ("queuing", self.rng.random_range(20..40)),
                Severity::Major => ("stationary", self.rng.random_range(2..20)),
            };
            let kmh = place.free_flow_kmh * f64::from(share) / 100.0;
            let detail = format!(
                "{class}: {} vehicles at {share} % of free-flow speed ({kmh:.1} of {:.0} km/h) on {}",
                vehicles.len(),
                place.free_flow_kmh,
                place.road_name
            );
            lifecycle.push((status, at, severity, detail));
        }
        at += Duration::seconds(self.rng.random_range(300..3600));
        lifecycle.push((Status::Cleared, at, severity, "traffic flows again".into()));
        self.incident(EventKind::Jam, place, vehicles, lifecycle)
    }

    fn accident(&mut self, opened_at: OffsetDateTime) -> IncidentDetail {
        let place = self.on_road();
        let vehicles = vec![self.vehicle()];
        let (severity, detail) = if self.rng.random_bool(0.3) {
            (Severity::Major, "crash sensor".to_owned())
        } else {
            let braking: f64 = self.rng.random_range(6.0..11.0);
            let severity = if braking >= 9.0 {
                Severity::Major
            } else {
                Severity::Moderate
            };
            (
                severity,
                format!("braked at {braking:.1} m/s² and stayed stopped"),
            )
        };
        let cleared_at = opened_at + Duration::seconds(self.rng.random_range(600..3600));
        let lifecycle = vec![
            (Status::Open, opened_at, severity, detail),
            (
                Status::Cleared,
                cleared_at,
                Severity::Minor,
                "timed out".into(),
            ),
        ];
        self.incident(EventKind::Accident, place, vehicles, lifecycle)
    }

    fn zone_crossing(&mut self, kind: EventKind, opened_at: OffsetDateTime) -> IncidentDetail {
        let zone = &self.city.zones[self.rng.random_range(0..self.city.zones.len())];
        let corner = self.rng.random_range(0..zone.polygon.len());
        let ([lon_a, lat_a], [lon_b, lat_b]) = (
            zone.polygon[corner],
            zone.polygon[(corner + 1) % zone.polygon.len()],
        );
        let along: f64 = self.rng.random();
        let zone_id = zone.id.clone();
        let detail = match kind {
            EventKind::ZoneEnter => format!("entered {}", zone.name),
            _ => format!("left {}", zone.name),
        };
        let place = Place {
            zone: Some(zone_id),
            road: None,
            road_name: String::new(),
            free_flow_kmh: 0.0,
            lat: lat_a + (lat_b - lat_a) * along,
            lon: lon_a + (lon_b - lon_a) * along,
        };
        let vehicles = vec![self.vehicle()];
        let lifecycle = vec![(Status::Open, opened_at, Severity::Minor, detail)];
        self.incident(kind, place, vehicles, lifecycle)
    }

    /// The incident from its lifecycle (status, time, severity, detail), dropping what lies
    /// past the end of the period: recent incidents are still open.
    fn incident(
        &mut self,
        kind: EventKind,
        place: Place,
        vehicles: Vec<String>,
        lifecycle: Vec<(Status, OffsetDateTime, Severity, String)>,
    ) -> IncidentDetail {
        let end = self.end;
        let opened_at = lifecycle[0].1;
        let updates: Vec<IncidentUpdate> = lifecycle
            .into_iter()
            .enumerate()
            .filter(|(n, (_, at, _, _))| *n == 0 || *at <= end)
            .map(|(_, (status, at, severity, detail))| IncidentUpdate {
                id: self.ulid_at(at),
                status,
                severity,
                zone: place.zone.clone(),
                road: place.road.clone(),
                vehicles: vehicles.clone(),
                lat: place.lat,
                lon: place.lon,
                occurred_at: at,
                detail,
            })
            .collect();
        let last = updates.last().expect("the opening at least");
        let status = kind.incident_status(last.status);
        IncidentDetail {
            incident: Incident {
                // The incident is named after its opening event, as the pipeline does.
                id: updates[0].id.clone(),
                kind,
                status,
                severity: last.severity,
                zone: place.zone,
                road: place.road,
                vehicles,
                lat: place.lat,
                lon: place.lon,
                opened_at,
                updated_at: last.occurred_at,
                cleared_at: (status == Status::Cleared).then_some(last.occurred_at),
                detail: last.detail.clone(),
            },
            updates,
        }
    }
}

struct Place {
    zone: Option<String>,
    road: Option<String>,
    road_name: String,
    free_flow_kmh: f64,
    lat: f64,
    lon: f64,
}
