//! Vigie's MySQL store: the one place for the SQL schema (`migrations/`), recording road events
//! exactly once, and reading the incident history back.
//!
//! - The collector calls [`record_events`] (or [`record_events_and_cursor`], which also moves
//!   its archive position in the same transaction) and [`load_archive_cursor`] at start.
//! - The server calls [`list_incidents`] and [`get_incident`].
//! - Both apply the schema at start with [`migrate_when_available`], which waits for MySQL.
//!
//! Every query is built at run time with bound parameters only, so the crate builds without a
//! database.

mod archive_cursor;
mod bulk;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod history;
mod migrate;
mod record;

pub use archive_cursor::{load_archive_cursor, save_archive_cursor};
pub use bulk::insert_history;
pub use history::{
    count_incidents, get_incident, list_incidents, list_statement, BoundingBox, Bucket,
    BucketCount, Cursor, CursorError, IncidentFilter, Page, MAX_LIMIT, MAX_TEXT_LEN,
};
pub use migrate::{migrate, migrate_when_available, MIGRATOR};
pub use record::{record_event, record_events, record_events_and_cursor, Recorded, Rejection};
pub use vigie_model::incident::{Incident, IncidentDetail, IncidentUpdate};

/// Database failures. Client mistakes never reach the database: filters and cursors are checked
/// by their own types, invalid events come back as [`Recorded::Rejected`].
pub type Error = sqlx::Error;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a database error means "the database is unreachable right now" (retry later) rather
/// than a bug or bad data.
pub fn is_unavailable(error: &Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(error) => error
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|error| UNAVAILABLE.contains(&error.number())),
        _ => false,
    }
}

/// The server's errors that say "not now" rather than "wrong": too many connections (1040),
/// shutting down (1053), the query or the connection killed (1317, 1927), the connection
/// closed for inactivity (4031).
const UNAVAILABLE: [u16; 5] = [1040, 1053, 1317, 1927, 4031];
