//! The synthetic city: named zones and roads, from `data/city.json`, which the simulator drives
//! on, the gateway detects in, and the server and dashboard draw.

use serde::{Deserialize, Serialize};

/// A position as `[lon, lat]`, the GeoJSON order.
pub type LonLat = [f64; 2];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct City {
    pub name: String,
    pub bounds: Bounds,
    pub zones: Vec<Zone>,
    pub roads: Vec<Road>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    /// Outer ring, not closed (the last point joins the first).
    pub polygon: Vec<LonLat>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Road {
    pub id: String,
    pub name: String,
    pub free_flow_kmh: f64,
    pub points: Vec<LonLat>,
}

/// The city file shipped with Vigie.
pub const CITY_JSON: &str = include_str!("../../../data/city.json");

impl City {
    /// The city every program shares.
    pub fn builtin() -> City {
        serde_json::from_str(CITY_JSON).expect("data/city.json is valid (checked by tests)")
    }

    /// The zone containing a point, if any (zones do not overlap).
    pub fn zone_at(&self, lat: f64, lon: f64) -> Option<&Zone> {
        self.zones.iter().find(|zone| zone.contains(lat, lon))
    }

    pub fn road(&self, id: &str) -> Option<&Road> {
        self.roads.iter().find(|road| road.id == id)
    }
}

impl Zone {
    /// Even-odd ray casting; points exactly on the border may fall either side.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let ring = &self.polygon;
        let mut inside = false;
        let mut previous = ring.len().wrapping_sub(1);
        for (current, &[x_i, y_i]) in ring.iter().enumerate() {
            let [x_j, y_j] = ring[previous];
            if (y_i > lat) != (y_j > lat) && lon < (x_j - x_i) * (lat - y_i) / (y_j - y_i) + x_i {
                inside = !inside;
            }
            previous = current;
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_city_is_consistent() {
        let city = City::builtin();
        assert!(!city.zones.is_empty() && !city.roads.is_empty());
        for road in &city.roads {
            assert!(road.points.len() >= 2, "{}", road.id);
            assert!(road.free_flow_kmh > 0.0);
            for &[lon, lat] in &road.points {
                let b = city.bounds;
                assert!(
                    (b.min_lat..=b.max_lat).contains(&lat)
                        && (b.min_lon..=b.max_lon).contains(&lon)
                );
            }
        }
    }

    #[test]
    fn point_in_zone() {
        let city = City::builtin();
        assert_eq!(
            city.zone_at(45.760, 4.835).map(|z| z.id.as_str()),
            Some("centre")
        );
        assert_eq!(
            city.zone_at(45.760, 4.850).map(|z| z.id.as_str()),
            Some("east")
        );
        assert_eq!(city.zone_at(45.700, 4.835), None);
    }
}
