//! Vigie's pipeline: the simulated fleet, the gateway's detectors, and the programs that carry
//! them over MQTT, XMPP and MySQL.

pub mod detect;
pub mod fleet;
