//! Loading a ready-made history in bulk, for seeding and benchmarks: multi-row INSERTs, one
//! transaction per call. Unlike [`crate::record_events`] it trusts its input (no validation, no
//! merging) and fails on an id already present. Values are bound by reference: no copies.

use sqlx::{MySql, MySqlPool, QueryBuilder};

use crate::record::to_db_time;
use crate::{IncidentDetail, Result};

/// Placeholders per INSERT: MySQL allows 65,535; fewer, larger statements load faster.
const PLACEHOLDERS_PER_STATEMENT: usize = 60_000;

/// Inserts incidents with their lifecycle updates and vehicles.
pub async fn insert_history(pool: &MySqlPool, history: &[IncidentDetail]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for chunk in history.chunks(PLACEHOLDERS_PER_STATEMENT / 14) {
        let mut query = QueryBuilder::<MySql>::new(
            "INSERT INTO incidents (id, kind, status, severity, zone, road, vehicles, lat, lon, opened_at, \
             updated_at, cleared_at, detail, last_event_id) ",
        );
        query.push_values(chunk, |mut row, detail| {
            let i = &detail.incident;
            let last_event = detail.updates.last().map_or(&i.id, |u| &u.id);
            row.push_bind(&i.id)
                .push_bind(i.kind.as_str())
                .push_bind(i.status.as_str())
                .push_bind(i.severity.as_str())
                .push_bind(&i.zone)
                .push_bind(&i.road)
                .push_bind(i.vehicles.join(" "))
                .push_bind(i.lat)
                .push_bind(i.lon)
                .push_bind(to_db_time(i.opened_at))
                .push_bind(to_db_time(i.updated_at))
                .push_bind(i.cleared_at.map(to_db_time))
                .push_bind(&i.detail)
                .push_bind(last_event);
        });
        query.build().execute(&mut *tx).await?;

        let updates: Vec<_> = chunk
            .iter()
            .flat_map(|d| d.updates.iter().map(move |u| (&d.incident.id, u)))
            .collect();
        for updates in updates.chunks(PLACEHOLDERS_PER_STATEMENT / 11) {
            let mut query = QueryBuilder::<MySql>::new(
                "INSERT INTO incident_updates (event_id, incident_id, status, severity, zone, road, vehicles, \
                 lat, lon, occurred_at, detail) ",
            );
            query.push_values(updates, |mut row, (incident, u)| {
                row.push_bind(&u.id)
                    .push_bind(*incident)
                    .push_bind(u.status.as_str())
                    .push_bind(u.severity.as_str())
                    .push_bind(&u.zone)
                    .push_bind(&u.road)
                    .push_bind(u.vehicles.join(" "))
                    .push_bind(u.lat)
                    .push_bind(u.lon)
                    .push_bind(to_db_time(u.occurred_at))
                    .push_bind(&u.detail);
            });
            query.build().execute(&mut *tx).await?;
        }

        let vehicles: Vec<_> = chunk
            .iter()
            .flat_map(|d| d.incident.vehicles.iter().map(move |v| (v, &d.incident)))
            .collect();
        for vehicles in vehicles.chunks(PLACEHOLDERS_PER_STATEMENT / 3) {
            let mut query = QueryBuilder::<MySql>::new(
                "INSERT IGNORE INTO incident_vehicles (vehicle, incident_id, opened_at) ",
            );
            query.push_values(vehicles, |mut row, (vehicle, incident)| {
                row.push_bind(*vehicle)
                    .push_bind(&incident.id)
                    .push_bind(to_db_time(incident.opened_at));
            });
            query.build().execute(&mut *tx).await?;
        }
    }
    tx.commit().await
}
