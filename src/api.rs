//! The companion server's REST API, as the dashboard reads it. Filters travel as the query
//! string [`crate::filters::HistoryFilter::to_query`] builds. Answers are read with
//! [`crate::json`], field by field, into `vigie_model`'s types (the tests check the readers
//! against the model's own serde form).

use time::OffsetDateTime;
use vigie_model::city::{Bounds, LonLat};
pub use vigie_model::contract::ClientConfig;
use vigie_model::{City, EventKind, Incident, IncidentDetail, IncidentUpdate, Road, Zone};

use crate::components::history::histogram::Bucket;
use crate::filters::encode;
use crate::json::{self, Value};

/// Incidents per page of the history table.
pub const PAGE_SIZE: u32 = 50;

/// Open incidents asked for at once: the API's largest page.
pub const OPEN_LIMIT: u32 = 1000;

/// One page of `GET /api/v1/incidents`, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub next_cursor: Option<String>,
}

/// One row of `GET /api/v1/stats`: incidents of a kind opened in the bucket from `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketCount {
    pub start: OffsetDateTime,
    pub kind: EventKind,
    pub count: u64,
}

/// The body of a successful `GET url`, or what went wrong.
async fn get_text(url: &str) -> Result<String, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().to_string();
    if !response.ok() {
        // An `application/problem+json` answer's explanation, if it has one.
        let body = response.text().await.unwrap_or_default();
        let detail = json::parse(&body).ok().and_then(|p| p.str("detail").ok());
        return Err(match detail {
            Some(detail) => ["HTTP ", &status, ": ", &detail].concat(),
            None => [url, ": HTTP ", &status].concat(),
        });
    }
    response
        .text()
        .await
        .map_err(|e| [url, ": ", &e.to_string()].concat())
}

/// The JSON answer of `GET url`, read by `read`.
async fn get_json<T>(url: &str, read: fn(&Value) -> Result<T, String>) -> Result<T, String> {
    let body = get_text(url).await?;
    json::parse(&body)
        .and_then(|value| read(&value))
        .map_err(|e| [url, ": ", &e].concat())
}

/// `query` followed by more parameters, with the `&` only when both have some.
fn with_params(query: &str, more: &str) -> String {
    match (query.is_empty(), more.is_empty()) {
        (true, _) => more.to_owned(),
        (_, true) => query.to_owned(),
        _ => [query, "&", more].concat(),
    }
}

pub async fn config() -> Result<ClientConfig, String> {
    get_json("/api/v1/config", read_config).await
}

/// A page of the incidents matching `query`, after `cursor` (the previous page's `next_cursor`).
pub async fn incidents(query: &str, cursor: Option<&str>) -> Result<IncidentPage, String> {
    let mut page = ["limit=", &PAGE_SIZE.to_string()].concat();
    if let Some(cursor) = cursor {
        page.push_str("&cursor=");
        page.push_str(&encode(cursor));
    }
    let url = ["/api/v1/incidents?", &with_params(query, &page)].concat();
    get_json(&url, read_page).await
}

/// The accidents and jams still open, newest first, as many as [`OPEN_LIMIT`].
pub async fn open_incidents() -> Result<IncidentPage, String> {
    let url = [
        "/api/v1/incidents?status=open&limit=",
        &OPEN_LIMIT.to_string(),
    ]
    .concat();
    get_json(&url, read_page).await
}

fn read_page(page: &Value) -> Result<IncidentPage, String> {
    Ok(IncidentPage {
        incidents: page.each("incidents", read_incident)?,
        next_cursor: page.opt_str("next_cursor")?,
    })
}

/// Incidents matching `query` opened per `bucket` and kind.
pub async fn stats(query: &str, bucket: Bucket) -> Result<Vec<BucketCount>, String> {
    let bucket = ["bucket=", bucket.as_str()].concat();
    let url = ["/api/v1/stats?", &with_params(query, &bucket)].concat();
    get_json(&url, |stats| {
        stats.each("counts", |count| {
            Ok(BucketCount {
                start: count.time("start")?,
                kind: count.named("kind")?,
                count: count.count("count")?,
            })
        })
    })
    .await
}

/// One incident with its lifecycle.
pub async fn incident(id: &str) -> Result<IncidentDetail, String> {
    let url = ["/api/v1/incidents/", &encode(id)].concat();
    get_json(&url, |detail| {
        Ok(IncidentDetail {
            incident: read_incident(detail)?,
            updates: detail.each("updates", read_update)?,
        })
    })
    .await
}

/// The link exporting every incident matching `query` as `extension` (`csv`, `geojson`).
pub fn export_url(extension: &str, query: &str) -> String {
    let url = ["/api/v1/incidents.", extension].concat();
    match query.is_empty() {
        true => url,
        false => [&url, "?", query].concat(),
    }
}

/// The city the map, the zone filter and the places' names come from
/// (`vigie_model::city::CITY_JSON`), read once.
pub fn city() -> &'static City {
    static CITY: std::sync::OnceLock<City> = std::sync::OnceLock::new();
    CITY.get_or_init(|| {
        json::parse(vigie_model::city::CITY_JSON)
            .and_then(|city| read_city(&city))
            .expect("data/city.json is valid (checked by tests)")
    })
}

/// The name of the zone `id` ("Riverside" for `riverside`); the id when the city has none.
pub fn zone_name(id: &str) -> &str {
    name_of(city().zones.iter().map(|zone| (&zone.id, &zone.name)), id)
}

/// The name of the road `id` ("River quay" for `quay`); the id when the city has none.
pub fn road_name(id: &str) -> &str {
    name_of(city().roads.iter().map(|road| (&road.id, &road.name)), id)
}

fn name_of(places: impl IntoIterator<Item = (&'static String, &'static String)>, id: &str) -> &str {
    places
        .into_iter()
        .find(|(place, _)| *place == id)
        .map_or(id, |(_, name)| name.as_str())
}

pub fn read_config(config: &Value) -> Result<ClientConfig, String> {
    Ok(ClientConfig {
        websocket_url: config.str("websocket_url")?,
        bosh_url: config.str("bosh_url")?,
        domain: config.str("domain")?,
        anonymous_domain: config.str("anonymous_domain")?,
        muc_service: config.str("muc_service")?,
        event_rooms: config.strs("event_rooms")?,
        ops_room: config.str("ops_room")?,
    })
}

fn read_incident(incident: &Value) -> Result<Incident, String> {
    Ok(Incident {
        id: incident.str("id")?,
        kind: incident.named("kind")?,
        status: incident.named("status")?,
        severity: incident.named("severity")?,
        zone: incident.opt_str("zone")?,
        road: incident.opt_str("road")?,
        vehicles: incident.strs("vehicles")?,
        lat: incident.number("lat")?,
        lon: incident.number("lon")?,
        opened_at: incident.time("opened_at")?,
        updated_at: incident.time("updated_at")?,
        cleared_at: incident.opt_time("cleared_at")?,
        detail: incident.str("detail")?,
    })
}

fn read_update(update: &Value) -> Result<IncidentUpdate, String> {
    Ok(IncidentUpdate {
        id: update.str("id")?,
        status: update.named("status")?,
        severity: update.named("severity")?,
        zone: update.opt_str("zone")?,
        road: update.opt_str("road")?,
        vehicles: update.strs("vehicles")?,
        lat: update.number("lat")?,
        lon: update.number("lon")?,
        occurred_at: update.time("occurred_at")?,
        detail: update.str("detail")?,
    })
}

fn read_city(city: &Value) -> Result<City, String> {
    let bounds = city.get("bounds");
    let points = |value: &Value, name: &str| {
        value.each(name, |point| match point {
            Value::Array(pair) => match pair.as_slice() {
                [Value::Number(lon), Value::Number(lat)] => Ok::<LonLat, String>([*lon, *lat]),
                _ => Err(["“", name, "” has a point that is not [lon, lat]"].concat()),
            },
            _ => Err(["“", name, "” has a point that is not [lon, lat]"].concat()),
        })
    };
    Ok(City {
        name: city.str("name")?,
        bounds: Bounds {
            min_lat: bounds.number("min_lat")?,
            min_lon: bounds.number("min_lon")?,
            max_lat: bounds.number("max_lat")?,
            max_lon: bounds.number("max_lon")?,
        },
        zones: city.each("zones", |zone| {
            Ok(Zone {
                id: zone.str("id")?,
                name: zone.str("name")?,
                polygon: points(zone, "polygon")?,
            })
        })?,
        roads: city.each("roads", |road| {
            Ok(Road {
                id: road.str("id")?,
                name: road.str("name")?,
                free_flow_kmh: road.number("free_flow_kmh")?,
                points: points(road, "points")?,
            })
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_model::{Severity, Status};

    fn reads_back<T: serde::Serialize + PartialEq + std::fmt::Debug>(
        value: &T,
        read: fn(&Value) -> Result<T, String>,
    ) {
        let text = serde_json::to_string(value).unwrap();
        assert_eq!(
            &read(&json::parse(&text).unwrap()).unwrap(),
            value,
            "{text}"
        );
    }

    fn incident(cleared: bool) -> Incident {
        let at = time::macros::datetime!(2026-11-22 01:02:03.5 UTC);
        Incident {
            id: "01JD0000000000000000000001".into(),
            kind: EventKind::Jam,
            status: Status::Update,
            severity: Severity::Moderate,
            zone: Some("centre".into()),
            road: None,
            vehicles: vec!["v1".into(), "v2 \"<x>\"".into()],
            lat: 45.7601,
            lon: -4.835_123_456_789,
            opened_at: at,
            updated_at: at + time::Duration::minutes(3),
            cleared_at: cleared.then(|| at + time::Duration::hours(1)),
            detail: "slow\nqueue é🚀".into(),
        }
    }

    #[test]
    fn readers_match_the_models_serde_form() {
        reads_back(&incident(false), read_incident);
        reads_back(&incident(true), read_incident);
        let incident = incident(true);
        reads_back(
            &IncidentUpdate {
                id: incident.id,
                status: Status::Cleared,
                severity: Severity::Minor,
                zone: None,
                road: Some("r1".into()),
                vehicles: vec![],
                lat: incident.lat,
                lon: incident.lon,
                occurred_at: incident.opened_at,
                detail: String::new(),
            },
            read_update,
        );
        reads_back(
            &ClientConfig::new("ws://h/xmpp-websocket".into(), "/http-bind".into()),
            read_config,
        );
        assert_eq!(*city(), City::builtin());
    }

    #[test]
    fn a_bad_answer_names_the_field() {
        let mut answer = serde_json::to_value(incident(false)).unwrap();
        answer["kind"] = "meteor".into();
        let error = read_incident(&json::parse(&answer.to_string()).unwrap()).unwrap_err();
        assert_eq!(error, "“kind” is not a known name");
        answer["kind"] = "jam".into();
        answer["vehicles"] = serde_json::json!([1]);
        let error = read_incident(&json::parse(&answer.to_string()).unwrap()).unwrap_err();
        assert_eq!(error, "“vehicles” is not a list of strings");
    }
}
