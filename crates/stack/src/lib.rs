//! Vigie's servers, started privately: MariaDB, Prosody and Mosquitto, each from a state folder,
//! on loopback, stopped with everything they forked when dropped.
//!
//! Two users: the `vigie-stack up` run command, and integration tests in every crate.
//!
//! ```no_run
//! use vigie_model::contract::{XMPP_DOMAIN, GATEWAY_USER, COLLECTOR_USER};
//! let prosody = vigie_stack::Prosody::start_for_test().unwrap();
//! prosody.register(GATEWAY_USER, XMPP_DOMAIN, "secret").unwrap();
//! prosody.create_event_rooms("gateway@localhost", "collector@localhost").unwrap();
//! let broker = vigie_stack::Mosquitto::start_for_test().unwrap();
//! let database_url = vigie_stack::Mysql::shared().fresh_database("store").unwrap();
//! # let _ = (prosody.ws_url(), broker.url(), database_url, COLLECTOR_USER);
//! ```
//!
//! Tests may run in parallel: each server gets its own temporary state folder and free ports,
//! and each test its own database.

mod daemon;
mod mosquitto;
mod mysql;
mod ports;
mod prosody;
mod state;

pub use daemon::{
    kill_stale, live_pid, record_this_process, stop_leftovers, Daemon, SpawnOptions, TieOptions,
    PID_FILE_SUFFIX,
};
pub use mosquitto::Mosquitto;
pub use mysql::{Mysql, MysqlUrl};
pub use ports::{forward, free_port, group_listens_on, port_answers, preferred_port};
pub use prosody::Prosody;
pub use state::{random_secret, read_env_file, write_env_file, write_private, StateDir};
