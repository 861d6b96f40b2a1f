//! The dashboard's browser XMPP transports, as a library so that the browser tests
//! (`tests/transports.rs`) drive the very code the page runs.

pub mod transport;
