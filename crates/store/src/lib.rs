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
    count_incidents, get_incident, list_incidents, list_statement, BoundingBox, Bucket,
    BucketCount, Cursor, CursorError, IncidentFilter, Page, MAX_LIMIT, MAX_TEXT_LEN,
};
pub use record::{record_event, record_events, record_events_and_cursor, Recorded, Rejection};
pub use vigie_model::incident::{Incident, IncidentDetail, IncidentUpdate};

/// The schema, applied by [`migrate`] and by `#[sqlx::test(migrator = "vigie_store::MIGRATOR")]`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a program waits for another one applying the migrations.
const MIGRATION_LOCK_SECONDS: i32 = 120;

/// Applies the migrations, one program at a time: the server and the collector both call this at
/// start, and sqlx's own lock does not hold on MariaDB (its `GET_LOCK(…, -1)` returns at once), so
/// two programs starting together could each apply half. Our named lock serializes them.
pub async fn migrate(pool: &sqlx::MySqlPool) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut conn = pool.acquire().await.context("connecting to MySQL")?;
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT GET_LOCK(CONCAT('vigie-migrate-', DATABASE()), ?)")
            .bind(MIGRATION_LOCK_SECONDS)
            .fetch_one(&mut *conn)
            .await
            .context("taking the migration lock")?;
    anyhow::ensure!(
        locked == Some(1),
        "another program held the migration lock for {MIGRATION_LOCK_SECONDS} s"
    );
    // The lock lives on `conn`; the migrations run on another connection of the pool.
    let applied = MIGRATOR
        .run(pool)
        .await
        .context("applying the database migrations");
    sqlx::query("SELECT RELEASE_LOCK(CONCAT('vigie-migrate-', DATABASE()))")
        .execute(&mut *conn)
        .await
        .ok();
    applied
}

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
