//! `/api/v1/zones`: the city's zones and roads as a GeoJSON FeatureCollection (RFC 7946).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use vigie_model::City;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/zones", get(zones))
}

/// The city's zones (Polygons) and roads (LineStrings).
#[utoipa::path(get, path = "/api/v1/zones", tag = "city",
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json")))]
pub(crate) async fn zones(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.zones_geojson.as_ref().clone(),
    )
}

/// Zones as Polygons (ring closed, as GeoJSON wants) and roads as LineStrings, in `[lon, lat]`.
pub fn city_geojson(city: &City) -> Arc<String> {
    let zones = city.zones.iter().map(|zone| {
        let mut ring = zone.polygon.clone();
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        json!({
            "type": "Feature",
            "id": zone.id,
            "geometry": { "type": "Polygon", "coordinates": [ring] },
            "properties": { "kind": "zone", "id": zone.id, "name": zone.name },
        })
    });
    let roads = city.roads.iter().map(|road| {
        json!({
            "type": "Feature",
            "id": road.id,
            "geometry": { "type": "LineString", "coordinates": road.points },
            "properties": { "kind": "road", "id": road.id, "name": road.name, "free_flow_kmh": road.free_flow_kmh },
        })
    });
    let collection = json!({ "type": "FeatureCollection", "features": zones.chain(roads).collect::<Vec<Value>>() });
    Arc::new(collection.to_string())
}
