//! MQTT connection options shared by the simulator and the gateway.

use anyhow::Context;
use rumqttc::MqttOptions;

/// Options for `url` (`mqtt://host:port`) as `client_id`.
pub fn options(url: &str, client_id: &str) -> anyhow::Result<MqttOptions> {
    let separator = if url.contains('?') { '&' } else { '?' };
    MqttOptions::parse_url(format!("{url}{separator}client_id={client_id}"))
        .with_context(|| format!("invalid MQTT_URL {url:?} (expected mqtt://HOST:PORT)"))
}
