//! Loading a ready-made history in bulk, for seeding and benchmarks: multi-row INSERTs, one
//! transaction per call. Unlike [`crate::record_events`] it trusts its input (no validation, no
//! merging) and fails on an id already present.

use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::record::to_db_time;
use crate::{IncidentDetail, Result};

/// Rows per INSERT, well under MySQL's 65,535 placeholders per statement.
const ROWS_PER_STATEMENT: usize = 2_000;

/// Inserts incidents with their lifecycle updates and vehicles.
pub async fn insert_history(pool: &MySqlPool, history: &[IncidentDetail]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for chunk in history.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<MySql>::new(
            "INSERT INTO incidents (id, kind, status, severity, zone, road, vehicles, lat, lon, opened_at, \
             updated_at, cleared_at, detail, last_event_id) ",
        );
        query.push_values(chunk, |mut row, detail| {
            let i = &detail.incident;
            let last_event = detail.updates.last().map_or(i.id.clone(), |u| u.id.clone());
            row.push_bind(i.id.clone())
                .push_bind(i.kind.as_str())
                .push_bind(i.status.as_str())
                .push_bind(i.severity.as_str())
                .push_bind(i.zone.clone())
                .push_bind(i.road.clone())
                .push_bind(i.vehicles.join(" "))
                .push_bind(i.lat)
                .push_bind(i.lon)
                .push_bind(to_db_time(i.opened_at))
                .push_bind(to_db_time(i.updated_at))
                .push_bind(i.cleared_at.map(to_db_time))
                .push_bind(i.detail.clone())
                .push_bind(last_event);
        });
        query.build().execute(&mut *tx).await?;

        let updates: Vec<_> = chunk
            .iter()
            .flat_map(|d| d.updates.iter().map(move |u| (&d.incident.id, u)))
            .collect();
        for updates in updates.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<MySql>::new(
                "INSERT INTO incident_updates (event_id, incident_id, status, severity, zone, road, vehicles, \
                 lat, lon, occurred_at, detail) ",
            );
            query.push_values(updates, |mut row, (incident, u)| {
                row.push_bind(u.id.clone())
                    .push_bind((*incident).clone())
                    .push_bind(u.status.as_str())
                    .push_bind(u.severity.as_str())
                    .push_bind(u.zone.clone())
                    .push_bind(u.road.clone())
                    .push_bind(u.vehicles.join(" "))
                    .push_bind(u.lat)
                    .push_bind(u.lon)
                    .push_bind(to_db_time(u.occurred_at))
                    .push_bind(u.detail.clone());
            });
            query.build().execute(&mut *tx).await?;
        }

        let vehicles: Vec<_> = chunk
            .iter()
            .flat_map(|d| d.incident.vehicles.iter().map(move |v| (v, &d.incident)))
            .collect();
        for vehicles in vehicles.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<MySql>::new(
                "INSERT IGNORE INTO incident_vehicles (vehicle, incident_id, opened_at) ",
            );
            query.push_values(vehicles, |mut row, (vehicle, incident)| {
                row.push_bind((*vehicle).clone())
                    .push_bind(incident.id.clone())
                    .push_bind(to_db_time(incident.opened_at));
            });
            query.build().execute(&mut *tx).await?;
        }
    }
    tx.commit().await
}
