//! The telemetry a vehicle publishes on `vigie/vehicles/{vehicle_id}/telemetry` (MQTT, QoS 1).

use serde::{Deserialize, Serialize};
use serde_json::error::Category;

/// Largest payload the gateway accepts; a fix is about 100 bytes.
pub const MAX_PAYLOAD_BYTES: usize = 1024;

/// Flag a vehicle raises when its crash sensor (airbag) fires.
pub const FLAG_CRASH: &str = "crash";

/// One position fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: f64,
    /// Degrees clockwise from north, in [0, 360).
    pub heading: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// Why a telemetry payload was rejected; `reason()` labels the rejection counters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TelemetryError {
    #[error("payload of {0} bytes exceeds {MAX_PAYLOAD_BYTES}")]
    Oversize(usize),
    #[error("invalid telemetry JSON: {0}")]
    Json(String),
    /// JSON, but not a fix: a field missing or of the wrong type (`"NaN"` for a number…).
    #[error("not a telemetry fix: {0}")]
    Schema(String),
    #[error("telemetry with an unknown field: {0}")]
    UnknownField(String),
    #[error("{field} out of range: {value}")]
    OutOfRange { field: &'static str, value: f64 },
}

impl TelemetryError {
    pub fn reason(&self) -> &'static str {
        match self {
            TelemetryError::Oversize(_) => "oversize",
            TelemetryError::Json(_) => "json",
            TelemetryError::Schema(_) => "schema",
            TelemetryError::UnknownField(_) => "unknown_field",
            TelemetryError::OutOfRange { .. } => "out_of_range",
        }
    }
}

impl Telemetry {
    /// Decodes and validates a payload; anything doubtful is an error, never a guess.
    pub fn decode(payload: &[u8]) -> Result<Telemetry, TelemetryError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(TelemetryError::Oversize(payload.len()));
        }
        // serde would read a struct from an array too: `[ts, lat, …]` by position is no fix.
        if payload.trim_ascii_start().starts_with(b"[") {
            return Err(TelemetryError::Schema("an array, not an object".into()));
        }
        let fix: Telemetry = serde_json::from_slice(payload).map_err(|error| {
            let text = error.to_string();
            match error.classify() {
                // serde's own wording for `deny_unknown_fields` (a unit test holds it to it).
                Category::Data if text.starts_with("unknown field") => {
                    TelemetryError::UnknownField(text)
                }
                Category::Data => TelemetryError::Schema(text),
                Category::Syntax | Category::Eof | Category::Io => TelemetryError::Json(text),
            }
        })?;
        fix.validate()?;
        Ok(fix)
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("telemetry always serializes")
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    fn validate(&self) -> Result<(), TelemetryError> {
        let checks: [(&'static str, f64, f64, f64); 4] = [
            ("lat", self.lat, -90.0, 90.0),
            ("lon", self.lon, -180.0, 180.0),
            ("speed_kmh", self.speed_kmh, 0.0, 400.0),
            ("heading", self.heading, 0.0, 360.0),
        ];
        for (field, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(TelemetryError::OutOfRange { field, value });
            }
        }
        if self.ts < 0 {
            return Err(TelemetryError::OutOfRange {
                field: "ts",
                value: self.ts as f64,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix() -> Telemetry {
        Telemetry {
            ts: 1_700_000_000_000,
            lat: 45.76,
            lon: 4.83,
            speed_kmh: 42.5,
            heading: 90.0,
            flags: vec![],
        }
    }

    #[test]
    fn round_trip() {
        assert_eq!(Telemetry::decode(&fix().encode()), Ok(fix()));
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        let cases: [(&[u8], &str); 9] = [
            (b"{", "json"),
            (b"<script>alert(1)</script>", "json"),
            (
                br#"{"ts":1,"lat":45,"lon":4,"speed_kmh":1,"heading":0,"extra":1}"#,
                "unknown_field",
            ),
            (br#"{"ts":1,"lat":45,"lon":4,"speed_kmh":1}"#, "schema"),
            (br#"[1,45,4,1,0]"#, "schema"),
            (
                br#"{"ts":1,"lat":95,"lon":4,"speed_kmh":1,"heading":0}"#,
                "out_of_range",
            ),
            (
                br#"{"ts":1,"lat":45,"lon":4,"speed_kmh":-3,"heading":0}"#,
                "out_of_range",
            ),
            (
                br#"{"ts":1,"lat":"NaN","lon":4,"speed_kmh":1,"heading":0}"#,
                "schema",
            ),
            (&[b' '; 2000], "oversize"),
        ];
        for (payload, reason) in cases {
            let error = Telemetry::decode(payload).unwrap_err();
            assert_eq!(
                error.reason(),
                reason,
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn flags_are_optional() {
        let fix = Telemetry::decode(
            br#"{"ts":1,"lat":45,"lon":4,"speed_kmh":0,"heading":0,"flags":["crash"]}"#,
        )
        .unwrap();
        assert!(fix.has_flag(FLAG_CRASH));
    }
}
