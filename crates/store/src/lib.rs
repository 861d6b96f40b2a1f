//! Vigie's MySQL store: the one place for the SQL schema (`migrations/`), recording road events
//! exactly once, and reading the incident history back.
//!
//! - The collector calls [`record_events`] (or [`record_events_and_cursor`], which also moves
//!   its archive position in the same transaction) and [`load_archive_cursor`] at start.
//! - The server calls [`list_incidents`] and [`get_incident`].
//!
//! Every query is built at run time with bound parameters only, so the crate builds without a
//! database.

mod archive_cursor;
mod bulk;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod history;
mod record;

pub use archive_cursor::{load_archive_cursor, save_archive_cursor};
pub use bulk::insert_history;
pub use history::{
    count_incidents, get_incident, list_incidents, BoundingBox, Bucket, BucketCount, Cursor,
    CursorError, IncidentFilter, Page, MAX_LIMIT, MAX_TEXT_LEN,
};
pub use record::{record_event, record_events, record_events_and_cursor, Recorded, Rejection};
pub use vigie_model::incident::{Incident, IncidentDetail, IncidentUpdate};

/// The schema, applied by the server at start and by `#[sqlx::test(migrator = "vigie_store::MIGRATOR")]`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Database failures. Client mistakes never reach the database: filters and cursors are checked
/// by their own types, invalid events come back as [`Recorded::Rejected`].
pub type Error = sqlx::Error;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a database error means "the database is unreachable right now" (retry later) rather
/// than a bug or bad data.
pub fn is_unavailable(error: &Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
    )
}
