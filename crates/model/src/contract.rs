//! Deployment defaults shared by every program: XMPP domains, rooms, accounts, MQTT topics.

use serde::{Deserialize, Serialize};

use crate::event::EventKind;

/// Domain of registered accounts (gateway, collector, operators).
pub const XMPP_DOMAIN: &str = "localhost";
/// Domain of anonymous, read-only viewers.
pub const ANON_DOMAIN: &str = "anon.localhost";
/// The MUC service hosting the rooms.
pub const MUC_SERVICE: &str = "rooms.localhost";

/// The room each event kind is posted to.
pub fn room_for(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Accident => "accidents",
        EventKind::Jam => "jams",
        EventKind::ZoneEnter | EventKind::ZoneExit => "zones",
    }
}

/// Rooms where only the gateway speaks.
pub const EVENT_ROOMS: [&str; 3] = ["accidents", "jams", "zones"];
/// The operators' chat room.
pub const OPS_ROOM: &str = "ops";

/// A room's name as people read it (the rooms' `muc#roomconfig_roomname`, listed by
/// disco#items); an unknown room is called by its id.
pub fn room_title(room: &str) -> &str {
    match room {
        "accidents" => "Accidents",
        "jams" => "Traffic jams",
        "zones" => "Zone crossings",
        OPS_ROOM => "Operators",
        other => other,
    }
}

/// Bare JID of a room on the MUC service.
pub fn room_jid(room: &str) -> String {
    format!("{room}@{MUC_SERVICE}")
}

/// Account the gateway posts events with; room admin of every event room.
pub const GATEWAY_USER: &str = "gateway";
/// Account the collector reads events with; member of every event room.
pub const COLLECTOR_USER: &str = "collector";

/// MQTT topic filter the gateway subscribes to.
pub const TELEMETRY_FILTER: &str = "vigie/vehicles/+/telemetry";

/// MQTT topic a vehicle publishes its telemetry on.
pub fn telemetry_topic(vehicle_id: &str) -> String {
    format!("vigie/vehicles/{vehicle_id}/telemetry")
}

/// The vehicle id inside a telemetry topic, if the topic is one.
pub fn vehicle_of_topic(topic: &str) -> Option<&str> {
    let id = topic
        .strip_prefix("vigie/vehicles/")?
        .strip_suffix("/telemetry")?;
    // An event lists its vehicles apart by spaces (`event.rs`): an id with one would split.
    let well_formed = !id.is_empty() && !id.contains('/') && !id.contains(char::is_whitespace);
    well_formed.then_some(id)
}

/// Path of Prosody's WebSocket endpoint (RFC 7395) on its HTTP port and on the server's proxy.
pub const WEBSOCKET_PATH: &str = "/xmpp-websocket";
/// Path of Prosody's BOSH endpoint (XEP-0206).
pub const BOSH_PATH: &str = "/http-bind";
/// The id of the `<script type="application/json">` element in which the server inlines the
/// client configuration (`/api/v1/config`'s JSON) in the dashboard's page.
pub const CONFIG_ELEMENT_ID: &str = "vigie-config";

/// What the dashboard needs to reach XMPP (`GET /api/v1/config`), so it hard-codes nothing.
/// Room JIDs are `{room}@{muc_service}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// WebSocket endpoint (RFC 7395) as the browser should use it.
    pub websocket_url: String,
    /// BOSH endpoint (XEP-0206) as the browser should use it.
    pub bosh_url: String,
    pub domain: String,
    pub anonymous_domain: String,
    pub muc_service: String,
    pub event_rooms: Vec<String>,
    pub ops_room: String,
}

impl ClientConfig {
    /// This deployment's settings, with the endpoints as the browser should reach them.
    pub fn new(websocket_url: String, bosh_url: String) -> ClientConfig {
        ClientConfig {
            websocket_url,
            bosh_url,
            domain: XMPP_DOMAIN.to_owned(),
            anonymous_domain: ANON_DOMAIN.to_owned(),
            muc_service: MUC_SERVICE.to_owned(),
            event_rooms: EVENT_ROOMS.iter().map(|room| (*room).to_owned()).collect(),
            ops_room: OPS_ROOM.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip() {
        assert_eq!(vehicle_of_topic(&telemetry_topic("v42")), Some("v42"));
        assert_eq!(vehicle_of_topic("vigie/vehicles//telemetry"), None);
        assert_eq!(vehicle_of_topic("vigie/vehicles/a/b/telemetry"), None);
        assert_eq!(vehicle_of_topic("other/v1/telemetry"), None);
        assert_eq!(vehicle_of_topic("vigie/vehicles/my car/telemetry"), None);
        assert_eq!(vehicle_of_topic("vigie/vehicles/v1\t/telemetry"), None);
    }

    #[test]
    fn every_kind_has_an_event_room() {
        for kind in EventKind::ALL {
            assert!(EVENT_ROOMS.contains(&room_for(kind)));
        }
        assert_eq!(room_jid("ops"), "ops@rooms.localhost");
        for room in EVENT_ROOMS.into_iter().chain([OPS_ROOM]) {
            assert_ne!(room_title(room), room, "{room} has a title");
        }
    }
}
